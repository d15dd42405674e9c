package io.qlorastream.schemas;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.assertj.core.api.Assertions.assertThat;

class OneLineTest {
    @Test
    void textLosesItsLineBreaksAndRunsOfSpaces() {
        assertThat(OneLine.of("  first\n  second\r\n\tthird  ")).isEqualTo("first second third");
        assertThat(OneLine.of("abc def", 3)).isEqualTo("abc…");
        assertThat(OneLine.of("abc", 3)).isEqualTo("abc");
    }

    @Test
    void anExceptionWithoutMessageSaysItsTypeAndItsCause() {
        assertThat(OneLine.of(new IllegalStateException("bad\ninput"))).isEqualTo("bad input");
        assertThat(OneLine.of(new IllegalStateException(" ", new IOException("disk full"))))
                .isEqualTo("IllegalStateException: disk full");
        assertThat(OneLine.of(new NullPointerException())).isEqualTo("NullPointerException");
    }

    @Test
    void withCausesJoinsTheWholeChain() {
        Exception e = new IllegalStateException("cannot decode", new UncheckedIOException("read", new IOException()));
        assertThat(OneLine.withCauses(e)).isEqualTo("cannot decode: read: IOException");
    }
}
