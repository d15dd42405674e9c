package io.qlorastream.publisher;

import io.qlorastream.events.AdapterRelease;
import io.qlorastream.events.LoraConfig;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a release's Ed25519 signature covers: the canonical JSON ({@link CanonicalJson}) of
 * <pre>
 * {"adapter_name", "base_model_hash", "base_model_name", "evaluation_id",
 *  "files": {file name: SHA-256 hex}, "format": "qlora-stream-release/1", "kind": "RELEASE"|"ROLLBACK",
 *  "lora_config": {"lora_alpha", "lora_dropout", "r", "target_modules", "use_rslora"},
 *  "public_key_id", "released_at" (epoch millis), "rolled_back_from_version" (int or null), "snapshot_id", "version"}
 * </pre>
 * taken from the {@link AdapterRelease} event's fields of the same names. {@code files} is the event's
 * {@code artifact_sha256} without {@code manifest.json} and {@code release.json}: those two describe the release
 * directory itself (the store's file list, and this manifest with its signature) and cannot be inside what they
 * sign; the PEFT files are. The artifact URI is not signed either: the content is bound by the hashes wherever it
 * lies, and the URI is only known once the store has written the directory (release.json included). The metrics
 * are informational and not signed. A ROLLBACK carries its own signature over its own kind, time and version, so an old signed RELEASE event replayed later does not read as a rollback.
 */
public final class ReleaseManifest {
    public static final String FORMAT = "qlora-stream-release/1";
    /** The file in every release directory with the RELEASE's manifest, signature and public key. */
    public static final String RELEASE_FILE = "release.json";
    /** The adapter store's own list of a directory's files. */
    public static final String STORE_MANIFEST_FILE = "manifest.json";

    private ReleaseManifest() {
    }

    /** The signed files of a release: its artifact files but the store manifest and release.json. */
    public static Map<String, String> signedFiles(Map<String, String> artifactSha256) {
        Map<String, String> files = new TreeMap<>(artifactSha256);
        files.remove(STORE_MANIFEST_FILE);
        files.remove(RELEASE_FILE);
        return files;
    }

    /** The manifest of a release event, as a map for {@link CanonicalJson}. */
    public static Map<String, Object> of(AdapterRelease r) {
        LoraConfig c = r.getLoraConfig();
        Map<String, Object> lora = new LinkedHashMap<>();
        lora.put("lora_alpha", c.getLoraAlpha());
        lora.put("lora_dropout", c.getLoraDropout());
        lora.put("r", c.getR());
        lora.put("target_modules", new ArrayList<>(c.getTargetModules()));
        lora.put("use_rslora", c.getUseRslora());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("adapter_name", r.getAdapterName());
        m.put("base_model_hash", r.getBaseModelHash());
        m.put("base_model_name", r.getBaseModelName());
        m.put("evaluation_id", r.getEvaluationId());
        m.put("files", signedFiles(r.getArtifactSha256()));
        m.put("format", FORMAT);
        m.put("kind", r.getKind().name());
        m.put("lora_config", lora);
        m.put("public_key_id", r.getPublicKeyId());
        m.put("released_at", r.getReleasedAt().toEpochMilli());
        m.put("rolled_back_from_version", r.getRolledBackFromVersion());
        m.put("snapshot_id", r.getSnapshotId());
        m.put("version", r.getVersion());
        return m;
    }

    /** The exact bytes signed for a release event. */
    public static byte[] signedBytes(AdapterRelease r) {
        return CanonicalJson.bytes(of(r));
    }

    /** Signs the event's manifest and sets its signature (base64). */
    public static void sign(AdapterRelease r, PrivateKey key) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(signedBytes(r));
            r.setSignature(Base64.getEncoder().encodeToString(s.sign()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with Ed25519: " + e.getMessage(), e);
        }
    }

    /** True when the event's signature is a valid Ed25519 signature of its manifest by {@code key}. */
    public static boolean verify(AdapterRelease r, PublicKey key) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(signedBytes(r));
            return s.verify(Base64.getDecoder().decode(r.getSignature()));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return false; // an undecodable signature is as bad as a wrong one
        }
    }

    /** The content of release.json: the manifest, its signature and the public key, canonical JSON. */
    public static byte[] releaseFile(AdapterRelease r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("manifest", of(r));
        m.put("signature", r.getSignature());
        m.put("public_key", r.getPublicKey());
        m.put("signature_algorithm", "Ed25519");
        return CanonicalJson.bytes(m);
    }
}
