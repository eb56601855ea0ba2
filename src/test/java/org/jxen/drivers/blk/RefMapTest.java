package org.jxen.drivers.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The int-keyed map behind persistent grants, checked against a HashMap. */
class RefMapTest {
    @Test
    void behavesLikeAMapThroughGrowthForAnyRef() {
        RefMap<String> m = new RefMap<>();
        Map<Integer, String> expect = new HashMap<>();
        Random rnd = new Random(11);
        // Sequential refs (what a grant table hands out), 0, negative and random ones; several table growths.
        List<Integer> refs = new ArrayList<>();
        for (int i = 0; i < 1500; i++) refs.add(8 + i);
        refs.addAll(List.of(0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE));
        for (int i = 0; i < 500; i++) refs.add(rnd.nextInt());
        for (int r : refs) {
            if (expect.containsKey(r)) continue;
            m.put(r, "v" + r);
            expect.put(r, "v" + r);
        }
        assertThat(m.size()).isEqualTo(expect.size());
        for (Map.Entry<Integer, String> e : expect.entrySet()) assertThat(m.get(e.getKey())).isEqualTo(e.getValue());
        for (int i = 0; i < 2000; i++) {
            int r = rnd.nextInt();
            if (!expect.containsKey(r)) assertThat(m.get(r)).isNull();
        }
        List<String> values = new ArrayList<>();
        m.forEachValue(values::add);
        assertThat(values).containsExactlyInAnyOrderElementsOf(expect.values());
    }

    @Test
    void clearEmptiesItAndItIsUsableAgain() {
        RefMap<String> m = new RefMap<>();
        for (int i = 0; i < 100; i++) m.put(i, "x" + i);
        m.clear();
        assertThat(m.size()).isZero();
        assertThat(m.get(5)).isNull();
        List<String> values = new ArrayList<>();
        m.forEachValue(values::add);
        assertThat(values).isEmpty();
        m.put(5, "y");
        assertThat(m.get(5)).isEqualTo("y");
        assertThat(m.size()).isEqualTo(1);
    }

    @Test
    void nullValuesAreRefused() {
        assertThatThrownBy(() -> new RefMap<String>().put(1, null)).isInstanceOf(NullPointerException.class);
    }
}
