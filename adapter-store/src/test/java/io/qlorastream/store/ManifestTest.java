package io.qlorastream.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestTest {
    private static final String A = "a".repeat(64);
    private static final String B = "b".repeat(64);

    @Test
    void theSameFilesGiveTheSameBytesWhateverTheOrder() {
        Map<String, String> one = new LinkedHashMap<>();
        one.put("z.bin", A);
        one.put("a.json", B);
        Map<String, String> other = new LinkedHashMap<>();
        other.put("a.json", B);
        other.put("z.bin", A);
        byte[] json = new Manifest(one).toJson();
        assertThat(json).isEqualTo(new Manifest(other).toJson());
        assertThat(new String(json, StandardCharsets.UTF_8))
                .contains("\"files\"").containsSubsequence("a.json", "z.bin");
        assertThat(Manifest.parse(json).files()).containsExactly(Map.entry("a.json", B), Map.entry("z.bin", A));
    }

    @Test
    void namesThatCouldLeaveTheDirectoryAndBadHashesAreRefused() {
        assertThatThrownBy(() -> parse("{\"files\": {\"../evil\": \"" + A + "\"}}")).hasMessageContaining("../evil");
        assertThatThrownBy(() -> parse("{\"files\": {\"..\": \"" + A + "\"}}")).hasMessageContaining("..");
        assertThatThrownBy(() -> parse("{\"files\": {\"x\": \"" + A.toUpperCase() + "\"}}"))
                .hasMessageContaining("SHA-256");
        assertThatThrownBy(() -> parse("{\"files\": {\"manifest.json\": \"" + A + "\"}}"))
                .hasMessageContaining("itself");
        assertThatThrownBy(() -> parse("{\"files\": [1]}")).hasMessageContaining("files");
        assertThatThrownBy(() -> parse("not json")).hasMessageContaining("JSON");
    }

    private static Manifest parse(String json) {
        return Manifest.parse(json.getBytes(StandardCharsets.UTF_8));
    }
}
