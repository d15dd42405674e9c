package io.qlorastream.evaluator;

import io.qlorastream.engine.data.TokenizedExample;
import io.qlorastream.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The general-text set shipped with the evaluator ({@code general-text.txt}, original everyday English prose): the
 * forgetting check scores base and candidate on it. Every token of a paragraph is a target (language modelling),
 * with the beginning-of-sequence token in front when the tokenizer has one.
 */
public final class GeneralText {
    public static final String RESOURCE = "general-text.txt";

    private GeneralText() {
    }

    /** The paragraphs of the shipped set, in file order. */
    public static List<String> paragraphs() {
        try (InputStream in = GeneralText.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the evaluator's " + RESOURCE + " resource is missing from the class path");
            }
            return paragraphs(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the evaluator's " + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    static List<String> paragraphs(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (line.startsWith("#")) {
                continue;
            }
            if (line.isBlank()) {
                if (current.length() > 0) {
                    out.add(current.toString());
                    current.setLength(0);
                }
            } else {
                current.append(current.length() == 0 ? "" : " ").append(line.strip());
            }
        }
        if (current.length() > 0) {
            out.add(current.toString());
        }
        return out;
    }

    /** The first {@code maxParagraphs} paragraphs, tokenized and cut to {@code maxSeqLen} tokens each. */
    public static List<TokenizedExample> encode(Tokenizer tokenizer, int maxParagraphs, int maxSeqLen) {
        List<TokenizedExample> out = new ArrayList<>();
        Integer bos = tokenizer.bosId();
        for (String p : paragraphs()) {
            if (out.size() >= maxParagraphs) {
                break;
            }
            int[] body = tokenizer.encode(p);
            int n = Math.min(maxSeqLen, body.length + (bos == null ? 0 : 1));
            int[] ids = new int[n];
            int offset = 0;
            if (bos != null) {
                ids[0] = bos;
                offset = 1;
            }
            System.arraycopy(body, 0, ids, offset, n - offset);
            int[] labels = ids.clone();
            if (bos != null) {
                labels[0] = TokenizedExample.IGNORE; // never a target: nothing predicts the first token
            }
            out.add(new TokenizedExample(ids, Arrays.copyOf(labels, n)));
        }
        return out;
    }
}
