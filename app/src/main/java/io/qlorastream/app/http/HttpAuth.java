package io.qlorastream.app.http;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Who may read one of our HTTP endpoints (the dashboard, a service's {@code /metrics}): anyone when no credentials
 * are configured, else a client presenting the bearer token or a user of the basic-auth file. Set on every context
 * of the JDK server ({@code HttpContext.setAuthenticator}), so no route can be left out.
 *
 * <p>Credentials come from files, never from the command line, where {@code ps} shows them. The token file holds the
 * token; the basic-auth file one {@code user:password} or htpasswd-style {@code user:{SHA}base64} line per user
 * ({@code htpasswd -s}). Only digests are kept, and every comparison is {@link MessageDigest#isEqual} of digests of
 * equal length, so neither the time nor the length of a guess tells how close it came. A missing or wrong credential
 * is a 401 with the challenges in {@code WWW-Authenticate}; nothing about a request's credentials is logged.
 */
public final class HttpAuth extends Authenticator {
    static final String REALM = "qlora-stream";
    /** RFC 6750's b64token: what an Authorization header can carry after "Bearer ". */
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9._~+/-]+=*");
    static final int MIN_TOKEN_LENGTH = 16;

    private final byte[] tokenDigest;
    private final List<User> users;

    /** A basic-auth user: digests of the name and of the password ({@code sha1}: htpasswd's {SHA}, else SHA-256). */
    private record User(byte[] nameDigest, boolean sha1, byte[] passwordDigest) {
    }

    private HttpAuth(byte[] tokenDigest, List<User> users) {
        this.tokenDigest = tokenDigest;
        this.users = List.copyOf(users);
    }

    /** Everyone is admitted. */
    public static HttpAuth none() {
        return new HttpAuth(null, List.of());
    }

    /**
     * Reads the credential files (either may be null; both null: {@link #none()}). {@code tokenOption} and
     * {@code basicOption} name the options in errors, which name the file and never its content.
     */
    public static HttpAuth fromFiles(String tokenOption, Path tokenFile, String basicOption, Path basicFile) {
        byte[] token = tokenFile == null ? null : sha256(readToken(tokenOption, tokenFile));
        List<User> users = new ArrayList<>();
        if (basicFile != null) {
            List<String> lines = basicLines(basicOption, basicFile);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                users.add(user(basicOption, basicFile, i + 1, line));
            }
            if (users.isEmpty()) {
                throw new IllegalArgumentException(basicOption + ": " + basicFile + " holds no user:password line");
            }
        }
        return new HttpAuth(token, users);
    }

    /**
     * The {@code Authorization} header a client sends to an endpoint guarded with these files: {@code Bearer} with
     * the token, else {@code Basic} with the file's first user, whose password must then be in the clear. Null when
     * both are null.
     */
    public static String clientHeader(String tokenOption, Path tokenFile, String basicOption, Path basicFile) {
        if (tokenFile != null) {
            return "Bearer " + new String(readToken(tokenOption, tokenFile), StandardCharsets.US_ASCII);
        }
        if (basicFile == null) {
            return null;
        }
        List<String> lines = basicLines(basicOption, basicFile);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            user(basicOption, basicFile, i + 1, line);
            if (hashed(line.substring(line.indexOf(':') + 1))) {
                throw new IllegalArgumentException(basicOption + ": " + basicFile + " line " + (i + 1)
                        + ": a client needs the password in the clear (user:password), not a hash");
            }
            return "Basic " + Base64.getEncoder().encodeToString(line.getBytes(StandardCharsets.UTF_8));
        }
        throw new IllegalArgumentException(basicOption + ": " + basicFile + " holds no user:password line");
    }

    /** Whether a request needs credentials. */
    public boolean required() {
        return tokenDigest != null || !users.isEmpty();
    }

    /** What a startup line says about access, naming no secret. */
    public String describe() {
        if (!required()) {
            return "no authentication";
        }
        List<String> ways = new ArrayList<>();
        if (tokenDigest != null) {
            ways.add("bearer token");
        }
        if (!users.isEmpty()) {
            ways.add("basic auth (" + users.size() + " user" + (users.size() == 1 ? "" : "s") + ")");
        }
        return String.join(" or ", ways);
    }

    @Override
    public Result authenticate(HttpExchange exchange) {
        if (!required()) {
            return new Success(new HttpPrincipal("anonymous", REALM));
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        String user = header == null ? null : admitted(header.strip());
        if (user != null) {
            return new Success(new HttpPrincipal(user, REALM));
        }
        if (!users.isEmpty()) {
            exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"" + REALM + "\", charset=\"UTF-8\"");
        }
        if (tokenDigest != null) {
            exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"" + REALM + "\""
                    + (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? ", error=\"invalid_token\"" : ""));
        }
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        return new Retry(401);
    }

    /** The principal's name when the header carries a valid credential, else null. */
    private String admitted(String header) {
        int space = header.indexOf(' ');
        if (space < 0) {
            return null;
        }
        String scheme = header.substring(0, space).toLowerCase(Locale.ROOT);
        String value = header.substring(space + 1).strip();
        if (scheme.equals("bearer") && tokenDigest != null) {
            return MessageDigest.isEqual(sha256(value.getBytes(StandardCharsets.UTF_8)), tokenDigest) ? "bearer" : null;
        }
        if (scheme.equals("basic") && !users.isEmpty()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return null;
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                return null;
            }
            String name = decoded.substring(0, colon);
            byte[] password = decoded.substring(colon + 1).getBytes(StandardCharsets.UTF_8);
            byte[] nameDigest = sha256(name.getBytes(StandardCharsets.UTF_8));
            byte[] sha256 = sha256(password);
            byte[] sha1 = digest("SHA-1", password);
            boolean ok = false;
            for (User u : users) {
                // every user is compared, and both parts of each: no early exit shows which part was right
                boolean nameOk = MessageDigest.isEqual(nameDigest, u.nameDigest());
                boolean passwordOk = MessageDigest.isEqual(u.sha1() ? sha1 : sha256, u.passwordDigest());
                ok |= nameOk & passwordOk;
            }
            return ok ? name : null;
        }
        return null;
    }

    private static User user(String option, Path file, int lineNo, String line) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException(option + ": " + file + " line " + lineNo + ": not user:password");
        }
        byte[] name = sha256(line.substring(0, colon).getBytes(StandardCharsets.UTF_8));
        String secret = line.substring(colon + 1);
        if (secret.isEmpty()) {
            throw new IllegalArgumentException(option + ": " + file + " line " + lineNo + ": empty password");
        }
        if (secret.startsWith("{SHA}")) {
            byte[] stored;
            try {
                stored = Base64.getDecoder().decode(secret.substring(5));
            } catch (IllegalArgumentException e) {
                stored = new byte[0];
            }
            if (stored.length != 20) {
                throw new IllegalArgumentException(option + ": " + file + " line " + lineNo + ": {SHA} is not a base64 SHA-1 digest");
            }
            return new User(name, true, stored);
        }
        if (hashed(secret)) {
            throw new IllegalArgumentException(option + ": " + file + " line " + lineNo
                    + ": unsupported password hash (supported: user:password, user:{SHA}... as htpasswd -s writes)");
        }
        return new User(name, false, sha256(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** htpasswd's hashed forms: {SHA}, bcrypt ($2y$...), MD5 ($apr1$...), crypt ($1$, $5$, $6$). */
    private static boolean hashed(String secret) {
        return secret.startsWith("{SHA}") || secret.matches("\\$(2[abxy]?|apr1|1|5|6)\\$.*");
    }

    private static byte[] readToken(String option, Path file) {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException(option + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
        }
        if (token.length() < MIN_TOKEN_LENGTH) {
            throw new IllegalArgumentException(option + ": " + file + " must hold a token of at least " + MIN_TOKEN_LENGTH + " characters");
        }
        if (!TOKEN.matcher(token).matches()) {
            throw new IllegalArgumentException(option + ": " + file + " must hold one token of A-Z a-z 0-9 - . _ ~ + / (= at the end)");
        }
        return token.getBytes(StandardCharsets.US_ASCII);
    }

    private static List<String> basicLines(String option, Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new IllegalArgumentException(option + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static byte[] sha256(byte[] bytes) {
        return digest("SHA-256", bytes);
    }

    private static byte[] digest(String algorithm, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algorithm).digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is missing from this JRE", e);
        }
    }
}
