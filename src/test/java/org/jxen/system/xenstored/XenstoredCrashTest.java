package org.jxen.system.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xenstored in its own process under the host, killed with SIGKILL in the middle of a write load from dom0 (over
 * the socket) and from two guests (over their rings): the host starts it again, it recovers its journal, and
 * everything continues. Every acknowledged write is there, no transaction is half there, the guests' watches
 * fire again, transactions open at the crash end EAGAIN and their retries commit, and new guests boot.
 */
class XenstoredCrashTest {
    @TempDir
    Path dir;
    private Host host;

    @AfterEach
    void stop() {
        XenstoreLoadKernel.SEEN.values().forEach(s -> s.stop = true);
        if (host != null) host.close();
        XenstoreLoadKernel.SEEN.clear();
    }

    private int guest(String name) throws Exception {
        return host.create(new GuestConfig(name, 16, 1, XenstoreLoadKernel.class.getName(), List.of(), false)).domid();
    }

    private long daemonPid() throws IOException {
        return Long.parseLong(Files.readString(dir.resolve("xenstored/pid")).strip());
    }

    @Test
    void killedDuringWriteLoadFromDom0AndTwoGuestsLosesNothingAcknowledged() throws Exception {
        host = Host.start(dir, false);
        int g1 = guest("load1");
        int g2 = guest("load2");
        XenstoreLoadKernel.Seen s1 = XenstoreLoadKernel.of(g1), s2 = XenstoreLoadKernel.of(g2);

        // dom0's load: its own reconnecting client, one two-node transaction per i.
        List<Integer> dom0Acked = new CopyOnWriteArrayList<>();
        List<String> dom0Errors = new CopyOnWriteArrayList<>();
        XsClient dom0 = XsClient.reconnecting(host.xenstoredSocket());
        Thread load = Thread.ofPlatform().name("dom0-load").start(() -> {
            for (int i = 0; !Thread.currentThread().isInterrupted() && i < 1_000_000; i++) {
                int n = i;
                try {
                    dom0.transaction(tx -> {
                        tx.write("/load/" + n + "/a", Integer.toString(n));
                        tx.write("/load/" + n + "/b", Integer.toString(n));
                        return null;
                    });
                    dom0Acked.add(n);
                    dom0.write("/plain/" + n, Integer.toString(n));
                } catch (IOException e) {
                    if (Thread.currentThread().isInterrupted()) return;
                    dom0Errors.add(n + ": " + e);
                }
            }
        });
        // Transactions open across the crash: dom0's and each guest's.
        XsClient.Tx open = host.xenstore().transactionStart();
        open.write("/txtest", "first");
        assertThat(s1.txOpen.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(s2.txOpen.await(60, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(60)).until(() -> dom0Acked.size() > 50 && s1.acked.size() > 50 && s2.acked.size() > 50);

        long before = daemonPid();
        int at1 = s1.acked.size(), at2 = s2.acked.size(), at0 = dom0Acked.size();
        ProcessHandle.of(before).orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            try {
                return daemonPid() != before;
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        });
        // The load goes on against the new daemon, each writer well past where it was at the kill.
        await().atMost(Duration.ofSeconds(120)).until(() -> dom0Acked.size() > at0 + 100
                && s1.acked.size() > at1 + 100 && s2.acked.size() > at2 + 100);
        assertThat(host.xenstore().reconnections()).isGreaterThanOrEqualTo(1);

        // Transactions open at the crash end EAGAIN; their retries commit.
        XenStoreException gone = org.junit.jupiter.api.Assertions.assertThrows(XenStoreException.class, open::commit);
        assertThat(gone.error()).isEqualTo(XsError.EAGAIN);
        host.xenstore().transaction(tx -> {
            tx.write("/txtest", "retried");
            return null;
        });
        assertThat(host.xenstore().readString("/txtest")).isEqualTo("retried");
        s1.txCommit.countDown();
        s2.txCommit.countDown();
        assertThat(s1.txFirst.get(60, TimeUnit.SECONDS)).isEqualTo("EAGAIN");
        assertThat(s2.txFirst.get(60, TimeUnit.SECONDS)).isEqualTo("EAGAIN");
        assertThat(s1.txRetry.get(60, TimeUnit.SECONDS)).isEqualTo("retry OK");
        assertThat(s2.txRetry.get(60, TimeUnit.SECONDS)).isEqualTo("retry OK");
        assertThat(host.xenstore().readString("/local/domain/" + g1 + "/data/tx")).isEqualTo("retried");

        // The guests' watches fire again: dom0 writes their data/ping after the restart.
        for (int g : new int[] {g1, g2}) host.xenstore().write("/local/domain/" + g + "/data/ping", "after-restart");
        await().atMost(Duration.ofSeconds(30)).until(() -> s1.pings.contains("after-restart") && s2.pings.contains("after-restart"));

        // Stop every writer, then check: every acknowledged write is there, and no transaction is half there.
        load.interrupt();
        s1.stop = true;
        s2.stop = true;
        load.join(30_000);
        dom0.close();
        assertThat(dom0Errors).isEmpty();
        assertThat(s1.errors).isEmpty();
        assertThat(s2.errors).isEmpty();
        XsClient xs = host.xenstore();
        for (int n : dom0Acked) {
            assertThat(xs.readString("/load/" + n + "/a")).isEqualTo(Integer.toString(n));
            assertThat(xs.readString("/load/" + n + "/b")).isEqualTo(Integer.toString(n));
        }
        for (String i : xs.directory("/load")) {
            assertThat(xs.directory("/load/" + i)).as("transaction %s whole", i).containsExactly("a", "b");
        }
        for (int g : new int[] {g1, g2}) {
            XenstoreLoadKernel.Seen s = XenstoreLoadKernel.of(g);
            String home = "/local/domain/" + g + "/data/load/";
            // Each key holds the last i acknowledged for it (the writer stopped after an acknowledged write), in
            // both of its nodes: a transaction is all there or not at all.
            java.util.Map<Integer, Integer> last = new java.util.HashMap<>();
            for (int n : s.acked) last.put(n % XenstoreLoadKernel.KEYS, n);
            for (var e : last.entrySet()) {
                assertThat(xs.readString(home + e.getKey() + "/a")).as("d%d key %d", g, e.getKey()).isEqualTo(e.getValue().toString());
                assertThat(xs.readString(home + e.getKey() + "/b")).as("d%d key %d", g, e.getKey()).isEqualTo(e.getValue().toString());
            }
        }
        // The tree and its accounting are sound after the recovery.
        assertThat(new String(xs.control("check"), java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("OK\0");

        // And the toolstack works: a new guest boots (INTRODUCE, ring) and one of the loaded guests is destroyed.
        int g3 = host.create(GuestConfig.of("after", false)).domid();
        assertThat(host.libxl().domainName(g3)).isEqualTo("after");
        host.destroy(g1);
        await().atMost(Duration.ofSeconds(30)).until(() -> !xs.isDomainIntroduced(g1) && !xs.exists("/local/domain/" + g1));
        List<String> names = new ArrayList<>();
        for (var d : host.domains()) names.add(host.nameOf(d.domid()));
        assertThat(names).contains("load2", "after").doesNotContain("load1");
    }

    @Test
    void liveUpdateRestartsTheDaemonKeepingEveryGuestConnection() throws Exception {
        host = Host.start(dir, false);
        int g = guest("lu");
        XenstoreLoadKernel.Seen s = XenstoreLoadKernel.of(g);
        assertThat(s.txOpen.await(60, TimeUnit.SECONDS)).isTrue();
        XsClient xs = host.xenstore();
        xs.write("/kept", "before");
        await().atMost(Duration.ofSeconds(60)).until(() -> s.acked.size() > 20);
        long before = daemonPid();

        // xenstore-control live-update's sequence: name the build, start.
        assertThat(new String(xs.control("live-update", "-s"), java.nio.charset.StandardCharsets.ISO_8859_1))
                .isEqualTo("No live-update binary set\0");
        assertThat(xs.control("live-update", "-f", "-")).isEqualTo("OK\0".getBytes());
        assertThat(xs.control("live-update", "-s")).isEqualTo("OK\0".getBytes());
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            try {
                return daemonPid() != before;
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        });
        // The dump it restarted from is a xenstore-migration stream.
        byte[] dump = Files.readAllBytes(dir.resolve("xenstored/state/snapshot"));
        assertThat(new String(dump, 0, 8, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("xenstore");

        int at = s.acked.size();
        await().atMost(Duration.ofSeconds(60)).until(() -> s.acked.size() > at + 50);
        assertThat(xs.readString("/kept")).isEqualTo("before");
        assertThat(xs.isDomainIntroduced(g)).isTrue();
        xs.write("/local/domain/" + g + "/data/ping", "after-live-update");
        await().atMost(Duration.ofSeconds(30)).until(() -> s.pings.contains("after-live-update"));
        s.txCommit.countDown();
        assertThat(s.txFirst.get(60, TimeUnit.SECONDS)).isEqualTo("EAGAIN");
        assertThat(s.txRetry.get(60, TimeUnit.SECONDS)).isEqualTo("retry OK");
        assertThat(s.errors).isEmpty();
        assertThat(Files.readString(dir.resolve("xenstored/log"))).contains("live update: state saved");
    }
}
