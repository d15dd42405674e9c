package io.qlorastream.schemas;

/**
 * Text for one line of a log, an error message or a record header: every run of whitespace (line breaks included)
 * becomes one space. Shared by every service and the launcher, so each says a failure the same way.
 */
public final class OneLine {
    private OneLine() {
    }

    /** {@code text} on one line. */
    public static String of(String text) {
        return text.replaceAll("\\s+", " ").strip();
    }

    /** {@code text} on one line, cut to {@code maxChars} with an ellipsis when longer. */
    public static String of(String text, int maxChars) {
        String flat = of(text);
        return flat.length() > maxChars ? flat.substring(0, maxChars) + "…" : flat;
    }

    /** The exception's own message, or when it has none its type and its cause's message. */
    public static String of(Throwable t) {
        String message = t.getMessage();
        if (message == null || message.isBlank()) {
            message = t.getClass().getSimpleName() + (t.getCause() != null ? ": " + of(t.getCause()) : "");
        }
        return of(message);
    }

    /** The messages of the exception and of each of its causes (a type where there is none), joined by ": ". */
    public static String withCauses(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            sb.append(c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage());
            if (c.getCause() == c) {
                break;
            }
        }
        return of(sb.toString());
    }
}
