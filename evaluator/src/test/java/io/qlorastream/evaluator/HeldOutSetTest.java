package io.qlorastream.evaluator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class HeldOutSetTest {

    @Test
    void theSameExamplesInAnyOrderGiveTheSameBoundedSetAndHash() {
        List<HeldOutExample> all = TinyWorld.support(0, 200);
        HeldOutSet inOrder = new HeldOutSet(32);
        all.forEach(inOrder::offer);
        List<HeldOutExample> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(7));
        HeldOutSet other = new HeldOutSet(32);
        shuffled.forEach(other::offer);
        shuffled.subList(0, 50).forEach(other::offer); // a replayed stretch of the topic changes nothing

        assertThat(inOrder.size()).isEqualTo(32);
        HeldOutSet.Frozen a = inOrder.freeze();
        HeldOutSet.Frozen b = other.freeze();
        assertThat(b.examples()).isEqualTo(a.examples());
        assertThat(b.sha256()).isEqualTo(a.sha256()).hasSize(64);
        // the kept ones are the 32 smallest SHA-256(example_id)
        List<String> hashes = all.stream().map(e -> Sha256.of(e.exampleId().getBytes())).sorted().limit(32).toList();
        assertThat(a.examples().stream().map(e -> Sha256.of(e.exampleId().getBytes())).toList()).isEqualTo(hashes);
    }

    @Test
    void theHashVersionsTheContents() {
        HeldOutSet s = new HeldOutSet(8);
        TinyWorld.support(0, 5).forEach(s::offer);
        String before = s.freeze().sha256();
        HeldOutExample first = TinyWorld.support(0);
        assertThat(s.offer(first)).isFalse();
        assertThat(s.freeze().sha256()).isEqualTo(before);
        // the same id with another response (ingest re-sent a corrected example) replaces it: a new version
        assertThat(s.offer(new HeldOutExample(first.exampleId(), first.prompt(), "another answer"))).isTrue();
        assertThat(s.size()).isEqualTo(5);
        assertThat(s.freeze().sha256()).isNotEqualTo(before);
        assertThat(HeldOutSet.Frozen.of(List.of()).size()).isZero();
    }

    @Test
    void theShippedGeneralTextHasParagraphs() {
        List<String> p = GeneralText.paragraphs();
        assertThat(p).hasSizeGreaterThan(20);
        assertThat(p).allSatisfy(t -> assertThat(t).hasSizeGreaterThan(100).doesNotStartWith("#"));
    }
}
