package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a real byte-level BPE tokenizer (GPT-2 style, the kind Llama 3, Qwen2 and SmolLM use) as Hugging Face
 * {@code tokenizer.json} + {@code tokenizer_config.json}, with exactly the requested number of tokens, so that
 * {@code make-model} produces a complete model directory without downloading anything.
 *
 * <p>Written by hand because no Java library trains BPE merges: merges are learned from a small built-in English +
 * code corpus (the classic algorithm: repeatedly merge the most frequent adjacent pair), then, when a large vocabulary
 * asks for more merges than the corpus supports, filled with further deterministic merges of existing tokens. Every
 * choice breaks ties by token order, so the output depends only on {@code vocabSize}.
 */
public final class ByteLevelBpeWriter {
    public static final String UNK = "<unk>";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    /** Ids 0, 1, 2: the same bos/eos ids that ModelMaker writes into config.json by default. */
    public static final List<String> SPECIAL_TOKENS = List.of(UNK, BOS, EOS);
    public static final int MIN_VOCAB_SIZE = SPECIAL_TOKENS.size() + 256;

    /** GPT-2's pre-tokenizer split: contractions, letters, digits, other symbols, whitespace. */
    static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ByteLevelBpeWriter() {
    }

    /** The vocabulary (token strings in id order) and the merges in priority order. */
    public record Vocabulary(List<String> tokens, List<String[]> merges) {
    }

    public static void write(Path dir, int vocabSize) throws IOException {
        Vocabulary v = build(vocabSize);
        Files.createDirectories(dir);

        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < v.tokens().size(); id++) {
            vocab.put(v.tokens().get(id), id);
        }
        List<String> merges = new ArrayList<>(v.merges().size());
        for (String[] m : v.merges()) {
            merges.add(m[0] + " " + m[1]);
        }
        List<Map<String, Object>> added = new ArrayList<>();
        for (int id = 0; id < SPECIAL_TOKENS.size(); id++) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", id);
            t.put("content", SPECIAL_TOKENS.get(id));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
            added.add(t);
        }
        Map<String, Object> byteLevel = new LinkedHashMap<>();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", true);

        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.put("vocab", vocab);
        model.put("merges", merges);

        Map<String, Object> tokenizer = new LinkedHashMap<>();
        tokenizer.put("version", "1.0");
        tokenizer.put("truncation", null);
        tokenizer.put("padding", null);
        tokenizer.put("added_tokens", added);
        tokenizer.put("normalizer", null);
        tokenizer.put("pre_tokenizer", byteLevel);
        tokenizer.put("post_processor", null);
        tokenizer.put("decoder", byteLevel);
        tokenizer.put("model", model);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer);

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        config.put("bos_token", BOS);
        config.put("eos_token", EOS);
        config.put("unk_token", UNK);
        config.put("model_max_length", 2048);
        config.put("clean_up_tokenization_spaces", false);
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
    }

    public static Vocabulary build(int vocabSize) {
        if (vocabSize < MIN_VOCAB_SIZE) {
            throw new IllegalArgumentException("vocab size " + vocabSize + " is below the byte-level minimum of "
                    + MIN_VOCAB_SIZE + " (3 special tokens + 256 bytes)");
        }
        List<String> tokens = new ArrayList<>(SPECIAL_TOKENS);
        String[] byteChars = bytesToUnicode();
        for (String c : byteChars) {
            tokens.add(c);
        }
        Set<String> known = new HashSet<>(tokens);
        List<String[]> merges = new ArrayList<>();

        learnFromCorpus(vocabSize, tokens, known, merges);
        fillDeterministically(vocabSize, byteChars, tokens, known, merges);
        return new Vocabulary(List.copyOf(tokens), List.copyOf(merges));
    }

    /** Classic BPE training on the built-in corpus, until the vocabulary is full or no pair occurs twice. */
    private static void learnFromCorpus(int vocabSize, List<String> tokens, Set<String> known, List<String[]> merges) {
        String[] byteChars = bytesToUnicode();
        Map<String, Integer> wordCounts = new HashMap<>();
        Matcher m = GPT2_SPLIT.matcher(corpus());
        while (m.find()) {
            wordCounts.merge(m.group(), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        wordCounts.keySet().stream().sorted().forEach(w -> {
            List<String> symbols = new ArrayList<>();
            for (byte b : w.getBytes(StandardCharsets.UTF_8)) {
                symbols.add(byteChars[b & 0xff]);
            }
            words.add(symbols);
            counts.add(wordCounts.get(w));
        });

        while (tokens.size() < vocabSize) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (!known.contains(s.get(i) + s.get(i + 1))) {
                        pairCounts.merge(s.get(i) + " " + s.get(i + 1), counts.get(w), Integer::sum);
                    }
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && best != null && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) {
                return; // no pair occurs twice: the corpus has taught all it can
            }
            String[] pair = best.split(" ", 2);
            String merged = pair[0] + pair[1];
            merges.add(pair);
            tokens.add(merged);
            known.add(merged);
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
                        s.set(i, merged);
                        s.remove(i + 1);
                    }
                }
            }
        }
    }

    /**
     * Further merges when the corpus cannot fill the vocabulary: pairs of printable single characters first
     * (letters, digits, then the rest), then longer combinations of earlier tokens. Each merge joins two tokens that
     * exist, so the result is a valid BPE model whatever the size.
     */
    private static void fillDeterministically(int vocabSize, String[] byteChars, List<String> tokens, Set<String> known,
                                              List<String[]> merges) {
        List<String> alphabet = new ArrayList<>();
        for (int b = 'a'; b <= 'z'; b++) {
            alphabet.add(byteChars[b]);
        }
        for (int b = 'A'; b <= 'Z'; b++) {
            alphabet.add(byteChars[b]);
        }
        for (int b = '0'; b <= '9'; b++) {
            alphabet.add(byteChars[b]);
        }
        alphabet.add(byteChars[' ']);
        for (int b = 0; b < 256; b++) {
            if (!alphabet.contains(byteChars[b])) {
                alphabet.add(byteChars[b]);
            }
        }
        int firstLearned = SPECIAL_TOKENS.size() + 256;
        for (int round = 0; tokens.size() < vocabSize; round++) {
            // round 0: char + char; round r > 0: the r-th learned token + char
            int leftCount = round == 0 ? alphabet.size() : 1;
            for (int l = 0; l < leftCount && tokens.size() < vocabSize; l++) {
                String left = round == 0 ? alphabet.get(l) : tokens.get(firstLearned + round - 1);
                for (int r = 0; r < alphabet.size() && tokens.size() < vocabSize; r++) {
                    String right = alphabet.get(r);
                    String merged = left + right;
                    if (known.add(merged)) {
                        merges.add(new String[]{left, right});
                        tokens.add(merged);
                    }
                }
            }
        }
    }

    /** GPT-2's reversible map from bytes to printable characters (so a token string never holds a space). */
    public static String[] bytesToUnicode() {
        String[] map = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? String.valueOf((char) b) : String.valueOf((char) next++);
        }
        return map;
    }

    private static String corpus() {
        try (InputStream in = ByteLevelBpeWriter.class.getResourceAsStream("bpe-corpus.txt")) {
            if (in == null) {
                throw new IllegalStateException("bpe-corpus.txt missing from the engine jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read bpe-corpus.txt", e);
        }
    }
}
