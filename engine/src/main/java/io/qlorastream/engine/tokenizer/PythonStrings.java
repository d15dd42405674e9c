package io.qlorastream.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What chat templates take from Python and neither Jinjava nor a library here gives: {@code str} methods with
 * Python's semantics, {@code time.strftime} directives, and {@code json.dumps}' output (spacing, indent, sort_keys,
 * ensure_ascii=False). Hand-written for that reason; only the parts real chat templates call.
 */
final class PythonStrings {
    private static final Set<String> METHODS = Set.of("startswith", "endswith", "strip", "lstrip", "rstrip", "split",
            "rsplit", "replace", "upper", "lower", "title", "capitalize", "find", "count", "join", "isdigit", "isspace",
            "splitlines");

    private PythonStrings() {
    }

    static boolean has(String method) {
        return METHODS.contains(method);
    }

    static Object call(String s, String method, Object[] a) {
        return switch (method) {
            case "startswith" -> anyOf(a[0], p -> s.startsWith(p));
            case "endswith" -> anyOf(a[0], p -> s.endsWith(p));
            case "strip" -> rstrip(lstrip(s, chars(a)), chars(a));
            case "lstrip" -> lstrip(s, chars(a));
            case "rstrip" -> rstrip(s, chars(a));
            case "split" -> split(s, a.length > 0 ? (String) a[0] : null, a.length > 1 ? ((Number) a[1]).intValue() : -1);
            case "rsplit" -> rsplit(s, (String) a[0], a.length > 1 ? ((Number) a[1]).intValue() : -1);
            case "replace" -> s.replace(a[0].toString(), a[1].toString());
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "find" -> (long) s.indexOf(a[0].toString());
            case "count" -> (long) (a[0].toString().isEmpty() ? s.length() + 1 : s.split(java.util.regex.Pattern.quote(a[0].toString()), -1).length - 1);
            case "join" -> join(s, a[0]);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "splitlines" -> List.of(s.split("\r\n|\r|\n"));
            default -> throw new IllegalArgumentException("no str method " + method);
        };
    }

    private static boolean anyOf(Object prefixes, java.util.function.Predicate<String> test) {
        if (prefixes instanceof Iterable<?> it) {
            for (Object p : it) {
                if (test.test(p.toString())) {
                    return true;
                }
            }
            return false;
        }
        return test.test(prefixes.toString());
    }

    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : a[0].toString();
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && stripped(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && stripped(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            for (String part : s.strip().split("\\s+", maxSplit < 0 ? 0 : maxSplit + 1)) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
            return out;
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || out.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> rsplit(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        int end = s.length();
        int at;
        while ((maxSplit < 0 || out.size() < maxSplit) && (at = s.lastIndexOf(sep, end - sep.length())) >= 0 && end - sep.length() >= 0) {
            out.add(0, s.substring(at + sep.length(), end));
            end = at;
        }
        out.add(0, s.substring(0, end));
        return out;
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (char c : s.toCharArray()) {
            out.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        for (Object o : (Iterable<?>) items) {
            parts.add(o.toString());
        }
        return String.join(sep, parts);
    }

    /** Python's strftime for the directives templates use; C locale names. */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            out.append(switch (d) {
                case 'd' -> String.format("%02d", t.getDayOfMonth());
                case 'm' -> String.format("%02d", t.getMonthValue());
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> String.format("%02d", t.getYear() % 100);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'H' -> String.format("%02d", t.getHour());
                case 'I' -> String.format("%02d", (t.getHour() + 11) % 12 + 1);
                case 'M' -> String.format("%02d", t.getMinute());
                case 'S' -> String.format("%02d", t.getSecond());
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'j' -> String.format("%03d", t.getDayOfYear());
                case '%' -> "%";
                default -> throw new IllegalArgumentException("strftime_now: unsupported directive %" + d);
            });
        }
        return out.toString();
    }

    /** json.dumps(node, ensure_ascii=False, indent=indent, sort_keys=sortKeys). */
    static String jsonDumps(JsonNode node, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        dump(node, indent, sortKeys, 0, out);
        return out.toString();
    }

    private static void dump(JsonNode n, Integer indent, boolean sortKeys, int depth, StringBuilder out) {
        String item = indent == null ? ", " : ",";
        if (n.isObject()) {
            Map<String, JsonNode> fields = sortKeys ? new TreeMap<>() : new java.util.LinkedHashMap<>();
            n.fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue()));
            if (fields.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            Iterator<Map.Entry<String, JsonNode>> it = fields.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                newline(indent, depth + 1, out);
                quote(e.getKey(), out);
                out.append(": ");
                dump(e.getValue(), indent, sortKeys, depth + 1, out);
                if (it.hasNext()) {
                    out.append(item);
                }
            }
            newline(indent, depth, out);
            out.append('}');
        } else if (n.isArray()) {
            if (n.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < n.size(); i++) {
                newline(indent, depth + 1, out);
                dump(n.get(i), indent, sortKeys, depth + 1, out);
                if (i + 1 < n.size()) {
                    out.append(item);
                }
            }
            newline(indent, depth, out);
            out.append(']');
        } else if (n.isTextual()) {
            quote(n.asText(), out);
        } else if (n.isNull() || n.isMissingNode()) {
            out.append("null");
        } else {
            out.append(n.toString());
        }
    }

    private static void newline(Integer indent, int depth, StringBuilder out) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private static void quote(String s, StringBuilder out) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
