package io.qlorastream.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qlorastream.app.demo.DemoReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `demo` from the fat jar, shortened (snapshots every 30 steps instead of 100): the whole pipeline on the embedded
 * stack ends with a release of both adapters installed by the subscriber, a valid report, and every input event
 * accounted for by ingest's counters.
 */
class DemoIT {
    private static final List<String> ADAPTERS = List.of("support", "code-review");

    @Test
    void aShortDemoReleasesBothAdaptersWritesTheReportAndAccountsForEveryEvent(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("report");
        Path work = dir.resolve("work");
        int exit;
        String stdout;
        JsonNode dashboardState = null;
        try (JarProcess demo = JarProcess.start("demo", "--duration", "170s", "--snapshot-every", "30", "--report-dir", report.toString(),
                "--work-dir", work.toString(), "--model-cache", dir.resolve("models").toString(), "--dashboard-port", "0",
                "--linger", "180s")) {
            // the live dashboard: up while the demo runs, showing the pipeline's snapshots and ingest's meters
            String line = demo.awaitStdout("Dashboard at http://127.0.0.1:", Duration.ofMinutes(2));
            URI state = URI.create(line.substring(line.indexOf("http://"), line.indexOf('/', line.indexOf("http://") + 7) + 1) + "api/state");
            HttpClient http = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (System.nanoTime() < deadline) {
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(state).build(), HttpResponse.BodyHandlers.ofString());
                    JsonNode s = new ObjectMapper().readTree(r.body());
                    if (s.path("adapters").size() > 0 && s.path("adapters").get(0).path("snapshots").size() > 0
                            && s.path("metrics").path("ingest").path("eventsIn").size() > 0) {
                        dashboardState = s;
                        break;
                    }
                } catch (java.io.IOException closedWithTheDemo) {
                    break;
                }
                Thread.sleep(500);
            }
            demo.awaitStdout("Demo finished in", Duration.ofMinutes(5));
            String lingering = demo.awaitStdout("The dashboard stays at", Duration.ofMinutes(1));
            // the run's final state in a real browser, while the demo lingers
            if (Chromium.available(System.getenv())) {
                String page = lingering.substring(lingering.indexOf("http://"), lingering.indexOf(' ', lingering.indexOf("http://")));
                browse(page, dir);
            }
            exit = demo.terminate(Duration.ofMinutes(2)); // Ctrl-C ends the lingering
            stdout = demo.stdout();
            assertThat(exit).as(stdout + "\n" + demo.stderr()).isIn(0, 143);
        }
        assertThat(dashboardState).as("the dashboard showed a snapshot and ingest's meters while the demo ran").isNotNull();
        assertThat(dashboardState.path("adapters").findValuesAsText("name")).isSubsetOf(ADAPTERS);
        // piped: plain status lines, no cursor movement
        assertThat(stdout).doesNotContain("\033[").contains("qlora-stream demo  0:").contains("Demo finished in")
                .contains("every adapter was released.").contains("all accounted for");

        // the releases: in the summary, the tables, the copied manifests and the subscriber's directory
        JsonNode summary = new ObjectMapper().readTree(report.resolve(DemoReport.SUMMARY_JSON).toFile());
        assertThat(summary.get("all_released").asBoolean()).isTrue();
        List<String> releases = Files.readAllLines(report.resolve(DemoReport.RELEASES_CSV));
        List<String> evaluations = Files.readAllLines(report.resolve(DemoReport.EVALUATIONS_CSV));
        String md = Files.readString(report.resolve(DemoReport.REPORT));
        for (String a : ADAPTERS) {
            assertThat(summary.get("released").get(a).asInt()).as(a).isGreaterThanOrEqualTo(1);
            assertThat(releases).as(a).anyMatch(l -> l.startsWith(a + ",v1,"));
            // the release came from a passing verdict in which the adapter beat the base on held-out NLL
            assertThat(evaluations).as(a).anySatisfy(l -> {
                String[] f = l.split(",");
                assertThat(f[0]).isEqualTo(a);
                assertThat(f[7]).isEqualTo("PASSED");
                assertThat(Double.parseDouble(f[3])).isLessThan(Double.parseDouble(f[4]) - 0.01);
            });
            JsonNode release = new ObjectMapper().readTree(report.resolve("releases/" + a + "/v1/release.json").toFile());
            assertThat(release.toString()).contains("\"adapter_name\":\"" + a + "\"").contains("signature");
            assertThat(report.resolve("releases/" + a + "/v1/manifest.json")).exists();
            assertThat(Files.readSymbolicLink(work.resolve("serving").resolve(a).resolve("current")).toString()).matches("v\\d+");
            BufferedImage png = ImageIO.read(report.resolve(DemoReport.lossChartName(a)).toFile());
            assertThat(png).as("loss chart of " + a + " decodes").isNotNull();
            assertThat(png.getWidth()).isGreaterThan(100);
            assertThat(md).contains("![" + a + "](" + DemoReport.lossChartName(a) + ")").contains("### `" + a + "` v");
            // the loss curve has a point per step the trainer reported, and the snapshot that was released among them
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("- `" + a + "`: (\\d+) steps, (\\d+) snapshots").matcher(md);
            assertThat(m.find()).as(md).isTrue();
            assertThat(Long.parseLong(m.group(1))).isGreaterThanOrEqualTo(30);
            assertThat(Long.parseLong(m.group(2))).isGreaterThanOrEqualTo(1);
        }
        assertThat(md).contains("Every adapter was released").contains("| base model | with `support` v");

        // every input event: gave examples, was filtered (by a counted reason) or became a dead letter
        JsonNode acc = summary.get("accounting");
        long produced = acc.get("events_produced").asLong();
        long withExamples = acc.get("inputs_with_examples").asLong();
        long filtered = acc.get("filtered").asLong();
        long deadLetters = acc.get("dead_letters").asLong();
        assertThat(produced).isGreaterThan(500);
        assertThat(withExamples + filtered + deadLetters).isEqualTo(produced);
        long byReason = 0;
        long byKind = 0;
        for (var e : iterable(summary.get("ingest_counters").fields())) {
            if (e.getKey().startsWith("filtered.")) byReason += e.getValue().asLong();
            if (e.getKey().startsWith("dead_letters.")) byKind += e.getValue().asLong();
        }
        assertThat(byReason).isEqualTo(filtered);
        assertThat(byKind).isEqualTo(deadLetters);
        // what the generator plants shows up: malformed records, duplicates, bots, personal data
        assertThat(deadLetters).isPositive();
        assertThat(summary.get("ingest_counters").get("filtered.duplicate").asLong()).isPositive();
        assertThat(summary.get("ingest_counters").get("filtered.bot").asLong()).isPositive();
        assertThat(summary.get("ingest_counters").get("redactions.EMAIL").asLong()).isPositive();
        assertThat(acc.get("examples_train").asLong()).isPositive();
        assertThat(acc.get("examples_eval").asLong()).isPositive();
        assertThat(report.resolve("demo.log")).isNotEmptyFile();
    }

    /** Headless Chromium on the demo's dashboard: both adapters' curves, verdicts, releases, lineage, ingest's flow. */
    private static void browse(String url, Path dir) throws Exception {
        org.openqa.selenium.WebDriver driver = Chromium.start();
        Path screenshot = Path.of("target", "demo-dashboard-screenshot.png");
        try {
            driver.get(url);
            try {
                new org.openqa.selenium.support.ui.WebDriverWait(driver, Duration.ofSeconds(60))
                        .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                        .until(d -> d.findElements(org.openqa.selenium.By.cssSelector("#loss-charts figure.loss-chart")).size() == 2
                                && d.findElements(org.openqa.selenium.By.cssSelector("#release-table tr.release")).size() >= 2
                                && d.findElements(org.openqa.selenium.By.cssSelector("#chart-events-in rect.bar")).size() == 2);
            } finally {
                Files.createDirectories(screenshot.getParent());
                Files.write(screenshot, ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
            }
            String body = driver.findElement(org.openqa.selenium.By.tagName("body")).getText();
            for (String a : ADAPTERS) {
                assertThat(driver.findElements(org.openqa.selenium.By.cssSelector("#loss-charts figure.loss-chart[data-adapter='" + a + "'] circle.loss-point")))
                        .as("loss points of " + a).isNotEmpty();
                assertThat(driver.findElements(org.openqa.selenium.By.cssSelector("#evaluation-table tr.evaluation[data-adapter='" + a + "']")))
                        .as("evaluations of " + a).anySatisfy(e -> assertThat(e.getText()).contains("PASS"));
                assertThat(driver.findElements(org.openqa.selenium.By.cssSelector("#release-table tr.release")))
                        .as("release of " + a).anySatisfy(r -> assertThat(r.getText()).contains(a, "v1"));
                assertThat(driver.findElement(org.openqa.selenium.By.cssSelector("#lineage-list .lineage[data-adapter='" + a + "'][data-version='1']")).getText())
                        .contains(a + " v1", "training-examples");
            }
            assertThat(driver.findElement(org.openqa.selenium.By.id("chart-events-in")).getText()).contains("support_tickets", "code_reviews");
            assertThat(body).contains("beats_base");
            assertThat(Files.size(screenshot)).isGreaterThan(10_000);
        } finally {
            driver.quit();
        }
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }
}
