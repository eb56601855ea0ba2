package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * dom0's backend bus with a recording test driver; the "frontend" is a directory the test writes itself, so
 * every other-end state and its timing is under the test's control.
 */
@Timeout(120)
class XenbusBusTest {
    private static final AtomicLong TOKENS = new AtomicLong();
    @TempDir
    Path dir;
    private Dom0Xenbus dom0;
    private XsClient xs;

    @BeforeEach
    void start() throws Exception {
        dom0 = new Dom0Xenbus(dir);
        xs = dom0.xs;
    }

    @AfterEach
    void stop() throws Exception {
        dom0.close();
    }

    private static String fake(int n) {
        return "/local/domain/0/fake/testdev/" + n;
    }

    private static String be(int n) {
        return "/local/domain/0/backend/testdev/0/" + n;
    }

    private void load(RecordingBackendDriver driver) throws Exception {
        dom0.xenbus.backend().register(driver);
    }

    private void add(int n, String frontendState) throws Exception {
        xs.transaction(tx -> {
            tx.write(fake(n) + "/state", frontendState);
            tx.write(be(n) + "/frontend", fake(n));
            tx.write(be(n) + "/frontend-id", "0");
            tx.write(be(n) + "/online", "1");
            tx.write(be(n) + "/state", "1");
            return null;
        });
    }

    private boolean await(String path, Predicate<String> ok) throws Exception {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        String token = "t" + TOKENS.incrementAndGet();
        xs.watch(path, token, (p, t) -> q.add(p));
        try {
            while (true) {
                String v = xs.exists(path) ? xs.readString(path) : null;
                if (v != null && ok.test(v)) return true;
                if (q.poll(60, TimeUnit.SECONDS) == null) return false;
            }
        } finally {
            xs.unwatch(path, token);
        }
    }

    private void awaitState(String devdir, XenbusState s) throws Exception {
        assertThat(await(devdir + "/state", v -> XenbusState.parse(v) == s)).as("%s reaching %s", devdir, s).isTrue();
    }

    @Test
    void switchStateNeverResurrectsARemovedDirectory() throws Exception {
        RecordingBackendDriver driver = new RecordingBackendDriver(false);
        load(driver);
        add(0, "1");
        XenbusDevice dev = driver.probed.get(60, TimeUnit.SECONDS);
        awaitState(be(0), XenbusState.INIT_WAIT);

        xs.rm(be(0));
        dev.switchState(XenbusState.CONNECTED);

        assertThat(xs.exists(be(0))).isFalse();
        assertThat(xs.exists(be(0) + "/state")).isFalse();
    }

    @Test
    void eventsCoalesceTheBackendSeesConnectedWithoutInitialised() throws Exception {
        RecordingBackendDriver driver = new RecordingBackendDriver(true);
        load(driver);
        add(0, "1");
        assertThat(driver.entered.await(60, TimeUnit.SECONDS)).isTrue();

        // The worker is busy in the first callback: both writes' events queue behind it and coalesce into one.
        xs.write(fake(0) + "/state", "3");
        xs.write(fake(0) + "/state", "4");
        // A round trip on dom0's own connection: the events were delivered (and queued) before its reply.
        dom0.xs.exists("/local/domain/0");
        driver.release.countDown();

        awaitState(be(0), XenbusState.CONNECTED);
        assertThat(driver.seen).hasSize(2).endsWith(XenbusState.CONNECTED).doesNotContain(XenbusState.INITIALISED);
    }

    @Test
    void illegalTransitionIsAnErrorOnTheDeviceNotACrash() throws Exception {
        RecordingBackendDriver driver = new RecordingBackendDriver(false);
        load(driver);
        add(0, "1");
        awaitState(be(0), XenbusState.INIT_WAIT);

        xs.write(fake(0) + "/state", "7");

        awaitState(be(0), XenbusState.CLOSING);
        String error = "/local/domain/0/error/backend/testdev/0/0/error";
        assertThat(await(error, v -> true)).isTrue();
        assertThat(xs.readString(error)).isEqualTo("22 illegal state transition InitWait -> Reconfiguring");

        // The bus and its driver keep working.
        add(1, "1");
        awaitState(be(1), XenbusState.INIT_WAIT);
    }

    @Test
    void missingOtherEndDetailsFailTheProbeWithAnError() throws Exception {
        load(new RecordingBackendDriver(false));
        xs.write(be(0) + "/state", "1");

        awaitState(be(0), XenbusState.CLOSING);
        assertThat(xs.readString("/local/domain/0/error/backend/testdev/0/0/error"))
                .startsWith("2 reading other end details from " + be(0));
        dom0.awaitLine("xenbus: probe of " + be(0) + " failed");
        assertThat(dom0.xenbus.backend().devices()).isEmpty();
    }

    @Test
    void aProbeThatThrowsIsReportedAndTheKernelCarriesOn() throws Exception {
        XenbusDriver failing = new XenbusDriver() {
            @Override
            public java.util.List<String> ids() {
                return java.util.List.of("testdev");
            }

            @Override
            public void probe(XenbusDevice dev) throws Exception {
                dev.watchPath(dev.nodename() + "/online", p -> {});
                throw new java.io.IOException("no such hardware");
            }

            @Override
            public void otherendChanged(XenbusDevice dev, XenbusState state) {}
        };
        dom0.xenbus.backend().register(failing);
        add(0, "1");

        awaitState(be(0), XenbusState.CLOSING);
        assertThat(xs.readString("/local/domain/0/error/backend/testdev/0/0/error"))
                .isEqualTo("5 probe failed: no such hardware");
        dom0.awaitLine("xenbus: probe of " + be(0) + " failed");
        assertThat(dom0.xenbus.backend().devices()).isEmpty();
        dom0.xenbus.backend().unregister(failing);
    }

    @Test
    void aDeviceIsCreatedOnlyInInitialising() throws Exception {
        RecordingBackendDriver driver = new RecordingBackendDriver(false);
        load(driver);
        xs.transaction(tx -> {
            tx.write(fake(0) + "/state", "1");
            tx.write(be(0) + "/frontend", fake(0));
            tx.write(be(0) + "/frontend-id", "0");
            tx.write(be(0) + "/state", "4");
            return null;
        });
        add(1, "1");
        awaitState(be(1), XenbusState.INIT_WAIT);

        assertThat(dom0.xenbus.backend().states()).containsOnlyKeys(be(1));
        assertThat(xs.readString(be(0) + "/state")).isEqualTo("4");
    }
}
