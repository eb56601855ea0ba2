package org.jxen.kernel.userland;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exec module's section of the kernel record: what goes in comes out, and a damaged one is refused. */
class ExecJobTest {
    private static final List<ExecJob.Saved> JOBS = List.of(
            new ExecJob.Saved("3", List.of("dd", "if=/dev/xvda", "of=/tmp/x y"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8},
                    "out".getBytes(StandardCharsets.UTF_8), new byte[0]),
            new ExecJob.Saved("4", List.of("ping", "-c", "1000", "10.0.0.1"), null, new byte[0], "err".getBytes(StandardCharsets.UTF_8)));

    @Test
    void commandsWithAndWithoutProgressComeBackAsTheyWent() {
        List<ExecJob.Saved> back = ExecJob.decode(ExecJob.encode(JOBS));
        assertThat(back).hasSize(2);
        assertThat(back.get(0).n()).isEqualTo("3");
        assertThat(back.get(0).argv()).containsExactly("dd", "if=/dev/xvda", "of=/tmp/x y");
        assertThat(back.get(0).progress()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(back.get(0).out()).isEqualTo("out".getBytes(StandardCharsets.UTF_8));
        assertThat(back.get(1).progress()).as("not freezable: lost").isNull();
        assertThat(back.get(1).err()).isEqualTo("err".getBytes(StandardCharsets.UTF_8));
        assertThat(ExecJob.decode(ExecJob.encode(List.of()))).isEmpty();
    }

    @Test
    void aSectionCutAnywhereIsRefused() {
        byte[] whole = ExecJob.encode(JOBS);
        for (int n = 0; n < whole.length; n++) {
            byte[] cut = Arrays.copyOf(whole, n);
            assertThatThrownBy(() -> ExecJob.decode(cut)).as("cut at " + n).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void theOutputCarriedOverIsBounded() {
        ExecJob j = new ExecJob("1", List.of("dd"), null, new byte[ExecJob.MAX_OUTPUT * 3], new byte[10]);
        ExecJob.Saved s = j.saved(null);
        assertThat(s.out()).hasSize(ExecJob.MAX_OUTPUT);
        assertThat(s.err()).hasSize(10);
    }
}
