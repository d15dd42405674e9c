package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ByteLevelBpeWriterTest {
    static final String[] TEXTS = {
            "Hello, world! The customer could not log in after the update.",
            "public static void main(String[] args) { return x <= 10 ? y : z; }",
            "emoji 😀🚀 and CJK 日本語のテキスト, Ünïcödé, tabs\tand\nnewlines  double  spaces",
            "",
            " leading space and trailing space ",
            "numbers 3.14159 2026-11-28T15:20:08Z 0xDEADBEEF",
    };

    @ParameterizedTest
    @ValueSource(ints = {259, 300, 512, 4096, 32000})
    void writesExactlyTheRequestedVocabularyAndRoundTripsAnyText(int vocabSize, @TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, vocabSize);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
        assertThat(json.path("model").path("vocab").size()).isEqualTo(vocabSize);
        Set<Integer> ids = new HashSet<>();
        json.path("model").path("vocab").fields().forEachRemaining(e -> ids.add(e.getValue().asInt()));
        assertThat(ids).hasSize(vocabSize).allMatch(id -> id >= 0 && id < vocabSize);

        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.vocabSize()).isEqualTo(vocabSize);
            assertThat(t.bosId()).isEqualTo(1);
            assertThat(t.eosIds()).containsExactly(2);
            for (String text : TEXTS) {
                int[] enc = t.encode(text);
                assertThat(Arrays.stream(enc).boxed().toList()).allMatch(id -> id >= ByteLevelBpeWriter.SPECIAL_TOKENS.size() && id < vocabSize);
                assertThat(t.decode(enc)).isEqualTo(text);
            }
        }
    }

    @Test
    void learnedMergesCompressEnglishAndTheOutputIsDeterministic(@TempDir Path a, @TempDir Path b) throws Exception {
        ByteLevelBpeWriter.write(a, 2048);
        ByteLevelBpeWriter.write(b, 2048);
        assertThat(Files.readAllBytes(a.resolve("tokenizer.json"))).isEqualTo(Files.readAllBytes(b.resolve("tokenizer.json")));
        try (Tokenizer t = Tokenizer.load(a)) {
            String text = "Thank you for contacting support, the customer confirmed that the update works.";
            int[] ids = t.encode(text);
            // byte-level would be one token per byte; learned merges must do much better on corpus-like text
            assertThat(ids.length).isLessThan(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length / 3);
        }
    }

    @Test
    void specialTokenStringsInTextMapToTheirIdsAndDecodeSkipsThem(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 600);
        try (Tokenizer t = Tokenizer.load(dir)) {
            int[] ids = t.encode("<s>hi</s>");
            assertThat(ids[0]).isEqualTo(1);
            assertThat(ids[ids.length - 1]).isEqualTo(2);
            assertThat(t.decode(ids)).isEqualTo("hi");
        }
    }

    @Test
    void tooSmallAVocabularyIsRefused() {
        assertThatThrownBy(() -> ByteLevelBpeWriter.build(100))
                .hasMessageContaining("vocab size 100 is below the byte-level minimum of 259");
    }

    @Test
    void bytesToUnicodeIsABijectionOntoPrintableCharacters() {
        String[] map = ByteLevelBpeWriter.bytesToUnicode();
        assertThat(new HashSet<>(Arrays.asList(map))).hasSize(256);
        assertThat(map).allMatch(s -> s.length() == 1 && !Character.isWhitespace(s.charAt(0)));
        assertThat(map['A']).isEqualTo("A");
        assertThat(map[' ']).isEqualTo("Ġ");
    }

    @Test
    void specialTokenIdsComeFromTokenizerGenerationAndModelConfigs(@TempDir Path dir) throws Exception {
        ByteLevelBpeWriter.write(dir, 400);
        ObjectMapper json = new ObjectMapper();
        // a Llama 3 style setup: tokenizer_config names no bos, generation_config and config.json list several eos
        ObjectNode tc = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        tc.remove("bos_token");
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [0, 2]}");
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 0, \"eos_token_id\": 399}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.bosId()).isEqualTo(1);
            assertThat(t.eosId()).isEqualTo(2);
            assertThat(t.eosIds()).containsExactly(2, 0, 399);
        }
        Files.delete(dir.resolve("generation_config.json"));
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.bosId()).isEqualTo(0);
        }
    }

    @Test
    void theNativeLibraryComesFromTheMavenJarAndDjlRunsOffline(@TempDir Path dir) throws Exception {
        // the tokenizers jar itself must carry the linux-x86_64 native: nothing may be downloaded at run time
        assertThat(Tokenizer.class.getClassLoader().getResource("native/lib/linux-x86_64/cpu/libtokenizers.so"))
                .isNotNull()
                .satisfies(url -> assertThat(url.toString()).startsWith("jar:").contains("tokenizers-"));
        ByteLevelBpeWriter.write(dir, 300);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.decode(t.encode("offline"))).isEqualTo("offline");
        }
        assertThat(ai.djl.util.Utils.isOfflineMode()).isTrue();
    }

    @Test
    void aMissingTokenizerFileIsNamed(@TempDir Path dir) {
        assertThatThrownBy(() -> Tokenizer.load(dir)).hasMessage("no tokenizer.json in " + dir);
    }
}
