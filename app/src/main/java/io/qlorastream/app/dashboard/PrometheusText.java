package io.qlorastream.app.dashboard;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader of Prometheus' text exposition format (version 0.0.4), enough for the services' own series: comment
 * lines skipped, {@code name{label="value",...} value [timestamp]} parsed with the format's escapes in label values
 * ({@code \\}, {@code \"}, {@code \n}) and its special values ({@code NaN}, {@code +Inf}, {@code -Inf}). Only series
 * whose name starts with the given prefix are kept; a malformed line is skipped (one bad line of a scrape does not
 * hide the rest of it) and counted.
 */
public final class PrometheusText {
    private PrometheusText() {
    }

    /** One series' value at one scrape. */
    public record Sample(String name, Map<String, String> labels, double value) {
        public Sample {
            labels = Map.copyOf(labels);
        }

        public String label(String key) {
            return labels.getOrDefault(key, "");
        }
    }

    /** The samples of {@code text} whose names start with {@code namePrefix} ("" keeps all). */
    public static List<Sample> parse(String text, String namePrefix) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#") || !l.startsWith(namePrefix)) {
                continue;
            }
            Sample s = parseLine(l);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /** One sample line, or null when it is not one. */
    static Sample parseLine(String l) {
        int i = 0;
        int n = l.length();
        while (i < n && isNameChar(l.charAt(i), i == 0)) {
            i++;
        }
        if (i == 0) {
            return null;
        }
        String name = l.substring(0, i);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < n && l.charAt(i) == '{') {
            i++;
            while (true) {
                while (i < n && (l.charAt(i) == ' ' || l.charAt(i) == ',')) {
                    i++;
                }
                if (i >= n) {
                    return null;
                }
                if (l.charAt(i) == '}') {
                    i++;
                    break;
                }
                int keyStart = i;
                while (i < n && isNameChar(l.charAt(i), i == keyStart)) {
                    i++;
                }
                if (i == keyStart || i + 1 >= n || l.charAt(i) != '=' || l.charAt(i + 1) != '"') {
                    return null;
                }
                String key = l.substring(keyStart, i);
                i += 2;
                StringBuilder value = new StringBuilder();
                boolean closed = false;
                while (i < n) {
                    char c = l.charAt(i++);
                    if (c == '\\' && i < n) {
                        char e = l.charAt(i++);
                        value.append(e == 'n' ? '\n' : e);
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                    }
                }
                if (!closed) {
                    return null;
                }
                labels.put(key, value.toString());
            }
        }
        String[] rest = l.substring(i).strip().split("\\s+");
        if (rest.length < 1 || rest.length > 2 || rest[0].isEmpty()) {
            return null;
        }
        Double v = value(rest[0]);
        return v == null ? null : new Sample(name, labels, v);
    }

    private static Double value(String s) {
        switch (s) {
            case "NaN":
                return Double.NaN;
            case "+Inf":
            case "Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            default:
                try {
                    return Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    return null;
                }
        }
    }

    private static boolean isNameChar(char c, boolean first) {
        return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
    }
}
