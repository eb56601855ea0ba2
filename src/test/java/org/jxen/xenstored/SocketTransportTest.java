package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jxen.xenstored.engine.EngineHarness.assertError;
import static org.jxen.xenstored.engine.EngineHarness.assertReply;
import static org.jxen.xenstored.RawSocketClient.frame;
import static org.jxen.xenstored.RawSocketClient.header;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;
import org.jxen.xenstore.XsChannel;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.Connection;
import org.jxen.xenstored.engine.EngineHarness;
import org.jxen.xenstored.engine.Quota;
import org.jxen.xenstored.engine.XenStoreEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@link XenStoredServer} on a temporary Unix socket, spoken to with raw bytes. The class timeout is a
 * safety net against hangs, not a timing assertion.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SocketTransportTest {
    @TempDir
    Path dir;
    private XenStoredServer server;

    @BeforeEach
    void start() throws IOException {
        server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private RawSocketClient client() throws IOException {
        return new RawSocketClient(server.socketPath());
    }

    /** Largest value of {@code f} over the daemon's connections, read on the event loop. */
    private int maxOverConnections(ToIntFunction<Connection> f) {
        return server.onLoop(e -> e.connections().stream().mapToInt(f).max().orElse(0));
    }

    /** Waits (bounded by the class timeout) until the daemon's state satisfies the condition. */
    private void awaitOnLoop(java.util.function.BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) Thread.sleep(5);
    }

    static void assertServed(RawSocketClient c, int reqId) throws IOException {
        assertReply(c.call(XsType.GET_DOMAIN_PATH, reqId, "3\0"), XsType.GET_DOMAIN_PATH, "/local/domain/3\0");
    }

    @Test
    void framesSplitAtEveryByteBoundaryAreReassembled() throws IOException {
        try (RawSocketClient c = client()) {
            int len = frame(XsType.WRITE, 0, "/split\0val\0ue").length;
            for (int k = 1; k < len; k++) {
                byte[] f = frame(XsType.WRITE, k, "/split\0val\0ue");
                c.write(f, 0, k);
                c.write(f, k, f.length);
                XsMessage r = c.read();
                assertReply(r, XsType.WRITE, "OK\0");
                assertThat(r.reqId()).isEqualTo(k);
            }
            byte[] read = frame(XsType.READ, 42, "/split\0");
            for (int i = 0; i < read.length; i++) c.write(read, i, i + 1);
            XsMessage r = c.read();
            assertReply(r, XsType.READ, "val\0ue");
            assertThat(r.reqId()).isEqualTo(42);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        try (RawSocketClient c = client()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            for (int i = 0; i < 200; i++) {
                burst.writeBytes(frame(XsType.WRITE, 2 * i, "/pipe/" + i + "\0v" + i));
                burst.writeBytes(frame(XsType.READ, 2 * i + 1, "/pipe/" + i + "\0"));
            }
            burst.writeBytes(frame(XsType.READ, 400, "/pipe/missing\0"));
            c.write(burst.toByteArray());
            for (int i = 0; i < 200; i++) {
                XsMessage w = c.read();
                assertThat(w.reqId()).isEqualTo(2 * i);
                assertReply(w, XsType.WRITE, "OK\0");
                XsMessage r = c.read();
                assertThat(r.reqId()).isEqualTo(2 * i + 1);
                assertReply(r, XsType.READ, "v" + i);
            }
            XsMessage last = c.read();
            assertThat(last.reqId()).isEqualTo(400);
            assertError(last, XsError.ENOENT);
        }
    }

    @Test
    void aFrameOfLength4097DropsOnlyThatConnection() throws IOException {
        try (RawSocketClient bad = client(); RawSocketClient good = client()) {
            assertServed(bad, 1);
            bad.writeHeaderAndJunk(XsType.WRITE.code, 4097, 100);
            assertThat(bad.droppedByDaemon()).isTrue();
            assertServed(good, 3);
        }
        try (RawSocketClient edge = client()) {
            // 4096 is still fine: a WRITE whose payload is exactly the maximum.
            String payload = "/max\0" + "v".repeat(4096 - 5);
            XsMessage r = edge.call(XsType.WRITE, 4, payload);
            assertReply(r, XsType.WRITE, "OK\0");
        }
    }

    @Test
    void garbageIsAnsweredOrDropsOnlyTheSender() throws IOException {
        try (RawSocketClient junk = client(); RawSocketClient good = client()) {
            // A header with an unknown type and a small length is a request like any other: ENOSYS.
            junk.write(header(0xdeadbeef, 77, 5, 3));
            junk.write(new byte[] {'x', 'y', 'z'});
            XsMessage r = junk.read();
            assertError(r, XsError.ENOSYS);
            assertThat(r.reqId()).isEqualTo(77);
            assertThat(r.txId()).isEqualTo(5);
            // Text where a header should be announces an absurd length: the sender is dropped.
            junk.write(EngineHarness.bytes("GARBAGE!GARBAGE!GARBAGE!"));
            assertThat(junk.droppedByDaemon()).isTrue();
            assertServed(good, 1);
        }
    }

    @Test
    @DisplayName("a privileged socket client that floods without reading is paused at a bounded backlog")
    void socketFloodWithoutReadingIsBounded() throws Exception {
        int total = 100_000; // far more than the socket buffers, the read buffer and the reply backlog hold
        RawSocketClient flooder = client();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < total; i++) flooder.write(frame(XsType.READ, i, "/\0"));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (RawSocketClient other = client()) {
            // At its reply backlog the daemon stops taking the flooder's requests; the replies its socket still
            // takes go out and it takes requests again, until that socket is full. A look between such a write and
            // the next read sees fewer queued, never more: so the backlog is checked never to be exceeded, and to
            // be full in many looks in a row, each after another client was served (a round of the loop).
            int backlog = XenStoreEngine.PRIVILEGED_REPLY_BACKLOG;
            for (int fullInARow = 0; fullInARow < 20; ) {
                assertServed(other, 1);
                int replies = maxOverConnections(c -> c.queuedReplies());
                int output = maxOverConnections(c -> c.queuedOutput());
                assertThat(replies).as("queued replies").isLessThanOrEqualTo(backlog);
                assertThat(output).as("queued output").isLessThanOrEqualTo(backlog);
                fullInARow = replies == backlog && output == backlog ? fullInARow + 1 : 0;
            }
            // Once the flooder reads, the daemon resumes and every reply arrives, in order.
            for (int i = 0; i < total; i++) {
                XsMessage r = flooder.read();
                assertThat(r.reqId()).isEqualTo(i);
                assertReply(r, XsType.READ, "");
            }
            t.join();
            assertServed(flooder, total);
            assertThat(maxOverConnections(c -> c.queuedReplies())).isZero();
        } finally {
            flooder.close();
        }
    }

    @Test
    @DisplayName("an unprivileged in-process client that floods without reading is held to its outstanding quota")
    void inProcessFloodWithoutReadingIsBounded() throws Exception {
        int total = 2_000;
        XsChannel flooder = server.connectInProcess(5);
        AtomicInteger sent = new AtomicInteger();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < total; i++) {
                    flooder.send(XsMessage.of(XsType.READ, i, 0, EngineHarness.bytes("/\0")));
                    sent.incrementAndGet();
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        int limit = Quota.OUTSTANDING.defaultValue;
        // What may exist at all: the connection's two bounded queues (256 each) plus the outstanding quota.
        int bound = 2 * 256 + limit + 1;
        try (XsChannel dom0 = server.connectInProcess(0)) {
            awaitOnLoop(() -> sent.get() >= bound - limit - 2 && server.onLoop(e -> e.usage(5, Quota.OUTSTANDING)) == limit);
            dom0.send(XsMessage.of(XsType.WRITE, 3, 0, EngineHarness.bytes("/still\0here")));
            assertReply(dom0.receive(), XsType.WRITE, "OK\0");
            assertThat(sent.get()).isLessThanOrEqualTo(bound);
            long outstanding = server.onLoop(e -> e.usage(5, Quota.OUTSTANDING));
            int queued = server.onLoop(e -> e.connections().stream().filter(c -> c.domid == 5).mapToInt(c -> c.queuedOutput()).sum());
            assertThat(outstanding).isLessThanOrEqualTo(limit);
            assertThat(queued).isLessThanOrEqualTo(limit);
            // Reading resumes the flow: every request is answered, in order.
            for (int i = 0; i < total; i++) {
                XsMessage r = flooder.receive();
                assertThat(r.reqId()).isEqualTo(i);
                assertError(r, XsError.EACCES);
            }
            t.join();
        } finally {
            flooder.close();
        }
    }

    @Test
    void socketClientsArePrivilegedDomain0() throws IOException {
        try (RawSocketClient c = client()) {
            assertReply(c.call(XsType.INTRODUCE, 1, "3\0" + "1\0" + "1\0"), XsType.INTRODUCE, "OK\0");
            assertReply(c.call(XsType.GET_PERMS, 2, "/\0"), XsType.GET_PERMS, "n0\0");
            assertReply(c.call(XsType.WRITE, 3, "rel\0v"), XsType.WRITE, "OK\0");
            assertReply(c.call(XsType.READ, 4, "/local/domain/0/rel\0"), XsType.READ, "v");
        }
    }

    @Test
    void anOversizedInProcessFrameClosesOnlyThatChannel() throws IOException {
        XsChannel bad = server.connectInProcess(5);
        try (XsChannel good = server.connectInProcess(5)) {
            byte[] huge = EngineHarness.bytes("/x\0" + "v".repeat(4094));
            assertThatThrownBy(() -> bad.send(XsMessage.of(XsType.WRITE, 1, 0, huge))).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> bad.send(XsMessage.of(XsType.READ, 2, 0, EngineHarness.bytes("/\0"))))
                    .isInstanceOf(java.io.EOFException.class);
            good.send(XsMessage.of(XsType.GET_DOMAIN_PATH, 3, 0, EngineHarness.bytes("5\0")));
            assertReply(good.receive(), XsType.GET_DOMAIN_PATH, "/local/domain/5\0");
        }
    }

    @Test
    void closeRemovesTheSocketFile() throws IOException {
        Path socket = server.socketPath();
        assertThat(Files.exists(socket)).isTrue();
        try (RawSocketClient c = client()) {
            assertServed(c, 1);
        }
        server.close();
        assertThat(Files.exists(socket)).isFalse();
    }
}
