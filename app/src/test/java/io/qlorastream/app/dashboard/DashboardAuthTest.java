package io.qlorastream.app.dashboard;

import io.qlorastream.app.QloraStream;
import io.qlorastream.app.http.HttpAuth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Binding and credentials of the dashboard over real HTTP: the page, its state and its event stream. */
class DashboardAuthTest {
    static final String TOKEN = "s3cr3t-token-0123456789abcdef";
    private static final List<String> ROUTES = List.of("/", "/static/app.js", "/api/state", "/api/events");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private int status(Dashboard d, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path)).timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        // the event stream never ends: its status line is all we read
        HttpResponse<java.io.InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        r.body().close();
        return r.statusCode();
    }

    static String basic(String userPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userPassword.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theCommandsDefaultBindIsLoopback() throws Exception {
        String[] args = {"dashboard", "--port", "0"};
        CommandLine.ParseResult parsed = QloraStream.commandLine().parseArgs(args);
        DashboardCommand cmd = parsed.subcommand().commandSpec().commandLine().getCommand();
        assertThat(cmd.host).isEqualTo("127.0.0.1");
        try (Dashboard d = Dashboard.start(DashboardConfig.defaults().withListen(cmd.host, 0), DashboardServerTest.unreachableKafka(),
                MetricsSource.none())) {
            assertThat(d.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            assertThat(status(d, "/api/state", null)).isEqualTo(200);
        }
        assertThat(DashboardConfig.defaults().host()).isEqualTo("127.0.0.1");
    }

    @Test
    void aBearerTokenGuardsEveryRoute(@TempDir Path tmp) throws Exception {
        Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        HttpAuth auth = HttpAuth.fromFiles("--auth-token-file", tokenFile, "--basic-auth-file", null);
        try (Dashboard d = Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", 0), DashboardServerTest.unreachableKafka(),
                MetricsSource.none(), auth)) {
            for (String route : ROUTES) {
                assertThat(status(d, route, null)).as("%s without a token", route).isEqualTo(401);
                assertThat(status(d, route, "Bearer " + TOKEN + "x")).as("%s with a wrong token", route).isEqualTo(401);
                assertThat(status(d, route, basic("bearer:" + TOKEN))).as("%s with basic auth", route).isEqualTo(401);
                assertThat(status(d, route, "Bearer " + TOKEN)).as("%s with the token", route).isEqualTo(200);
            }
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + "/api/state")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.headers().allValues("WWW-Authenticate")).containsExactly("Bearer realm=\"qlora-stream\"");
            assertThat(refused.body()).doesNotContain(TOKEN);
        }
    }

    @Test
    void basicAuthGuardsEveryRouteWithPlainAndHtpasswdShaUsers(@TempDir Path tmp) throws Exception {
        String sha = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest("hunter22".getBytes(StandardCharsets.UTF_8)));
        Path users = Files.writeString(tmp.resolve("users"), "# operators\nalice:wonderland\nbob:{SHA}" + sha + "\n");
        HttpAuth auth = HttpAuth.fromFiles("--auth-token-file", null, "--basic-auth-file", users);
        try (Dashboard d = Dashboard.start(DashboardConfig.defaults().withListen("127.0.0.1", 0), DashboardServerTest.unreachableKafka(),
                MetricsSource.none(), auth)) {
            for (String route : ROUTES) {
                assertThat(status(d, route, null)).as(route).isEqualTo(401);
                assertThat(status(d, route, basic("alice:wonderlan"))).as(route).isEqualTo(401);
                assertThat(status(d, route, basic("bob:wonderland"))).as(route).isEqualTo(401);
                assertThat(status(d, route, basic("alice:wonderland"))).as(route).isEqualTo(200);
                assertThat(status(d, route, basic("bob:hunter22"))).as(route).isEqualTo(200);
            }
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"qlora-stream\", charset=\"UTF-8\"");
        }
    }

    @Test
    void badCredentialFilesAreOneLineNamingTheFileAndNeverTheSecret(@TempDir Path tmp) throws Exception {
        Path shortToken = Files.writeString(tmp.resolve("short"), "abc");
        Path bcrypt = Files.writeString(tmp.resolve("bcrypt"), "carol:$2y$05$abcdefghijklmnopqrstuv\n");
        Path noColon = Files.writeString(tmp.resolve("nocolon"), "just-a-password-here\n");
        java.io.StringWriter err = new java.io.StringWriter();
        int code = QloraStream.commandLine().setErr(new java.io.PrintWriter(err))
                .execute("dashboard", "--port", "0", "--auth-token-file", shortToken.toString());
        assertThat(code).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("qlora-stream dashboard: --auth-token-file: " + shortToken
                + " must hold a token of at least 16 characters");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HttpAuth.fromFiles("--auth-token-file", null, "--basic-auth-file", bcrypt))
                .hasMessageStartingWith("--basic-auth-file: " + bcrypt + " line 1: unsupported password hash").hasMessageNotContaining("$2y$");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HttpAuth.fromFiles("--auth-token-file", null, "--basic-auth-file", noColon))
                .hasMessage("--basic-auth-file: " + noColon + " line 1: not user:password");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HttpAuth.fromFiles("--auth-token-file", tmp.resolve("absent"), "--basic-auth-file", null))
                .hasMessageStartingWith("--auth-token-file: cannot read " + tmp.resolve("absent"));
    }
}
