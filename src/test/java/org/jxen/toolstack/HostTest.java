package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jxen.hypervisor.HypercallException;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A whole host: hypervisor, dom0, xenstored, guests over their real shared rings, in-process and as processes. */
@Timeout(120)
class HostTest {
    @TempDir
    Path dir;
    private Host host;
    private XsClient xs;

    @BeforeEach
    void start() throws Exception {
        host = Host.start(dir, false);
        xs = host.xenstore();
    }

    @AfterEach
    void stop() {
        host.close();
    }

    @Test
    void bootLayoutIsWhatAXenHostHolds() throws Exception {
        assertThat(xs.readString("/local/domain/0/name")).isEqualTo("Domain-0");
        assertThat(xs.readString("/local/domain/0/domid")).isEqualTo("0");
        assertThat(xs.exists("/tool")).isTrue();
        assertThat(xs.exists("/vm")).isTrue();
        assertThat(Files.exists(dir.resolve("xenstored/socket"))).isTrue();
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void guestTalksToXenStoreOverItsRingWithItsOwnIdentity(boolean ownProcess) throws Exception {
        Host.Guest other = host.create(GuestConfig.of("other", false));
        Host.Guest g = host.create(new GuestConfig("probe", 16, 1, ProbeKernel.class.getName(),
                List.of(Integer.toString(other.domid())), ownProcess));
        String home = "/local/domain/" + g.domid();
        xs.setQuota(Integer.toString(g.domid()), "nodes", "30");
        awaitNode(home + "/data/probe-done");

        assertThat(xs.readString(home + "/name")).isEqualTo("probe");
        assertThat(result(home, "own-name")).isEqualTo("probe");
        assertThat(result(home, "dom0-name")).isEqualTo("EACCES");
        assertThat(result(home, "other-name")).isEqualTo("EACCES");
        assertThat(result(home, "write-dom0")).isEqualTo("EACCES");
        assertThat(result(home, "write-home")).isEqualTo("EACCES");
        assertThat(result(home, "introduce")).isEqualTo("EACCES");
        assertThat(result(home, "flood")).isEqualTo("ENOSPC");
        assertThat(xs.readString(home + "/control/platform-feature-poweroff")).isEqualTo("1");
        assertThat(xs.getPerms(home + "/data/result-flood").owner()).isEqualTo(g.domid());
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void shutdownRequestPowersTheGuestOffAndTheToolstackCleansUp(boolean ownProcess) throws Exception {
        Host.Guest g = host.create(GuestConfig.of("quitter", ownProcess));
        String home = "/local/domain/" + g.domid();
        awaitNode(home + "/control/platform-feature-poweroff");
        LinkedBlockingQueue<String> released = watchReleases();

        host.requestShutdown(g.domid(), "poweroff");

        assertThat(released.poll(30, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        awaitGone(home);
        awaitDomainGone(g.domid());
        assertThat(domainFiles(g.domid())).isEmpty();
    }

    @Test
    void killedGuestProcessCrashesAndIsReleased() throws Exception {
        Host.Guest g = host.create(GuestConfig.of("victim", true));
        String home = "/local/domain/" + g.domid();
        awaitNode(home + "/control/platform-feature-poweroff");
        xs.write(home + "/data/marker", "guest-owned now");
        xs.setPerms(home + "/data/marker", org.jxen.xenstore.XsPerms.of(new org.jxen.xenstore.XsPerm(g.domid(), false, false)));
        LinkedBlockingQueue<String> released = watchReleases();

        g.process().destroyForcibly().waitFor();

        assertThat(released.poll(30, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        awaitGone(home);
        awaitDomainGone(g.domid());
        assertThat(xs.exists(home + "/data/marker")).isFalse();
        assertThat(xs.isDomainIntroduced(g.domid())).isFalse();
        assertThat(xenstoredCheck()).isEqualTo("OK");
    }

    private String xenstoredCheck() throws Exception {
        byte[] r = xs.control("check");
        return new String(r, 0, r.length - 1);
    }

    private LinkedBlockingQueue<String> watchReleases() throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        xs.watch("@releaseDomain", "rel", (path, token) -> q.add(path));
        assertThat(q.poll(10, TimeUnit.SECONDS)).isEqualTo("@releaseDomain");
        return q;
    }

    private String result(String home, String name) throws Exception {
        return xs.readString(home + "/data/result-" + name);
    }

    /** Waits for a node to appear, by watching it (no sleeping in a loop). */
    private void awaitNode(String path) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "await-" + path;
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (!xs.exists(path)) assertThat(q.poll(60, TimeUnit.SECONDS)).as("waiting for %s", path).isNotNull();
        } finally {
            xs.unwatch(path, token);
        }
    }

    private void awaitGone(String path) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "gone-" + path;
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (xs.exists(path)) assertThat(q.poll(60, TimeUnit.SECONDS)).as("waiting for %s to go", path).isNotNull();
        } finally {
            xs.unwatch(path, token);
        }
    }

    /** The hypervisor forgets a destroyed domain once nobody maps its pages. */
    private void awaitDomainGone(int domid) throws Exception {
        for (int i = 0; i < 600; i++) {
            try {
                host.dom0().domainControl().info(domid);
            } catch (HypercallException e) {
                if (domainFiles(domid).isEmpty()) return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("domain " + domid + " still exists or left files: " + domainFiles(domid));
    }

    private List<Path> domainFiles(int domid) throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve("hv/shm"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("d" + domid + ".")).toList();
        }
    }

    @Test
    void introduceOfADomainWithoutAGrantedPageFails() {
        XenStoreException e = org.junit.jupiter.api.Assertions.assertThrows(XenStoreException.class,
                () -> xs.introduce(77, 1, 1));
        assertThat(e.error()).isEqualTo(XsError.EINVAL);
    }
}
