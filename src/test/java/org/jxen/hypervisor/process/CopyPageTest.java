package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import org.jxen.hypervisor.GrantStatus;
import org.junit.jupiter.api.Test;

/** The host writes statuses only from the first one that changed; the guest must still read exactly them. */
class CopyPageTest {
    @Test
    void statusesReadBackAsWrittenWhateverThePageHeld() {
        try (Arena arena = Arena.ofConfined()) {
            CopyPage page = new CopyPage(arena.allocate(CopyPage.SIZE, 64));
            int[] read = new int[8];

            int[] first = {0, 0, 0, 0, 0, 0, 0, 0};
            page.writeStatus(first, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(first);

            int[] lastChanged = {0, 0, 0, 0, 0, 0, 0, GrantStatus.BAD_GNTREF.code};
            page.writeStatus(lastChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(lastChanged);

            int[] firstChanged = {GrantStatus.GENERAL_ERROR.code, 0, 0, 0, 0, 0, 0, 0};
            page.writeStatus(firstChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(firstChanged);

            // A guest scribbled over its status area: the host's statuses replace whatever is there.
            page.set(CopyPage.STATUS_OFFSET + 3 * Integer.BYTES, 0x7F7F7F7F);
            page.writeStatus(firstChanged, 8);
            page.readStatus(read, 0, 8);
            assertThat(read).containsExactly(firstChanged);

            // Fewer ops than last time: only the batch's own statuses are written and read.
            page.writeStatus(new int[] {0, 0}, 2);
            int[] two = new int[2];
            page.readStatus(two, 0, 2);
            assertThat(two).containsExactly(0, 0);
            assertThat(page.get(CopyPage.STATUS_OFFSET + 7 * Integer.BYTES)).isZero();
        }
    }
}
