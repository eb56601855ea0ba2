package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code bench handshake} end to end on a small host: every device connects and detaches; no timing claims. */
@Timeout(120)
class HandshakeBenchTest {
    /** What Progress.duration writes: 0.25 s, 42 s, 3m 05s, 1h 02m 03s. */
    private static final String DURATION = "([0-9.]+ s|\\d+m \\d\\ds|\\d+h \\d\\dm \\d\\ds)";

    @Test
    void threeGuestsWithTwoDevicesEachConnectAndDetach() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<HandshakeBench.Row> rows = new HandshakeBench(new HandshakeBench.Config(List.of(1, 3), 2, 60, 4, 1, false),
                new PrintStream(log, true)).run();

        // Progress: the plan, each run with the time left (from the runs before), the time it all took.
        List<String> progress = log.toString().lines().filter(l -> l.matches("bench handshake: (\\[|done|\\d+ run).*")).toList();
        assertThat(progress).hasSize(4);
        assertThat(progress.get(0)).isEqualTo("bench handshake: 2 runs (1, 3 guests, 2 devices each); the time left is"
                + " reckoned from the pace of the runs before");
        assertThat(progress.get(1)).isEqualTo("bench handshake: [1/2] 1 guests x 2 devices, time left not known until a run is done");
        assertThat(progress.get(2)).matches("bench handshake: \\[2/2\\] 3 guests x 2 devices, about " + DURATION + " left");
        assertThat(progress.get(3)).matches("bench handshake: done in " + DURATION);

        assertThat(rows).hasSize(2);
        HandshakeBench.Row r = rows.get(1);
        assertThat(r.errors()).as(log.toString()).isEmpty();
        assertThat(r.expected()).isEqualTo(6);
        assertThat(r.connected()).isEqualTo(6);
        assertThat(r.detached()).isEqualTo(6);
        assertThat(r.ok()).isTrue();
        assertThat(HandshakeBench.Row.markdown(rows)).contains("| 3 | 6 |");
        assertThat(rows.get(0).ok()).isTrue();
        assertThat(r.toJson()).contains("\"connected\":6").contains("\"detached\":6");
        // The run directory is gone.
        String out = log.toString();
        int at = out.indexOf(" in /");
        Path dir = Path.of(out.substring(at + 4, out.indexOf('\n', at)).strip());
        assertThat(Files.exists(dir)).as(dir.toString()).isFalse();
    }
}
