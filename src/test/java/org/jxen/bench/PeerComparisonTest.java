package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench xenstore --c-socket} and {@code --idle} against jxen's real daemon and a fake "C" daemon (this
 * JVM, which the bench finds as the socket's owner); no timing assertions, only that every run is made,
 * counted, accounted and reported.
 */
class PeerComparisonTest {
    @TempDir
    Path dir;

    private FakeXenStored fake;

    @AfterEach
    void stop() throws IOException {
        if (fake != null) fake.close();
    }

    private static XenStoreBench.Config config(List<String> workloads) {
        return new XenStoreBench.Config(null, List.of(1), 1, 0.3, 0.05, workloads);
    }

    @Test
    void bothDaemonsRunEveryRepeatAndTheirCpuPerRequestIsReported() throws IOException {
        fake = new FakeXenStored(dir.resolve("c.sock"), null);
        PeerComparison.Report report = new PeerComparison(config(List.of("write", "transaction")), fake.socket, 2, 0, null,
                new PrintStream(new ByteArrayOutputStream())).run();

        assertThat(report.rows()).extracting(r -> r.workload() + "/" + r.conns()).containsExactly("write/1", "transaction/1");
        for (PeerComparison.Row r : report.rows()) {
            assertThat(r.base()).containsOnlyKeys(PeerComparison.JXEN, PeerComparison.C);
            assertThat(r.base().values()).allSatisfy(runs -> {
                assertThat(runs).hasSize(2);
                assertThat(runs).allSatisfy(b -> {
                    assertThat(b.ops()).isPositive();
                    assertThat(b.errors()).isZero();
                    assertThat(b.daemonCpuMicrosPerRequest()).isNotNaN().isNotNegative();
                });
            });
            assertThat(r.medianOps(PeerComparison.JXEN, false)).isPositive();
        }
        String table = PeerComparison.markdown(report);
        assertThat(table).contains("| write | 1 |", "| transaction | 1 |", "jxen CPU us/request", "CPU placement: jxen (pid ",
                "C 4.17 (pid " + ProcessHandle.current().pid() + ")");
    }

    @Test
    void idleSocketsAndGuestRingsAreOpenForTheSecondMeasurement() throws IOException {
        fake = new FakeXenStored(dir.resolve("c.sock"), null);
        PeerComparison.Report report = new PeerComparison(config(List.of("read")), fake.socket, 1, 3, null,
                new PrintStream(new ByteArrayOutputStream())).run();

        assertThat(report.idleNotes()).containsEntry(PeerComparison.JXEN, "3 idle socket connections, 3 idle guest rings")
                .containsEntry(PeerComparison.C, "3 idle socket connections, 3 idle guest rings");
        PeerComparison.Row read = report.rows().getFirst();
        assertThat(read.idle().get(PeerComparison.JXEN)).singleElement().satisfies(b -> assertThat(b.ops()).isPositive());
        assertThat(PeerComparison.markdown(report)).contains("with --idle 3", "| read | 1 | jxen |", "| read | 1 | C 4.17 |");
    }

    @Test
    void theOwnerOfAListeningSocketIsFound() throws IOException {
        Path path = dir.resolve("owned.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(path));
            assertThat(SocketOwner.pid(path)).isEqualTo(ProcessHandle.current().pid());
        }
        assertThat(SocketOwner.pid(dir.resolve("nobody.sock"))).isZero();
    }
}
