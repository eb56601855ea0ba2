package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.jxen.ring.XenStoreRingLayout;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsFrameDecoder;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.DomainHooks;
import org.jxen.xenstored.engine.Quota;
import org.jxen.xenstored.transport.RingConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest rings served by a real {@link XenStoredServer}, with no hypervisor: each page is plain shared memory
 * and the two event-channel ends are wired to each other directly. A well-behaved guest is an XsClient over
 * {@link RingGuestChannel}, written on the ring layer; a hostile one pokes the page by hand. Waits are for
 * conditions, bounded by the class timeout; nothing asserts on time. How xenbus's own ring client
 * (XsRingChannel) behaves against the daemon is xenbus's test.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RingTransportTest {
    @TempDir
    Path dir;
    private XenStoredServer server;
    private Arena arena;
    private XsClient dom0;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
        arena = Arena.ofShared();
        dom0 = new XsClient(server.connectInProcess(0));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        dom0.close();
        server.close();
        arena.close();
    }

    /** /local/domain/N owned by N, as a toolstack makes it before the guest starts. */
    private void domainHome(int domid) throws IOException {
        String home = "/local/domain/" + domid;
        dom0.write(home, "");
        dom0.setPerms(home, XsPerms.parse(List.of("n" + domid)));
    }

    private MemorySegment page() {
        return arena.allocate(XenStoreRingLayout.PAGE_SIZE, XenStoreRingLayout.PAGE_SIZE);
    }

    /** A guest's XsClient over a ring channel, wired straight to the daemon's end. */
    private record Guest(RingGuestChannel channel, XsClient client, RingConnection ring, XenStoreRingLayout layout) {}

    private Guest guest(int domid, MemorySegment page) {
        AtomicReference<RingConnection> daemonEnd = new AtomicReference<>();
        RingGuestChannel channel = new RingGuestChannel(page, () -> daemonEnd.get().notifyFromGuest(), domid);
        daemonEnd.set(server.attachGuestRing(domid, page, channel::onNotify));
        XsClient client = new XsClient(channel);
        toClose.add(client);
        return new Guest(channel, client, daemonEnd.get(), new XenStoreRingLayout(page));
    }

    private Guest guest(int domid) {
        return guest(domid, page());
    }

    /** A guest that pokes the page by hand, to send what a well-behaved client never would. */
    private final class RawGuest {
        final XenStoreRingLayout ring;
        final RingConnection daemonEnd;
        private final XsFrameDecoder decoder = new XsFrameDecoder();
        private final ArrayDeque<XsMessage> received = new ArrayDeque<>();

        RawGuest(int domid) {
            MemorySegment page = page();
            ring = new XenStoreRingLayout(page);
            daemonEnd = server.attachGuestRing(domid, page, () -> {});
        }

        /** Writes all of {@code bytes} (waiting for space) and signals. */
        void put(byte[] bytes) throws Exception {
            int off = 0;
            while (off < bytes.length) {
                int n = ring.requests().write(bytes, off, bytes.length - off);
                off += n;
                daemonEnd.notifyFromGuest();
                if (n == 0) Thread.sleep(1);
            }
        }

        XsMessage next() throws Exception {
            while (received.isEmpty()) {
                byte[] chunk = new byte[1024];
                int n = ring.responses().read(chunk, 0, chunk.length);
                if (n > 0) {
                    daemonEnd.notifyFromGuest();
                    decoder.feed(ByteBuffer.wrap(chunk, 0, n), received::add);
                } else {
                    Thread.sleep(1);
                }
            }
            return received.poll();
        }
    }

    private long connectionsOf(int domid) {
        return server.onLoop(e -> e.connections().stream().filter(c -> c.domid == domid).count());
    }

    private String watchesAndTransactions(Connection c) {
        return server.onLoop(e -> c.watchCount() + "/" + c.transactionCount());
    }

    private int queuedReplies(RingConnection ring) {
        return server.onLoop(e -> ring.connection().queuedReplies());
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) Thread.sleep(1);
    }

    private static byte[] filled(int n, char base) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (base + i % 26);
        return b;
    }

    private static XsMessage request(XsType type, int reqId, String... args) {
        return XsMessage.of(type, reqId, 0, Payloads.strings(args));
    }

    // ---- a whole session ----------------------------------------------------------------------------------

    @Test
    void fullSessionAsAnUnprivilegedDomain() throws Exception {
        domainHome(5);
        dom0.write("/secret", "dom0 only");
        Guest g = guest(5);
        XsClient c = g.client();
        assertThat(g.layout().serverFeatures()).isEqualTo(3);

        c.write("/local/domain/5/name", "guest");
        assertThat(c.readString("/local/domain/5/name")).isEqualTo("guest");
        c.mkdir("/local/domain/5/device");
        assertThat(c.directory("/local/domain/5")).containsExactly("name", "device");
        assertThat(dom0.getPerms("/local/domain/5/name").owner()).isEqualTo(5);
        assertThat(c.getDomainPath(5)).isEqualTo("/local/domain/5");

        // Permissions are those of domain 5, not of a privileged socket.
        assertThatThrownBy(() -> c.read("/secret")).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.EACCES));
        assertThatThrownBy(() -> c.introduce(6, 1, 1)).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.EACCES));

        // Watch events arrive through the response ring, the initial one first.
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        c.watch("/local/domain/5/device", "tok", (path, token) -> events.add(path + "|" + token));
        assertThat(events.take()).isEqualTo("/local/domain/5/device|tok");
        dom0.write("/local/domain/5/device/vif", "1");
        assertThat(events.take()).isEqualTo("/local/domain/5/device/vif|tok");

        // Transactions: an aborted one leaves nothing, a committed one lands.
        XsClient.Tx aborted = c.transactionStart();
        aborted.write("/local/domain/5/tx", "no");
        aborted.abort();
        assertThat(c.exists("/local/domain/5/tx")).isFalse();
        XsClient.Tx tx = c.transactionStart();
        tx.write("/local/domain/5/tx", "yes");
        assertThat(c.exists("/local/domain/5/tx")).isFalse();
        tx.commit();
        assertThat(c.readString("/local/domain/5/tx")).isEqualTo("yes");

        // Quotas are domain 5's: it owns its home, name, device, device/vif and tx.
        dom0.setQuota("5", "nodes", "6");
        c.write("/local/domain/5/a", "1");
        assertThatThrownBy(() -> c.write("/local/domain/5/b", "2")).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.ENOSPC));
        assertThat(dom0.exists("/local/domain/5/b")).isFalse();
    }

    @Test
    void indicesStartingNearTheU32WrapKeepWorking() throws Exception {
        domainHome(5);
        MemorySegment page = page();
        XenStoreRingLayout layout = new XenStoreRingLayout(page);
        int start = 0xFFFFFF00;
        layout.setReqCons(start);
        layout.setReqProd(start);
        layout.setRspCons(start);
        layout.setRspProd(start);
        XsClient c = guest(5, page).client();
        for (int i = 0; i < 40; i++) c.write("/local/domain/5/k", "value " + i);
        assertThat(c.readString("/local/domain/5/k")).isEqualTo("value 39");
        // Both indices went past 2^32 and back to small numbers.
        assertThat(Integer.compareUnsigned(layout.reqProd(), start)).isNegative();
        assertThat(Integer.compareUnsigned(layout.rspProd(), start)).isNegative();
    }

    @Test
    void framesLargerThanTheRingAndManySmallFramesWrapping() throws Exception {
        domainHome(5);
        byte[] big = filled(4000, 'a');
        dom0.write("/local/domain/5/big", big);
        Guest g = guest(5);
        XsClient c = g.client();
        for (int i = 0; i < 10; i++) assertThat(c.read("/local/domain/5/big")).isEqualTo(big);
        // Requests larger than half the ring (and than the whole ring).
        byte[] value = filled(1500, 'A');
        for (int i = 0; i < 10; i++) {
            value[0] = (byte) ('0' + i);
            c.write("/local/domain/5/v", value);
            assertThat(c.read("/local/domain/5/v")).isEqualTo(value);
        }
        for (int i = 0; i < 500; i++) {
            c.write("/local/domain/5/s", Integer.toString(i));
            assertThat(c.readString("/local/domain/5/s")).isEqualTo(Integer.toString(i));
        }
        // Far more than one ring's worth went each way: the indices wrapped the 1024-byte rings many times.
        assertThat(Integer.toUnsignedLong(g.layout().reqProd())).isGreaterThan(20L * 1024);
        assertThat(Integer.toUnsignedLong(g.layout().rspProd())).isGreaterThan(50L * 1024);
        assertThat(g.layout().error()).isZero();
    }

    @Test
    void requestWrittenOneByteAtATime() throws Exception {
        domainHome(5);
        RawGuest g = new RawGuest(5);
        byte[] frame = XsMessage.of(XsType.WRITE, 77, 0, Payloads.pathAndValue("/local/domain/5/x",
                "hello".getBytes(StandardCharsets.US_ASCII))).toBytes();
        for (byte b : frame) g.put(new byte[] {b});
        XsMessage reply = g.next();
        assertThat(reply.toBytes()).containsExactly(
                11, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'O', 'K', 0);
        assertThat(dom0.readString("/local/domain/5/x")).isEqualTo("hello");
        assertThat(g.ring.reqCons()).isEqualTo(frame.length);
        assertThat(g.ring.rspProd()).isEqualTo(19);
    }

    // ---- hostile guests ------------------------------------------------------------------------------------

    /** Another guest and a socket client still get answers. */
    private void daemonStillServesOthers() throws IOException {
        domainHome(6);
        XsClient other = guest(6).client();
        other.write("/local/domain/6/alive", "yes");
        assertThat(other.readString("/local/domain/6/alive")).isEqualTo("yes");
        try (XsClient socket = new XsClient(UnixSocketChannel.connect(server.socketPath()))) {
            assertThat(socket.readString("/local/domain/6/alive")).isEqualTo("yes");
        }
    }

    @Test
    void requestProducerMoreThanARingAheadIsRingIndexErrorXsa38() throws Exception {
        domainHome(5);
        RawGuest bad = new RawGuest(5);
        bad.ring.setReqProd(bad.ring.reqCons() + 1025);
        bad.daemonEnd.notifyFromGuest();
        await(() -> bad.ring.error() != 0);
        assertThat(bad.ring.error()).isEqualTo(XenStoreRingLayout.ERROR_RING_IDX);
        assertThat(bad.ring.reqCons()).isZero();
        assertThat(connectionsOf(5)).isZero();

        // A valid request afterwards is ignored: the ring stays broken until the guest reconnects.
        bad.ring.setReqProd(0);
        bad.put(request(XsType.READ, 1, "/local/domain/5").toBytes());
        daemonStillServesOthers();
        assertThat(bad.ring.rspProd()).isZero();
        assertThat(bad.ring.reqCons()).isZero();
    }

    @Test
    void responseConsumerBeyondProducerIsRingIndexErrorXsa38() throws Exception {
        RawGuest bad = new RawGuest(5);
        bad.ring.setRspCons(8);
        bad.daemonEnd.notifyFromGuest();
        await(() -> bad.ring.error() != 0);
        assertThat(bad.ring.error()).isEqualTo(XenStoreRingLayout.ERROR_RING_IDX);
        assertThat(bad.ring.rspProd()).isZero();
        daemonStillServesOthers();
    }

    @Test
    void oversizedFrameIsProtocolError() throws Exception {
        domainHome(5);
        RawGuest bad = new RawGuest(5);
        byte[] header = ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(XsType.WRITE.code).putInt(1).putInt(0).putInt(4097).array();
        bad.put(header);
        await(() -> bad.ring.error() != 0);
        assertThat(bad.ring.error()).isEqualTo(XenStoreRingLayout.ERROR_PROTO);
        assertThat(bad.ring.rspProd()).isZero();
        daemonStillServesOthers();
    }

    // ---- reconnection ----------------------------------------------------------------------------------------

    @Test
    void reconnectionDropsWatchesAndTransactionsAndWorksAfterwards() throws Exception {
        domainHome(5);
        Guest g = guest(5);
        XsClient c = g.client();
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        c.watch("/local/domain/5", "w", (path, token) -> events.add(path));
        assertThat(events.take()).isEqualTo("/local/domain/5");
        XsClient.Tx tx = c.transactionStart();
        tx.write("/local/domain/5/in-tx", "1");
        Connection before = server.onLoop(e -> g.ring().connection());
        assertThat(watchesAndTransactions(before)).isEqualTo("1/1");

        g.channel().reconnect();

        Connection after = server.onLoop(e -> g.ring().connection());
        assertThat(after).isNotSameAs(before);
        assertThat(watchesAndTransactions(after)).isEqualTo("0/0");
        assertThat(connectionsOf(5)).isEqualTo(1);
        assertThat(new int[] {g.layout().connection(), g.layout().error()}).containsExactly(0, 0);
        assertThatThrownBy(tx::commit).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.ENOENT));
        assertThat(c.exists("/local/domain/5/in-tx")).isFalse();
        // The old watch is gone: a change fires nothing; a new watch works.
        dom0.write("/local/domain/5/changed", "1");
        c.watch("/local/domain/5/changed", "w2", (path, token) -> events.add(path + "|" + token));
        assertThat(events.take()).isEqualTo("/local/domain/5/changed|w2");
        assertThat(events).isEmpty();
        c.write("/local/domain/5/after", "ok");
        assertThat(dom0.readString("/local/domain/5/after")).isEqualTo("ok");
    }

    @Test
    void reconnectionDropsPartialPacketsAndClearsTheError() throws Exception {
        domainHome(5);
        RawGuest g = new RawGuest(5);
        byte[] frame = request(XsType.READ, 9, "/local/domain/5").toBytes();
        g.put(Arrays.copyOf(frame, 10));
        g.put(ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(XsType.WRITE.code).putInt(1).putInt(0).putInt(5000).array());
        await(() -> g.ring.error() != 0);
        assertThat(g.ring.error()).isEqualTo(XenStoreRingLayout.ERROR_PROTO);

        g.ring.setConnection(XenStoreRingLayout.RECONNECT);
        g.daemonEnd.notifyFromGuest();
        await(() -> g.ring.connection() == XenStoreRingLayout.CONNECTED);
        assertThat(new int[] {g.ring.error(), g.ring.reqCons(), g.ring.reqProd(), g.ring.rspCons(), g.ring.rspProd(),
                g.ring.serverFeatures()}).containsExactly(0, 0, 0, 0, 0, 3);

        // The half frame from before is gone: a whole frame now decodes from its first byte.
        g.put(frame);
        XsMessage reply = g.next();
        assertThat(reply).isEqualTo(XsMessage.of(XsType.READ, 9, 0, new byte[0]));
    }

    // ---- slow readers ------------------------------------------------------------------------------------------

    @Test
    void guestThatNeverReadsRepliesIsHeldToItsOutstandingQuotaXsa326() throws Exception {
        domainHome(5);
        byte[] big = filled(2000, 'a');
        dom0.write("/local/domain/5/big", big);
        RawGuest g = new RawGuest(5);
        byte[] first = request(XsType.READ, 0, "/local/domain/5/big").toBytes();
        int sent = 0;
        // Keep the request ring topped up until the daemon stops taking requests.
        while (true) {
            while (g.ring.requests().free() >= first.length) {
                g.ring.requests().write(request(XsType.READ, sent, "/local/domain/5/big").toBytes(), 0, first.length);
                sent++;
            }
            g.daemonEnd.notifyFromGuest();
            int queued = queuedReplies(g.daemonEnd);
            if (queued == Quota.OUTSTANDING.defaultValue) break;
            Thread.sleep(1);
        }
        // Filling the ring again and signalling changes nothing: the daemon holds 20 replies and no more, and
        // the unread requests wait in the guest's own page.
        while (g.ring.requests().free() >= first.length) {
            g.ring.requests().write(request(XsType.READ, sent, "/local/domain/5/big").toBytes(), 0, first.length);
            sent++;
        }
        g.daemonEnd.notifyFromGuest();
        daemonStillServesOthers();
        assertThat(queuedReplies(g.daemonEnd)).isEqualTo(20);
        assertThat(g.ring.responses().used()).isEqualTo(1024);
        assertThat(g.ring.requests().used()).as("req used, sent %d", sent).isPositive();

        // Once the guest reads, every reply comes, in order, exactly.
        for (int i = 0; i < sent; i++) {
            XsMessage r = g.next();
            assertThat(r).isEqualTo(XsMessage.of(XsType.READ, i, 0, big));
        }
        assertThat(g.ring.requests().used()).isZero();
    }

    // ---- the host's hooks ------------------------------------------------------------------------------------------

    @Test
    void introduceAttachesTheRingThroughDomainHooksAndReleaseClosesIt() throws Exception {
        MemorySegment page = page();
        Map<Long, MemorySegment> guestMemory = Map.of(0x1234L, page);
        Map<Integer, RingConnection> attached = new ConcurrentHashMap<>();
        BlockingQueue<Integer> released = new LinkedBlockingQueue<>();
        AtomicReference<RingGuestChannel> guestEnd = new AtomicReference<>();
        server.setDomainHooks(new DomainHooks() {
            @Override
            public void introduced(int domid, long gfn, int port) {
                attached.put(domid, server.attachGuestRing(domid, guestMemory.get(gfn), () -> guestEnd.get().onNotify()));
            }

            @Override
            public void released(int domid) {
                attached.remove(domid).close();
                released.add(domid);
            }
        });
        RingGuestChannel channel = new RingGuestChannel(page, () -> attached.get(9).notifyFromGuest(), 9);
        guestEnd.set(channel);
        domainHome(9);
        dom0.introduce(9, 0x1234L, 77);
        assertThat(attached).containsOnlyKeys(9);
        try (XsClient guest = new XsClient(channel)) {
            guest.write("/local/domain/9/ready", "1");
            assertThat(dom0.readString("/local/domain/9/ready")).isEqualTo("1");
            assertThat(dom0.isDomainIntroduced(9)).isTrue();
            dom0.release(9);
            assertThat(released.take()).isEqualTo(9);
            assertThat(connectionsOf(9)).isZero();
            assertThat(dom0.exists("/local/domain/9")).isFalse();
        }
    }
}
