package io.qlorastream.app;

import static io.qlorastream.app.ComposeDeploymentTest.COMPOSE_DIR;
import static io.qlorastream.app.ComposeDeploymentTest.REPO;
import static io.qlorastream.app.ComposeDeploymentTest.environment;
import static io.qlorastream.app.ComposeDeploymentTest.ourServices;
import static io.qlorastream.app.ComposeDeploymentTest.readCompose;
import static io.qlorastream.app.ComposeDeploymentTest.yaml;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.app.cli.LayeredDefaults;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * compose/'s monitoring against the services: every service of ours serves /metrics and Prometheus scrapes it on
 * that port; Grafana's provisioned dashboard reads that Prometheus and queries only series the services export (as
 * the project README's metrics table lists them; each service's tests check its meters).
 */
class ComposeMonitoringTest {
    static final Path PROMETHEUS = COMPOSE_DIR.resolve("prometheus/prometheus.yml");
    static final Path DATASOURCES = COMPOSE_DIR.resolve("grafana/provisioning/datasources/prometheus.yml");
    static final Path PROVIDERS = COMPOSE_DIR.resolve("grafana/provisioning/dashboards/qlora-stream.yml");
    static final Path DASHBOARD = COMPOSE_DIR.resolve("grafana/dashboards/qlora-stream.json");
    static final String METRICS_PORT = LayeredDefaults.envName("metrics-port");
    static final String METRICS_HOST = LayeredDefaults.envName("metrics-host");

    @Test
    void everyServiceServesMetricsAndPrometheusScrapesEachReplicaOnThatPort() throws IOException {
        JsonNode compose = readCompose();
        Map<String, Integer> scraped = scrapeTargets(yaml().readTree(PROMETHEUS.toFile()));
        Map<String, JsonNode> ours = ourServices(compose);
        assertThat(ours).isNotEmpty();
        for (Map.Entry<String, JsonNode> service : ours.entrySet()) {
            String port = environment(service.getValue()).get(METRICS_PORT);
            assertThat(port).as("%s sets %s", service.getKey(), METRICS_PORT).isNotNull();
            // the endpoint binds loopback by default, which Prometheus in its own container cannot reach
            assertThat(environment(service.getValue()).get(METRICS_HOST)).as("%s sets %s", service.getKey(), METRICS_HOST)
                    .isEqualTo("0.0.0.0");
            assertThat(scraped.get(service.getKey())).as("a Prometheus job resolves %s", service.getKey()).isEqualTo(Integer.valueOf(port));
        }
        assertThat(scraped.keySet()).as("Prometheus scrapes only services of ours").isSubsetOf(ours.keySet());
    }

    @Test
    void prometheusAndGrafanaMountTheFilesOfThisDirectory() throws IOException {
        JsonNode services = readCompose().path("services");
        List<String> mounts = new ArrayList<>();
        for (String name : List.of("prometheus", "grafana")) {
            assertThat(services.has(name)).as("service " + name).isTrue();
            services.path(name).path("volumes").forEach(v -> mounts.add(v.asText()));
        }
        List<String> local = mounts.stream().filter(m -> m.startsWith("./")).toList();
        assertThat(local).hasSize(3);
        for (String m : local) {
            assertThat(COMPOSE_DIR.resolve(m.substring(2, m.indexOf(':')))).as(m).exists();
        }
        // the dashboard provider reads the directory the dashboards are mounted at
        String providerPath = yaml().readTree(PROVIDERS.toFile()).path("providers").path(0).path("options").path("path").asText();
        assertThat(local).contains("./grafana/dashboards:" + providerPath + ":ro");
    }

    @Test
    void theDashboardReadsTheProvisionedPrometheusAndOnlySeriesTheServicesExport() throws IOException {
        JsonNode datasource = yaml().readTree(DATASOURCES.toFile()).path("datasources").path(0);
        assertThat(datasource.path("url").asText()).isEqualTo("http://prometheus:9090");
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> documented = documentedSeries();
        assertThat(documented).hasSizeGreaterThan(20);

        Set<String> queried = new TreeSet<>();
        int panels = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            panels++;
            assertThat(panel.path("datasource").path("uid").asText()).as(panel.path("title").asText()).isEqualTo(datasource.path("uid").asText());
            assertThat(panel.path("targets")).as(panel.path("title").asText()).isNotEmpty();
            for (JsonNode target : panel.path("targets")) {
                Matcher m = Pattern.compile("\\bqlora_[a-z_]+").matcher(target.path("expr").asText());
                while (m.find()) {
                    queried.add(m.group().replaceFirst("_(sum|count|max|bucket)$", ""));
                }
            }
        }
        assertThat(panels).isGreaterThanOrEqualTo(12);
        assertThat(queried).as("series the dashboard queries").isSubsetOf(documented);
        // one panel group per service
        for (String service : List.of("ingest", "trainer", "evaluator", "publisher", "subscriber")) {
            assertThat(queried).as(service).anyMatch(q -> q.startsWith("qlora_" + service + "_"));
        }
    }

    /** job name → the compose services it resolves, with their port. */
    static Map<String, Integer> scrapeTargets(JsonNode prometheus) {
        Map<String, Integer> targets = new TreeMap<>();
        for (JsonNode job : prometheus.path("scrape_configs")) {
            for (JsonNode sd : job.path("dns_sd_configs")) {
                assertThat(sd.path("type").asText()).isEqualTo("A");
                sd.path("names").forEach(n -> targets.put(n.asText(), sd.path("port").asInt()));
            }
        }
        return targets;
    }

    /** The qlora_* series of the project README's metrics section. */
    static Set<String> documentedSeries() throws IOException {
        String readme = Files.readString(REPO.resolve("README.md"));
        int start = readme.indexOf("## Metrics");
        assertThat(start).as("README has a Metrics section").isPositive();
        String section = readme.substring(start, readme.indexOf("\n## ", start + 1));
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("`(qlora_[a-z_]+)`").matcher(section);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
