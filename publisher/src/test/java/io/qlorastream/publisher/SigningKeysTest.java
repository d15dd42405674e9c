package io.qlorastream.publisher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.security.MessageDigest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SigningKeysTest {

    @Test
    void generatedOnFirstRunThenLoadedTheSame(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys");
        SigningKeys first = SigningKeys.loadOrGenerate(keys);
        assertThat(first.generated()).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keys.resolve(SigningKeys.PRIVATE_KEY_FILE)))).isEqualTo("rw-------");
        assertThat(Files.readString(keys.resolve(SigningKeys.PUBLIC_KEY_FILE))).startsWith("-----BEGIN PUBLIC KEY-----\n");
        SigningKeys again = SigningKeys.loadOrGenerate(keys);
        assertThat(again.generated()).isFalse();
        assertThat(again.keyId()).isEqualTo(first.keyId())
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(first.publicKey().getEncoded())));
        assertThat(SigningKeys.readPublicKey(keys.resolve(SigningKeys.PUBLIC_KEY_FILE))).isEqualTo(first.publicKey());
    }

    @Test
    void aHalfPairOrAForeignPublicKeyIsAnError(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        SigningKeys.loadOrGenerate(a);
        SigningKeys.loadOrGenerate(b);
        Files.copy(b.resolve(SigningKeys.PUBLIC_KEY_FILE), a.resolve(SigningKeys.PUBLIC_KEY_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> SigningKeys.load(a)).hasMessageContaining("is not the public key of");
        Files.delete(b.resolve(SigningKeys.PUBLIC_KEY_FILE));
        assertThatThrownBy(() -> SigningKeys.loadOrGenerate(b)).hasMessageContaining("incomplete").hasMessageContaining(SigningKeys.PUBLIC_KEY_FILE);
        assertThatThrownBy(() -> SigningKeys.load(dir.resolve("none"))).hasMessageContaining("does not exist");
    }

    @Test
    void theFilesAreOpensslsEd25519Pem(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl not installed");
        SigningKeys k = SigningKeys.loadOrGenerate(dir);
        Process p = new ProcessBuilder("/usr/bin/openssl", "pkey", "-in", dir.resolve(SigningKeys.PRIVATE_KEY_FILE).toString(), "-pubout")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).isEqualTo(Files.readString(dir.resolve(SigningKeys.PUBLIC_KEY_FILE)));
        assertThat(k.keyId()).hasSize(64);
    }
}
