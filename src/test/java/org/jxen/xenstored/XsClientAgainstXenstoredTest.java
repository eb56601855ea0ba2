package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** XsClient against jxen's xenstored: real conflict detection and real watch semantics. */
@Timeout(30)
class XsClientAgainstXenstoredTest {
    @TempDir
    Path dir;

    @Test
    void conflictingOutsideWriteMakesTheTransactionHelperRunTheBodyAgain() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient a = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient b = new XsClient(server.connectInProcess(0))) {
            a.write("/counter", "1");
            AtomicInteger runs = new AtomicInteger();
            int result = a.transaction(tx -> {
                int v = Integer.parseInt(tx.readString("/counter"));
                // Only during the first run, another connection changes what the body has read.
                if (runs.incrementAndGet() == 1) b.write("/counter", "10");
                tx.write("/counter", Integer.toString(v + 1));
                return v + 1;
            });
            assertThat(runs).hasValue(2);
            assertThat(result).isEqualTo(11);
            assertThat(a.readString("/counter")).isEqualTo("11");
        }
    }

    @Test
    void watchSeesCommittedChangesOfOtherConnections() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient a = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient b = new XsClient(UnixSocketChannel.connect(server.socketPath()))) {
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            a.watch("/vm", "t", (path, token) -> events.add(path));
            assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("/vm");
            b.transaction(tx -> {
                tx.write("/vm/1", "x");
                return null;
            });
            assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("/vm/1");
            assertThat(a.directory("/vm")).containsExactly("1");
        }
    }

    /** writeAll: the writes sent together land in order; one refused is reported by path, the others still made. */
    @Test
    void writesSentTogetherAreEachAnsweredAndAFailureIsReportedByPath() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient dom0 = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient guest = new XsClient(server.connectInProcess(7))) {
            dom0.write("/local/domain/7/control/shutdown", "");
            dom0.setPerms("/local/domain/7/control", org.jxen.xenstore.XsPerms.of(
                    new org.jxen.xenstore.XsPerm(7, false, false)));
            dom0.write("/local/domain/7/fixed", "dom0's");
            java.util.SequencedMap<String, String> writes = new java.util.LinkedHashMap<>();
            writes.put("control/feature-poweroff", "1");
            writes.put("fixed", "mine");
            writes.put("control/feature-reboot", "1");
            var failed = guest.writeAll(writes);
            assertThat(failed).containsOnlyKeys("fixed");
            assertThat(failed.get("fixed").error()).isEqualTo(XsError.EACCES);
            assertThat(dom0.readString("/local/domain/7/control/feature-poweroff")).isEqualTo("1");
            assertThat(dom0.readString("/local/domain/7/control/feature-reboot")).isEqualTo("1");
            assertThat(dom0.readString("/local/domain/7/fixed")).isEqualTo("dom0's");
        }
    }

    /**
     * A transaction's pipelined writes (what libxl's domain build uses): all sent before any reply is read, all
     * committed together, in the order sent (the MKDIR before the SET_PERMS on it).
     */
    @Test
    void pipelinedOperationsOfATransactionAreCommittedInTheOrderSent() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient dom0 = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient guest = new XsClient(server.connectInProcess(7))) {
            org.jxen.xenstore.XsPerms guestOwned = org.jxen.xenstore.XsPerms.of(new org.jxen.xenstore.XsPerm(7, false, false));
            dom0.transaction(tx -> {
                tx.mkdirLater("/local/domain/7/data");
                tx.setPermsLater("/local/domain/7/data", guestOwned);
                for (int i = 0; i < 40; i++) tx.writeLater("/vm/x/k" + i, "v" + i);
                assertThat(dom0.readOrNull("/vm/x/k0")).as("nothing visible before the commit").isNull();
                return null;
            });
            assertThat(dom0.directory("/vm/x")).hasSize(40);
            assertThat(dom0.readString("/vm/x/k39")).isEqualTo("v39");
            assertThat(dom0.getPerms("/local/domain/7/data").toString()).isEqualTo("n7");
            guest.write("/local/domain/7/data/mine", "1"); // the guest owns it: the SET_PERMS came after the MKDIR
        }
    }

    /** A pipelined write that fails fails the whole transaction, with the daemon's error code; none of it lands. */
    @Test
    void aFailedPipelinedWriteAbortsTheTransactionWithItsError() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient dom0 = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient guest = new XsClient(server.connectInProcess(7))) {
            dom0.write("/dom0-only", "x");
            dom0.mkdir("/local/domain/7");
            dom0.setPerms("/local/domain/7", org.jxen.xenstore.XsPerms.of(new org.jxen.xenstore.XsPerm(7, false, false)));
            guest.write("/local/domain/7/alone", "0"); // the guest may write its own home
            assertThatThrownBy(() -> guest.transaction(tx -> {
                tx.writeLater("/local/domain/7/before", "1");
                tx.writeLater("/dom0-only/child", "2"); // EACCES: dom0's node
                tx.writeLater("/local/domain/7/after", "3");
                return null;
            })).isInstanceOfSatisfying(XenStoreException.class, e -> assertThat(e.error()).isEqualTo(XsError.EACCES));
            assertThat(dom0.readOrNull("/local/domain/7/before")).isNull();
            assertThat(dom0.readOrNull("/local/domain/7/after")).isNull();
            assertThat(dom0.readOrNull("/dom0-only/child")).isNull();
        }
    }

    @Test
    void directoryOrNullAnswersMissingWithNullAndOtherErrorsWithTheirCode() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
             XsClient dom0 = new XsClient(UnixSocketChannel.connect(server.socketPath()));
             XsClient guest = new XsClient(server.connectInProcess(7))) {
            dom0.write("/d/a", "1");
            dom0.write("/d/b", "2");
            assertThat(dom0.directoryOrNull("/d")).containsExactly("a", "b");
            assertThat(dom0.directoryOrNull("/d/a")).isEmpty();
            assertThat(dom0.directoryOrNull("/d/missing")).isNull();
            // dom0's node: a guest may not list it, and learns EACCES, not "missing".
            assertThatThrownBy(() -> guest.directoryOrNull("/d"))
                    .isInstanceOfSatisfying(XenStoreException.class, e -> assertThat(e.error()).isEqualTo(XsError.EACCES));
        }
    }
}
