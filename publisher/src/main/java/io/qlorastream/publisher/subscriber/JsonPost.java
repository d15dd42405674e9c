package io.qlorastream.publisher.subscriber;

import io.qlorastream.publisher.CanonicalJson;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** POSTs a JSON body to a path under a server's base URL (a path prefix of the base, a proxy's, is kept). */
final class JsonPost {
    /** The server's answer. */
    record Answer(int status, String body) {
        boolean ok() {
            return status / 100 == 2;
        }

        /** Status and body on one line, for an error message. */
        String describe() {
            return status + " " + body.replaceAll("\\s+", " ").strip();
        }
    }

    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    JsonPost(URI base) {
        this.base = base;
    }

    /** Throws IOException when the server cannot be reached (connection refused, timeout). */
    Answer post(String path, Map<String, Object> body) throws IOException, InterruptedException {
        URI uri = URI.create(base.toString().replaceAll("/+$", "") + path);
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(120)) // loading an adapter onto the GPU can take a while
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CanonicalJson.string(body))).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(resp.statusCode(), resp.body());
    }
}
