package io.qlorastream.app.dashboard;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.qlorastream.broker.EmbeddedKafkaBroker;
import io.qlorastream.broker.junit.EmbeddedKafkaExtension;
import io.qlorastream.events.AdapterEvaluation;
import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.AdapterSnapshot;
import io.qlorastream.events.ReleaseKind;
import io.qlorastream.schemas.junit.EmbeddedSchemaRegistryExtension;
import io.qlorastream.schemas.registry.server.EmbeddedSchemaRegistry;
import io.qlorastream.schemas.serde.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.opentest4j.TestAbortedException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.logging.Level;

import static io.qlorastream.app.dashboard.Events.check;
import static io.qlorastream.app.dashboard.Events.evaluation;
import static io.qlorastream.app.dashboard.Events.range;
import static io.qlorastream.app.dashboard.Events.release;
import static io.qlorastream.app.dashboard.Events.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The dashboard in a real browser: headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, driven
 * by Selenium with both binaries named explicitly, so Selenium Manager never downloads anything) against a dashboard
 * reading a run's worth of events from the embedded broker and registry. Asserts what a user would see: the loss
 * curves, the evaluations with each check against its threshold, the release timeline with a rollback, the lineage
 * back to the training offsets, the ingest breakdowns from the metrics, a live update without reload, and that an
 * adapter name and a reason holding markup show up as text and create no element and no alert; a dashboard whose
 * broker is down says so on the page. Saves
 * {@code target/dashboard-screenshot.png}.
 */
