package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.EventHandler;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * FrontRings and BackRings between a guest's xenbus and dom0's: the exact keys a frontend publishes for each
 * shape of device, the backend mapping and binding what was published, limits refused with EINVAL, and
 * teardown giving every grant, port, mapping and page back.
 */
@Timeout(60)
class RingPlumbingTest {
    @TempDir
    Path dir;
    private Dom0Xenbus dom0;
    private Xenbus guest;
    private XsClient xs;
    private XenbusDevice front;
    private XenbusDevice back;
    private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        dom0 = new Dom0Xenbus(dir);
        xs = dom0.xs;
        guest = dom0.guest(64);
        int g = guest.domid();
        String fe = "/local/domain/" + g + "/device/test/0";
        String be = "/local/domain/0/backend/test/" + g + "/0";
        xs.transaction(tx -> {
            tx.write(fe + "/backend", be);
            tx.write(fe + "/state", "1");
            tx.write(be + "/frontend", fe);
            return null;
        });
        xs.setPerms(fe, org.jxen.xenstore.XsPerms.parse(List.of("n" + g, "r0")));
        xs.setPerms(be, org.jxen.xenstore.XsPerms.parse(List.of("n0", "r" + g)));
        front = new XenbusDevice(guest.frontend(), null, fe, "test");
        front.setOtherend(be, 0);
        back = new XenbusDevice(dom0.xenbus.backend(), null, be, "test");
        back.setOtherend(fe, g);
    }

    @AfterEach
    void stop() throws Exception {
        dom0.close();
    }

    private QueueHandlers recording(String side) {
        return (q, channel) -> (EventHandler) port -> events.add(side + " q" + q + " " + channel);
    }

    /** The frontend's directory as key = value, without the two keys the test wrote. */
    private Map<String, String> published() throws IOException {
        Map<String, String> m = new TreeMap<>();
        list(front.nodename(), "", m);
        m.remove("backend");
        m.remove("state");
        return m;
    }

    private void list(String dir, String rel, Map<String, String> out) throws IOException {
        for (String c : xs.directory(dir)) {
            String path = dir + "/" + c;
            String value = xs.readString(path);
            if (!value.isEmpty()) out.put(rel + c, value);
            list(path, rel + c + "/", out);
        }
    }

    /**
     * Waits for {@code event}. Binding a channel leaves its port pending (Xen's bind_interdomain does, so the
     * binder looks at its ring once), so other events may come first; the one sent must come.
     */
    private void awaitEvent(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String e;
        do {
            e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } while (e != null && !e.equals(event));
        assertThat(e).as("event " + event).isEqualTo(event);
    }

    @Test
    void oneQueueOnePageIsPublishedFlatAsBlkifDoes() throws Exception {
        FrontRings f = FrontRings.setUp(front, RingKeys.single(""), 1, 0, recording("front"),
                tx -> front.printf(tx, "protocol", "%s", "x86_64-abi"));
        FrontRings.Queue q = f.queues().get(0);
        assertThat(published()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "ring-ref", Integer.toString(q.refs("")[0]),
                "event-channel", Integer.toString(q.port("")),
                "protocol", "x86_64-abi"));
        assertThat(q.pages("")).hasSize(1);
        f.close();
    }

    @Test
    void queuesPagesAndSplitChannelsGetXensKeys() throws Exception {
        FrontRings f = FrontRings.setUp(front, new RingKeys(List.of("tx", "rx"), true), 2, 1, recording("front"), null);
        Map<String, String> expected = new TreeMap<>();
        expected.put("ring-page-order", "1");
        expected.put("multi-queue-num-queues", "2");
        for (FrontRings.Queue q : f.queues()) {
            String d = "queue-" + q.index() + "/";
            for (String ring : List.of("tx", "rx")) {
                int[] refs = q.refs(ring);
                assertThat(refs).hasSize(2).doesNotHaveDuplicates();
                expected.put(d + ring + "-ring-ref0", Integer.toString(refs[0]));
                expected.put(d + ring + "-ring-ref1", Integer.toString(refs[1]));
            }
            expected.put(d + "event-channel-tx", Integer.toString(q.port("tx")));
            expected.put(d + "event-channel-rx", Integer.toString(q.port("rx")));
        }
        assertThat(published()).isEqualTo(expected);
        assertThat(guest.resources().snapshot()).isEqualTo(new XenbusResources.Snapshot(8, 4, 0, 8));
        f.close();
    }

    @Test
    void theBackendMapsAndBindsWhatTheFrontendPublished() throws Exception {
        FrontRings f = FrontRings.setUp(front, new RingKeys(List.of("tx", "rx"), true), 2, 1, recording("front"), null);
        BackRings b = BackRings.map(back, new RingKeys(List.of("tx", "rx"), true), 4, 2, recording("back"));
        assertThat(b.queues()).hasSize(2);
        assertThat(b.pageOrder()).isEqualTo(1);
        for (int i = 0; i < 2; i++) {
            FrontRings.Queue fq = f.queues().get(i);
            BackRings.Queue bq = b.queues().get(i);
            for (String ring : List.of("tx", "rx")) {
                List<MemorySegment> fp = fq.pages(ring);
                List<MemorySegment> bp = bq.pages(ring);
                for (int p = 0; p < 2; p++) {
                    fp.get(p).set(ValueLayout.JAVA_INT, 100, 0x5EED0000 + i * 16 + p);
                    assertThat(bp.get(p).get(ValueLayout.JAVA_INT, 100)).isEqualTo(0x5EED0000 + i * 16 + p);
                }
            }
            guest.hypercalls().send(fq.port("rx"));
            awaitEvent("back q" + i + " rx");
            dom0.xenbus.hypercalls().send(bq.port("tx"));
            awaitEvent("front q" + i + " tx");
        }
        assertThat(dom0.xenbus.resources().snapshot()).isEqualTo(new XenbusResources.Snapshot(0, 4, 8, 0));
        b.close();
        f.close();
        assertThat(dom0.xenbus.resources().snapshot().isEmpty()).isTrue();
        assertThat(guest.resources().snapshot().isEmpty()).as("nothing mapped any more: no deferred grant").isTrue();
    }

    @Test
    void aBackendWithSplitChannelsUsesTheOneChannelOfAFrontendWithout() throws Exception {
        FrontRings f = FrontRings.setUp(front, new RingKeys(List.of("tx", "rx"), false), 1, 0, recording("front"), null);
        assertThat(published()).containsOnlyKeys("tx-ring-ref", "rx-ring-ref", "event-channel");
        BackRings b = BackRings.map(back, new RingKeys(List.of("tx", "rx"), true), 1, 0, recording("back"));
        BackRings.Queue q = b.queues().get(0);
        assertThat(q.port("tx")).isEqualTo(q.port("rx"));
        guest.hypercalls().send(f.queues().get(0).port(""));
        awaitEvent("back q0 tx");
        b.close();
        f.close();
        assertThat(dom0.xenbus.resources().snapshot().isEmpty()).isTrue();
    }

    @Test
    void limitsAndBadKeysAreEinvalWithNothingLeftMapped() throws Exception {
        FrontRings f = FrontRings.setUp(front, RingKeys.single(""), 2, 1, recording("front"), null);
        XenbusException queues = catchThrowableOfType(XenbusException.class,
                () -> BackRings.map(back, RingKeys.single(""), 1, 3, recording("back")));
        assertThat(queues.errno()).isEqualTo(Errno.EINVAL);
        assertThat(queues).hasMessage("guest requested 2 queues, exceeding the maximum of 1.");
        XenbusException order = catchThrowableOfType(XenbusException.class,
                () -> BackRings.map(back, RingKeys.single(""), 4, 0, recording("back")));
        assertThat(order.errno()).isEqualTo(Errno.EINVAL);
        assertThat(order).hasMessage(front.nodename() + "/ring-page-order 1 exceeds the maximum 0");

        xs.write(front.nodename() + "/queue-1/event-channel", "seven");
        XenbusException bad = catchThrowableOfType(XenbusException.class,
                () -> BackRings.map(back, RingKeys.single(""), 4, 3, recording("back")));
        assertThat(bad.errno()).isEqualTo(Errno.EINVAL);
        assertThat(bad).hasMessage("reading " + front.nodename() + "/queue-1/event-channel: seven");
        assertThat(dom0.xenbus.resources().snapshot().isEmpty()).as("queue 0 was mapped, then given back").isTrue();
        f.close();
    }

    @Test
    void onlyABackendWithMultiPageRingsTakesTheNumberedFormOfOnePage() throws Exception {
        FrontRings f = FrontRings.setUp(front, RingKeys.single(""), 1, 0, recording("front"), null);
        String ref = xs.readOrNull(front.nodename() + "/ring-ref");
        xs.rm(front.nodename() + "/ring-ref");
        xs.write(front.nodename() + "/ring-page-order", "0");
        xs.write(front.nodename() + "/ring-ref0", ref);
        // Without multi-page support the backend reads no layout key and only the plain ring-ref.
        XenbusException plain = catchThrowableOfType(XenbusException.class,
                () -> BackRings.map(back, RingKeys.single(""), 1, 0, recording("back")));
        assertThat(plain.errno()).isEqualTo(Errno.EINVAL);
        assertThat(plain).hasMessage("reading " + front.nodename() + "/ring-ref");
        BackRings b = BackRings.map(back, RingKeys.single(""), 1, 1, recording("back"));
        assertThat(b.queues()).hasSize(1);
        b.close();
        f.close();
        assertThat(dom0.xenbus.resources().snapshot().isEmpty()).isTrue();
    }

    @Test
    void aGrantTheFrontendNeverMadeIsEfaultAndNothingStaysMapped() throws Exception {
        FrontRings f = FrontRings.setUp(front, RingKeys.single(""), 1, 0, recording("front"), null);
        xs.write(front.nodename() + "/ring-ref", "4000");
        XenbusException e = catchThrowableOfType(XenbusException.class,
                () -> BackRings.map(back, RingKeys.single(""), 1, 0, recording("back")));
        assertThat(e.errno()).isEqualTo(Errno.EFAULT);
        assertThat(e.getMessage()).startsWith("mapping in shared page 4000 from domain " + guest.domid() + ": ");
        assertThat(dom0.xenbus.resources().snapshot().isEmpty()).isTrue();
        f.close();
    }

    @Test
    void aFailedPublicationTakesEverythingDownAndWritesNothing() throws Exception {
        IOException e = catchThrowableOfType(IOException.class, () -> FrontRings.setUp(front, RingKeys.single("rx"), 2, 0,
                recording("front"), tx -> {
                    throw new IOException("refused");
                }));
        assertThat(e).hasMessage("refused");
        assertThat(published()).isEmpty();
        assertThat(guest.resources().snapshot().isEmpty()).isTrue();
    }

    @Test
    void aDeviceWhoseDirectoryWasRemovedIsNotRecreated() throws Exception {
        xs.rm(front.nodename());
        XenbusException e = catchThrowableOfType(XenbusException.DeviceGone.class,
                () -> FrontRings.setUp(front, RingKeys.single(""), 1, 0, recording("front"), null));
        assertThat(e.errno()).isEqualTo(Errno.ENOENT);
        assertThat(xs.exists(front.nodename())).isFalse();
        assertThat(guest.resources().snapshot().isEmpty()).isTrue();
    }

    @Test
    void aGrantStillMappedIsEndedOnlyOnceTheBackendUnmaps() throws Exception {
        FrontRings f = FrontRings.setUp(front, RingKeys.single(""), 1, 0, recording("front"), null);
        BackRings b = BackRings.map(back, RingKeys.single(""), 1, 0, recording("back"));
        f.close();
        assertThat(guest.resources().snapshot()).as("the mapped grant and its page are deferred")
                .isEqualTo(new XenbusResources.Snapshot(1, 0, 0, 1));
        b.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!guest.resources().snapshot().isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(guest.resources().snapshot().isEmpty()).isTrue();
    }
}
