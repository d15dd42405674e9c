package io.qlorastream.app;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium for the browser tests: Debian's {@code chromium} and {@code chromium-driver} (installed by
 * run-tests), named explicitly so that Selenium Manager never downloads anything.
 */
public final class Chromium {
    public static final Path BINARY = Path.of("/usr/bin/chromium");
    public static final Path DRIVER = Path.of("/usr/bin/chromedriver");

    private Chromium() {
    }

    /**
     * Whether the browser is here. Without it: false here (the caller skips its browser part, saying why), a failure
     * in CI ({@code CI=true}), where run-tests installs it.
     */
    public static boolean available(Map<String, String> env) {
        if (Files.isExecutable(BINARY) && Files.isExecutable(DRIVER)) {
            return true;
        }
        String reason = BINARY + " or " + DRIVER + " is not installed (apt-get install chromium chromium-driver; ./run-tests installs them)";
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail(reason + ", and CI must run the browser tests");
        }
        System.out.println("skipping the browser checks: " + reason);
        return false;
    }

    /** A headless browser with its console log kept (goog:loggingPrefs browser=ALL). */
    public static WebDriver start() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(BINARY.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,3600");
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }
}
