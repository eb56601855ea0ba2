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
    @Test
    void threeGuestsWithTwoDevicesEachConnectAndDetach() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<HandshakeBench.Row> rows = new HandshakeBench(new HandshakeBench.Config(List.of(3), 2, 60, 4, 1),
                new PrintStream(log, true)).run();

        assertThat(rows).hasSize(1);
        HandshakeBench.Row r = rows.get(0);
        assertThat(r.errors()).as(log.toString()).isEmpty();
        assertThat(r.expected()).isEqualTo(6);
        assertThat(r.connected()).isEqualTo(6);
        assertThat(r.detached()).isEqualTo(6);
        assertThat(r.ok()).isTrue();
        assertThat(HandshakeBench.Row.markdown(rows)).contains("| 3 | 6 |");
        assertThat(r.toJson()).contains("\"connected\":6").contains("\"detached\":6");
        // The run directory is gone.
        String out = log.toString();
        Path dir = Path.of(out.substring(out.indexOf(" in /") + 4, out.indexOf('\n')).strip());
        assertThat(Files.exists(dir)).as(dir.toString()).isFalse();
    }
}
