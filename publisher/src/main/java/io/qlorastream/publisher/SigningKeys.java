package io.qlorastream.publisher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The publisher's Ed25519 key pair (the JDK's own provider), in two PEM files of a key directory:
 * {@code release-signing.key} (PKCS#8 "PRIVATE KEY", mode 0600) and {@code release-signing.pub} (X.509
 * SubjectPublicKeyInfo "PUBLIC KEY", the file subscribers get as --trusted-key). Both are what
 * {@code openssl genpkey -algorithm ed25519} / {@code openssl pkey -pubout} write. The key id is the SHA-256 hex of
 * the public key's X.509 DER encoding.
 */
public final class SigningKeys {
    public static final String PRIVATE_KEY_FILE = "release-signing.key";
    public static final String PUBLIC_KEY_FILE = "release-signing.pub";

    private final PrivateKey privateKey;
    private final PublicKey publicKey;
    private final boolean generated;

    private SigningKeys(PrivateKey privateKey, PublicKey publicKey, boolean generated) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.generated = generated;
    }

    /**
     * Loads the pair from {@code keyDir}, or generates and writes it when neither file exists (first run). One file
     * without the other, or a public key that does not belong to the private key, is an error: guessing would sign
     * releases no subscriber trusts.
     */
    public static SigningKeys loadOrGenerate(Path keyDir) throws IOException {
        Path priv = keyDir.resolve(PRIVATE_KEY_FILE);
        Path pub = keyDir.resolve(PUBLIC_KEY_FILE);
        boolean hasPriv = Files.exists(priv);
        boolean hasPub = Files.exists(pub);
        if (!hasPriv && !hasPub) {
            return generate(keyDir);
        }
        if (!hasPriv || !hasPub) {
            throw new IOException("signing key pair incomplete in " + keyDir + ": " + (hasPriv ? pub : priv) + " is missing");
        }
        return load(keyDir);
    }

    /** Loads an existing pair (the rollback command must sign with the publisher's key, never a new one). */
    public static SigningKeys load(Path keyDir) throws IOException {
        Path priv = keyDir.resolve(PRIVATE_KEY_FILE);
        Path pub = keyDir.resolve(PUBLIC_KEY_FILE);
        if (!Files.isRegularFile(priv)) {
            throw new IOException("no signing key: " + priv + " does not exist");
        }
        try {
            PrivateKey privateKey = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pem(priv, "PRIVATE KEY")));
            PublicKey publicKey = readPublicKey(pub);
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            byte[] probe = "qlora-stream key pair check".getBytes(StandardCharsets.UTF_8);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(publicKey);
            s.update(probe);
            if (!s.verify(sig)) {
                throw new IOException(pub + " is not the public key of " + priv);
            }
            return new SigningKeys(privateKey, publicKey, false);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("cannot read the Ed25519 key pair in " + keyDir + ": " + e.getMessage(), e);
        }
    }

    private static SigningKeys generate(Path keyDir) throws IOException {
        KeyPair pair;
        try {
            pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no Ed25519: " + e.getMessage(), e);
        }
        Files.createDirectories(keyDir);
        // The private key is born 0600 (created with those permissions, never chmod-ed after), then renamed in.
        Path tmp = keyDir.resolve(PRIVATE_KEY_FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, toPem("PRIVATE KEY", pair.getPrivate().getEncoded()));
        Path pubTmp = keyDir.resolve(PUBLIC_KEY_FILE + ".tmp");
        Files.writeString(pubTmp, toPem("PUBLIC KEY", pair.getPublic().getEncoded()));
        try {
            // Public first: a crash in between leaves only a public key, which loadOrGenerate reports.
            Files.move(pubTmp, keyDir.resolve(PUBLIC_KEY_FILE), StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmp, keyDir.resolve(PRIVATE_KEY_FILE), StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("another process created the key pair in " + keyDir + " meanwhile", e);
        }
        return new SigningKeys(pair.getPrivate(), pair.getPublic(), true);
    }

    /** Reads a PEM "PUBLIC KEY" (X.509 SubjectPublicKeyInfo) Ed25519 key, e.g. a subscriber's --trusted-key. */
    public static PublicKey readPublicKey(Path file) throws IOException {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(pem(file, "PUBLIC KEY")));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException(file + ": not an Ed25519 public key (" + e.getMessage() + ")", e);
        }
    }

    /** Decodes a base64 X.509 public key, as carried by every release event. */
    public static PublicKey decodePublicKey(String base64) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an Ed25519 public key: " + e.getMessage(), e);
        }
    }

    /** The key id: SHA-256 hex of the public key's X.509 DER encoding. */
    public static String keyId(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] pem(Path file, String type) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        if (b < 0 || e < b) {
            throw new IOException(file + ": no PEM " + type + " block");
        }
        return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    }

    static String toPem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    public String keyId() {
        return keyId(publicKey);
    }

    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }

    /** True when this run created the pair. */
    public boolean generated() {
        return generated;
    }
}
