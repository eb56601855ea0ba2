package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.jxen.ring.XenStoreRingLayout;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.transport.RingConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link XsRingChannel}, a guest's xenstore connection over its page, against a real {@link XenStoredServer}
 * with no hypervisor: the page is plain shared memory and the two event-channel ends are wired to each other
 * directly. What the channel itself does: refuse frames the daemon would reject, report the daemon's error
 * field, show the server features, and reconnect. (How the daemon serves rings is xenstored's RingTransportTest.)
 * Waits are for conditions, bounded by the class timeout; nothing asserts on time.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class XsRingChannelTest {
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

    /** A guest's XsClient over a ring channel, wired straight to the daemon's end. */
    private record Guest(XsRingChannel channel, XsClient client, RingConnection ring, XenStoreRingLayout layout) {}

    private Guest guest(int domid) {
        MemorySegment page = arena.allocate(XenStoreRingLayout.PAGE_SIZE, XenStoreRingLayout.PAGE_SIZE);
        AtomicReference<RingConnection> daemonEnd = new AtomicReference<>();
        XsRingChannel channel = new XsRingChannel(page, () -> daemonEnd.get().notifyFromGuest(), domid);
        daemonEnd.set(server.attachGuestRing(domid, page, channel::onNotify));
        XsClient client = new XsClient(channel);
        toClose.add(client);
        return new Guest(channel, client, daemonEnd.get(), new XenStoreRingLayout(page));
    }

    private long connectionsOf(int domid) {
        return server.onLoop(e -> e.connections().stream().filter(c -> c.domid == domid).count());
    }

    private String watchesAndTransactions(Connection c) {
        return server.onLoop(e -> c.watchCount() + "/" + c.transactionCount());
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) Thread.sleep(1);
    }

    private static XsMessage request(XsType type, int reqId, String... args) {
        return XsMessage.of(type, reqId, 0, Payloads.strings(args));
    }

    @Test
    void clientRefusesOversizedFramesAndReportsTheErrorField() throws Exception {
        domainHome(5);
        Guest g = guest(5);
        assertThat(g.channel().serverFeatures()).isEqualTo(3);
        assertThatThrownBy(() -> g.channel().send(XsMessage.of(XsType.WRITE, 1, 0, new byte[4097])))
                .isInstanceOf(IOException.class).hasMessageContaining("4097");
        // A daemon-side error (here: the guest's own bogus index) fails further calls with the error's name.
        g.layout().setRspCons(g.layout().rspProd() + 2000);
        g.ring().notifyFromGuest();
        await(() -> g.layout().error() != 0);
        assertThatThrownBy(() -> g.channel().send(request(XsType.READ, 1, "/")))
                .isInstanceOf(IOException.class).hasMessageContaining("ring error 2 (RING_IDX)");
    }

    /**
     * A transaction's pipelined writes go into the request ring as one batch with one notification; a batch
     * longer than the ring (1024 bytes) tells the daemon of what is in before it waits for room, and every
     * write arrives, in order.
     */
    @Test
    void aBatchLongerThanTheRingIsAllWrittenInOrder() throws Exception {
        domainHome(5);
        Guest g = guest(5);
        XsClient c = g.client();
        String value = "v".repeat(100);
        c.transaction(tx -> {
            for (int i = 0; i < 40; i++) tx.writeLater("/local/domain/5/batch/k" + i, value + i);
            return null;
        });
        for (int i = 0; i < 40; i++) assertThat(dom0.readString("/local/domain/5/batch/k" + i)).isEqualTo(value + i);
        assertThat(dom0.directory("/local/domain/5/batch")).hasSize(40);
    }

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
}