@ExtendWith({EmbeddedKafkaExtension.class, EmbeddedSchemaRegistryExtension.class})
class DashboardBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final String HOSTILE = "<img src=x onerror=alert(1)>";
    static final Path SCREENSHOT = Path.of("target", "dashboard-screenshot.png");

    /** Skips without the browser here; fails in CI, where run-tests installs it. */
    static void requireBrowser(Path chromium, Path chromedriver, Map<String, String> env) {
        if (Files.isExecutable(chromium) && Files.isExecutable(chromedriver)) {
            return;
        }
        String reason = chromium + " or " + chromedriver + " is not installed (apt-get install chromium chromium-driver; ./run-tests installs them)";
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail(reason + ", and CI must run the dashboard's browser test");
        }
        assumeTrue(false, reason);
    }

    @Test
    void withoutChromiumTheBrowserTestIsSkippedHereAndFailsInCi() {
        Path none = Path.of("/nonexistent/chromium");
        assertThatThrownBy(() -> requireBrowser(none, CHROMEDRIVER, Map.of())).isInstanceOf(TestAbortedException.class)
                .hasMessageContaining("is not installed");
        assertThatThrownBy(() -> requireBrowser(none, CHROMEDRIVER, Map.of("CI", "true"))).isInstanceOf(AssertionError.class)
                .hasMessageContaining("CI must run the dashboard's browser test");
    }

    @Test
    void aRealBrowserShowsTheRunsAdaptersVerdictsReleasesAndLineageAndEscapesHostileText(EmbeddedKafkaBroker broker,
                                                                                          EmbeddedSchemaRegistry registry) throws Exception {
        requireBrowser(CHROMIUM, CHROMEDRIVER, System.getenv());
        long started = System.nanoTime();
        String prefix = "dash-e2e-" + UUID.randomUUID().toString().substring(0, 8) + ".";
        DashboardConfig config = new DashboardConfig("127.0.0.1", 0, prefix + "adapter-snapshots", prefix + "adapter-evaluations",
                prefix + "adapter-releases", prefix + "adapter-release-log", 1000, 500, Duration.ofMillis(500));
        try (Admin admin = Admin.create(broker.clientProperties())) {
            admin.createTopics(List.of(
                    new NewTopic(config.snapshotsTopic(), 3, (short) 1),
                    new NewTopic(config.evaluationsTopic(), 3, (short) 1),
                    new NewTopic(config.releasesTopic(), 3, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                    new NewTopic(config.releaseLogTopic(), 3, (short) 1).configs(Map.of("retention.ms", "-1")))).all().get();
        }
        Properties client = broker.clientProperties();
        client.setProperty("schema.registry.url", registry.url());

        // the ingest services' meters, read in process through the Prometheus registry as the demo will
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("qlora.ingest.events.in").tag("source", "support-tickets").register(meters).increment(1200);
        Counter.builder("qlora.ingest.events.in").tag("source", "code-reviews").register(meters).increment(480);
        Counter.builder("qlora.ingest.filtered").tag("reason", "bot").register(meters).increment(61);
        Counter.builder("qlora.ingest.filtered").tag("reason", "unresolved").register(meters).increment(140);
        Counter.builder("qlora.ingest.redactions").tag("type", "EMAIL").register(meters).increment(333);
        Counter.builder("qlora.ingest.redactions").tag("type", "CARD").register(meters).increment(12);
        Counter.builder("qlora.ingest.dead.letters").tag("reason", "deserialization").register(meters).increment(9);
        Gauge.builder("qlora.trainer.step", () -> 40).tag("adapter", "support").register(meters);
        Gauge.builder("qlora.trainer.loss", () -> 1.42).tag("adapter", "support").register(meters);

        try (KafkaProducer<String, Object> producer = producer(client)) {
            produceRun(producer, config);
            try (Dashboard dashboard = Dashboard.start(config, client, MetricsSource.inProcess(meters))) {
                WebDriver driver = chromium();
                try {
                    driver.get(dashboard.url());
                    awaitPage(driver, dashboard, "the run", d -> d.findElements(By.cssSelector("#release-table tr.release")).size() == 5
                            && d.findElements(By.cssSelector("#evaluation-table tr.evaluation")).size() == 6
                            && d.findElements(By.cssSelector("#chart-events-in rect.bar")).size() == 2);
                    assertThat(driver.findElement(By.id("connection")).getText()).isEqualTo("live");
                    assertThat(driver.findElement(By.id("kafka-error")).isDisplayed()).isFalse();

                    // ingest flow from the metrics
                    assertThat(driver.findElement(By.id("chart-events-in")).getText()).contains("support-tickets", "1,200", "code-reviews", "480");
                    assertThat(driver.findElement(By.id("chart-filtered")).getText()).contains("unresolved", "140", "bot", "61");
                    assertThat(driver.findElement(By.id("chart-redactions")).getText()).contains("EMAIL", "333", "CARD", "12");
                    assertThat(driver.findElement(By.id("chart-dead-letters")).getText()).contains("deserialization", "9");
                    assertThat(driver.findElement(By.id("trainer-table")).getText()).contains("support", "1.4200");

                    // a loss curve per adapter; code-review has two lineages (a retrain), so two lines
                    List<WebElement> charts = driver.findElements(By.cssSelector("#loss-charts figure.loss-chart"));
                    assertThat(charts).extracting(c -> c.findElement(By.tagName("figcaption")).getText())
                            .containsExactlyInAnyOrder("code-review", "support", HOSTILE);
                    WebElement support = chart(driver, "support");
                    assertThat(support.findElements(By.cssSelector("polyline.loss-line"))).hasSize(1);
                    assertThat(support.findElements(By.cssSelector("circle.loss-point"))).hasSize(4);
                    assertThat(chart(driver, "code-review").findElements(By.cssSelector("polyline.loss-line"))).hasSize(2);
                    // the loss falls with the steps: later points sit lower on the chart (greater y)
                    List<Double> ys = support.findElements(By.cssSelector("circle.loss-point")).stream()
                            .map(c -> Double.parseDouble(c.getAttribute("cy"))).toList();
                    assertThat(ys).isSorted();

                    // evaluations, each check against its threshold, and the verdicts
                    List<WebElement> evals = driver.findElements(By.cssSelector("#evaluation-table tr.evaluation"));
                    assertThat(evals.stream().filter(e -> e.findElement(By.cssSelector("td.verdict")).getText().equals("PASS"))).hasSize(4);
                    assertThat(evals.stream().filter(e -> e.findElement(By.cssSelector("td.verdict")).getText().equals("FAIL"))).hasSize(2);
                    String evalText = driver.findElement(By.id("evaluation-table")).getText();
                    assertThat(evalText).contains("✗ beats_base 0.0020 vs 0.0100", "✓ beats_base 0.4100 vs 0.0100",
                            "✗ not_worse_than_release 0.0600 vs 0.0100", "candidate is worse than release v2");

                    // the release timeline with the rollback, and what serves now
                    assertThat(driver.findElements(By.cssSelector("#timeline-svg .timeline-marker.rollback"))).hasSize(1);
                    assertThat(driver.findElements(By.cssSelector("#timeline-svg .timeline-marker.release"))).hasSize(4);
                    assertThat(driver.findElements(By.cssSelector("#timeline-svg .timeline-marker.current"))).hasSize(3);
                    String releases = driver.findElement(By.id("release-table")).getText();
                    assertThat(releases).contains("ROLLBACK from v2");
                    WebElement rollbackRow = driver.findElement(By.cssSelector("#release-table tr.release.rollback"));
                    assertThat(rollbackRow.getText()).contains("support", "v3", "s-support-20", "current");

                    // lineage: release v2 of support back to its snapshot and the offsets it was trained on
                    WebElement v2 = driver.findElement(By.cssSelector("#lineage-list .lineage[data-adapter='support'][data-version='2']"));
                    assertThat(v2.getText()).contains("support v2", "e-support-30", "PASS", "s-support-30", "step 30", "lineage live-1",
                            "training-examples[0] offsets [0, 240)", "training-examples[1] offsets [0, 180)");
                    WebElement v3 = driver.findElement(By.cssSelector("#lineage-list .lineage[data-adapter='support'][data-version='3']"));
                    assertThat(v3.getText()).contains("rollback from v2", "s-support-20", "step 20");

                    // hostile text: shown literally, no element made from it, no alert
                    assertThat(driver.findElement(By.tagName("body")).getText()).contains(HOSTILE);
                    assertThat(driver.findElements(By.tagName("img"))).isEmpty();
                    assertThat(driver.findElements(By.cssSelector("[onerror]"))).isEmpty();
                    assertThatThrownBy(() -> driver.switchTo().alert()).isInstanceOf(NoAlertPresentException.class);
                    assertThat(driver.findElement(By.cssSelector("tr.evaluation[data-adapter='" + HOSTILE.replace("'", "\\'") + "'] td.reason")).getText())
                            .isEqualTo("reason " + HOSTILE);

                    // live: a new snapshot and release appear without reloading the page
                    AdapterSnapshot s50 = snapshot("support", "s-support-50", "live-1", 50, 1.05, range("training-examples", 0, 0, 400));
                    AdapterEvaluation e50 = evaluation(s50, "e-support-50", 3, "all checks passed", check("beats_base", 0.6, 0.01, true));
                    send(producer, config.snapshotsTopic(), s50);
                    send(producer, config.evaluationsTopic(), e50);
                    AdapterRelease v4 = release(e50, 4, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(600));
                    send(producer, config.releaseLogTopic(), v4);
                    send(producer, config.releasesTopic(), v4);
                    producer.flush();
                    awaitPage(driver, dashboard, "the live update", d -> chart(d, "support").findElements(By.cssSelector("circle.loss-point")).size() == 5
                            && d.findElements(By.cssSelector("#release-table tr.release")).size() == 6);
                    assertThat(driver.findElement(By.cssSelector("#release-table tr.release")).getText()).contains("v4", "current");

                    // nothing the page did was refused by its own CSP, and no script error
                    List<LogEntry> severe = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                            .filter(l -> l.getLevel().intValue() >= Level.SEVERE.intValue()).toList();
                    assertThat(severe).as("browser console errors").isEmpty();

                    Files.createDirectories(SCREENSHOT.getParent());
                    Files.write(SCREENSHOT, ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
                    assertThat(Files.size(SCREENSHOT)).isGreaterThan(10_000);

                    // a dashboard whose broker cannot be reached says so on the page, in the same browser
                    try (Dashboard down = Dashboard.start(config, DashboardServerTest.unreachableKafka(), MetricsSource.none())) {
                        driver.get(down.url());
                        awaitPage(driver, down, "the unreachable broker", d -> d.findElement(By.id("kafka-error")).isDisplayed());
                        assertThat(driver.findElement(By.id("kafka-error")).getText()).startsWith("Kafka unreachable at 127.0.0.1:");
                        assertThat(driver.findElement(By.id("metrics-status")).getText()).startsWith("No metrics source");
                    }
                } finally {
                    driver.quit();
                }
            }
        } finally {
            meters.close();
        }
        System.out.printf("DashboardBrowserTest: %.1f s (broker events, dashboard, Chromium)%n", (System.nanoTime() - started) / 1e9);
    }

    /** Waits for the page to show something; on a timeout, fails with what the page and the dashboard's state held. */
    private static void awaitPage(WebDriver driver, Dashboard dashboard, String what, java.util.function.Function<WebDriver, Boolean> shown)
            throws java.io.IOException {
        try {
            // the page redraws a section when a new state arrives: an element found just before may be gone
            // and it is done only when it shows the dashboard's latest state (no redraw is on its way)
            new WebDriverWait(driver, Duration.ofSeconds(60)).ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(d -> shown.apply(d) && String.valueOf(DashboardState.parse(dashboard.stateJson()).get("version").asLong())
                            .equals(d.findElement(By.tagName("body")).getAttribute("data-version")));
        } catch (org.openqa.selenium.TimeoutException e) {
            Files.createDirectories(SCREENSHOT.getParent());
            Files.write(SCREENSHOT, ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            throw new AssertionError("the page did not show " + what + " within 60 s (screenshot in " + SCREENSHOT + ")\npage:\n"
                    + driver.findElement(By.tagName("body")).getText() + "\nstate:\n" + dashboard.stateJson(), e);
        }
    }

    private static WebElement chart(WebDriver d, String adapter) {
        return d.findElements(By.cssSelector("#loss-charts figure.loss-chart")).stream()
                .filter(f -> adapter.equals(f.getAttribute("data-adapter"))).findFirst()
                .orElseThrow(() -> new AssertionError("no loss chart for " + adapter));
    }

    private static WebDriver chromium() {
        return io.qlorastream.app.Chromium.start();
    }

    private static KafkaProducer<String, Object> producer(Properties client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroSerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p);
    }

    private static void send(KafkaProducer<String, Object> producer, String topic, Object event) throws Exception {
        String key = event instanceof AdapterSnapshot s ? s.getAdapterName()
                : event instanceof AdapterEvaluation e ? e.getAdapterName() : ((AdapterRelease) event).getAdapterName();
        producer.send(new ProducerRecord<>(topic, key, event)).get();
    }

    /**
     * A short run: support trains one lineage to step 40 (evaluations fail, pass, pass, fail against the release),
     * v1 and v2 are released and v2 rolled back to v1's snapshot as v3; code-review has a live lineage and a retrain;
     * a third adapter's name and an evaluation's reason hold markup.
     */
    private static void produceRun(KafkaProducer<String, Object> producer, DashboardConfig c) throws Exception {
        double[] losses = {2.4, 1.9, 1.6, 1.5};
        AdapterEvaluation[] evals = new AdapterEvaluation[5];
        for (int i = 1; i <= 4; i++) {
            AdapterSnapshot s = snapshot("support", "s-support-" + (i * 10), "live-1", i * 10, losses[i - 1],
                    range("training-examples", 0, 0, i * 80L), range("training-examples", 1, 0, i * 60L));
            send(producer, c.snapshotsTopic(), s);
            AdapterEvaluation e = switch (i) {
                case 1 -> evaluation(s, "e-support-10", null, "candidate does not beat the base by the margin",
                        check("beats_base", 0.002, 0.01, false), check("no_leak", 0, 0, true));
                case 2 -> evaluation(s, "e-support-20", null, "all checks passed",
                        check("beats_base", 0.41, 0.01, true), check("no_leak", 0, 0, true));
                case 3 -> evaluation(s, "e-support-30", 1, "all checks passed",
                        check("beats_base", 0.55, 0.01, true), check("not_worse_than_release", -0.1, 0.01, true));
                default -> evaluation(s, "e-support-40", 2, "candidate is worse than release v2",
                        check("beats_base", 0.5, 0.01, true), check("not_worse_than_release", 0.06, 0.01, false));
            };
            send(producer, c.evaluationsTopic(), e);
            evals[i] = e;
        }
        AdapterRelease v1 = release(evals[2], 1, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(100));
        AdapterRelease v2 = release(evals[3], 2, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(200));
        AdapterRelease v3 = release(evals[2], 3, ReleaseKind.ROLLBACK, 2, Events.T0.plusSeconds(300));
        for (AdapterRelease r : List.of(v1, v2, v3)) {
            send(producer, c.releaseLogTopic(), r);
            send(producer, c.releasesTopic(), r);
        }

        AdapterEvaluation codeEval = null;
        for (String lineage : List.of("live-1", "retrain-2")) {
            for (int step = 10; step <= 30; step += 10) {
                AdapterSnapshot s = snapshot("code-review", "s-cr-" + lineage + "-" + step, lineage, step,
                        (lineage.equals("live-1") ? 2.8 : 2.5) - step * 0.02, range("training-examples", 2, 0, step * 5L));
                send(producer, c.snapshotsTopic(), s);
                if (lineage.equals("retrain-2") && step == 30) {
                    codeEval = evaluation(s, "e-cr-30", null, "all checks passed", check("beats_base", 0.3, 0.01, true));
                    send(producer, c.evaluationsTopic(), codeEval);
                }
            }
        }
        AdapterRelease cr1 = release(codeEval, 1, ReleaseKind.RELEASE, null, Events.T0.plusSeconds(250));
        send(producer, c.releaseLogTopic(), cr1);
        send(producer, c.releasesTopic(), cr1);

        AdapterSnapshot hs = snapshot(HOSTILE, "s-" + HOSTILE, "live-1", 5, 2.0, range("training-examples", 0, 0, 10));
        send(producer, c.snapshotsTopic(), hs);
        AdapterEvaluation he = evaluation(hs, "e-hostile", null, "reason " + HOSTILE, check("beats_base", 0.2, 0.01, true));
        send(producer, c.evaluationsTopic(), he);
        AdapterRelease hr = release(he, 1, ReleaseKind.RELEASE, null, Instant.parse("2026-11-29T06:04:00Z"));
        send(producer, c.releaseLogTopic(), hr);
        send(producer, c.releasesTopic(), hr);
        producer.flush();
    }
}
