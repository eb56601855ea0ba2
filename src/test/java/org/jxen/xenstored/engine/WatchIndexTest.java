package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.jxen.xenstore.XsPaths;
import org.junit.jupiter.api.Test;

/** The watch index answers exactly what a scan of every watch with xenstore.txt's matching rule would. */
class WatchIndexTest {
    private static final String[] NAMES = {"a", "b", "ab", "a-b", "local", "domain", "1", "10"};

    @Test
    void indexMatchesAScanOfEveryWatch() {
        SplittableRandom rnd = new SplittableRandom(0x77617463L);
        for (int round = 0; round < 200; round++) {
            WatchIndex index = new WatchIndex();
            List<WatchIndex.Entry> all = new ArrayList<>();
            Connection conn = new Connection(1, 0, true, "test", null);
            for (int i = 0; i < 30; i++) {
                String path = rnd.nextInt(10) == 0 ? "@releaseDomain" : randomPath(rnd);
                Watch w = new Watch(path, "t" + i, false);
                index.add(conn, w);
                all.add(new WatchIndex.Entry(conn, w));
            }
            for (int i = 0; i < 5; i++) {
                WatchIndex.Entry gone = all.remove(rnd.nextInt(all.size()));
                index.remove(gone.connection(), gone.watch());
            }
            assertThat(index.size()).isEqualTo(all.size());
            for (int e = 0; e < 50; e++) {
                String path = randomPath(rnd);
                Set<Watch> fromIndex = watches(index.atOrAbove(path));
                Set<Watch> fromScan = new HashSet<>();
                Set<Watch> belowScan = new HashSet<>();
                for (WatchIndex.Entry x : all) {
                    if (XsPaths.isChildOf(path, x.watch().path())) fromScan.add(x.watch());
                    else if (XsPaths.isChildOf(x.watch().path(), path)) belowScan.add(x.watch());
                }
                assertThat(fromIndex).as("at or above %s", path).isEqualTo(fromScan);
                assertThat(watches(index.below(path))).as("below %s", path).isEqualTo(belowScan);
            }
            Set<Watch> special = new HashSet<>();
            for (WatchIndex.Entry x : all) if (x.watch().path().equals("@releaseDomain")) special.add(x.watch());
            assertThat(watches(index.on("@releaseDomain"))).isEqualTo(special);
        }
    }

    private static Set<Watch> watches(List<WatchIndex.Entry> entries) {
        Set<Watch> s = new HashSet<>();
        for (WatchIndex.Entry e : entries) s.add(e.watch());
        return s;
    }

    private static String randomPath(SplittableRandom rnd) {
        int depth = rnd.nextInt(4);
        if (depth == 0) return "/";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < depth; i++) sb.append('/').append(NAMES[rnd.nextInt(NAMES.length)]);
        return sb.toString();
    }
}
