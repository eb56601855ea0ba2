package org.jxen.xenstore.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.fake.FakeXenstored;
import org.jxen.xenstore.fake.MiniStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class XsClientTest {
    @TempDir
    Path dir;

    private FakeXenstored daemon;
    private XsClient client;

    @AfterEach
    void tearDown() throws IOException {
        if (client != null) client.close();
        if (daemon != null) daemon.close();
    }

    private XsClient connect(FakeXenstored.Handler handler) throws IOException {
        daemon = new FakeXenstored(dir, handler);
        client = new XsClient(UnixSocketChannel.connect(daemon.socketPath()));
        return client;
    }

    @Test
    void concurrentRequestsAnsweredInReverseOrderReachTheirCallers() throws Exception {
        // The daemon holds the three READs until all have arrived, then answers the last first.
        List<XsMessage> held = new ArrayList<>();
        XsClient c = connect((conn, m) -> {
            synchronized (held) {
                held.add(m);
                if (held.size() < 3) return;
            }
            for (XsMessage r : held.reversed()) {
                conn.send(r.reply(("value of " + Payloads.cString(r.payload())).getBytes(StandardCharsets.UTF_8)));
            }
        });
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (String path : List.of("/a", "/b", "/c")) {
            results.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return c.readString(path);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, task -> Thread.ofPlatform().daemon().start(task)));
        }
        assertThat(results.get(0).get()).isEqualTo("value of /a");
        assertThat(results.get(1).get()).isEqualTo("value of /b");
        assertThat(results.get(2).get()).isEqualTo("value of /c");
        assertThat(daemon.received).extracting(XsMessage::reqId).doesNotHaveDuplicates().doesNotContain(0);
    }

    @Test
    void rawRequestGetsAFreshNonZeroReqIdAndTheReplyAsSent() throws Exception {
        XsClient c = connect((conn, m) -> conn.send(XsMessage.error(m, XsError.EACCES)));
        XsMessage reply = c.request(XsMessage.of(XsType.READ, 0, 0, Payloads.strings("/x"))).get();
        assertThat(reply.type()).isEqualTo(XsType.ERROR.code);
        assertThat(reply.payload()).isEqualTo(XsError.EACCES.payload());
        assertThat(reply.reqId()).isEqualTo(daemon.received.getFirst().reqId()).isNotZero();
    }

    @Test
    void errorRepliesBecomeTypedExceptions() throws Exception {
        XsClient c = connect(new MiniStore());
        assertThatThrownBy(() -> c.read("/missing")).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.ENOENT));
        assertThat(c.exists("/missing")).isFalse();
        assertThatThrownBy(() -> c.rm("/")).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.EINVAL));
    }

    @Test
    void unknownErrorNamesMapToEinvalAsLibxenstoreDoes() throws Exception {
        XsClient c = connect((conn, m) -> conn.send(new XsMessage(XsType.ERROR.code, m.reqId(), 0,
                Payloads.strings("EWHATEVER"))));
        assertThatThrownBy(() -> c.read("/x")).isInstanceOfSatisfying(XenStoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.EINVAL));
    }

    @Test
    void nodeOperationsRoundTrip() throws Exception {
        XsClient c = connect(new MiniStore());
        c.write("/vm/1/name", "guest");
        c.write("/vm/1/blob", new byte[] {0, 1, 2});
        c.mkdir("/vm/2");
        assertThat(c.readString("/vm/1/name")).isEqualTo("guest");
        assertThat(c.read("/vm/1/blob")).containsExactly(0, 1, 2);
        assertThat(c.directory("/vm")).containsExactly("1", "2");
        c.setPerms("/vm/1", XsPerms.of(XsPerm.of(0, 'n'), XsPerm.of(5, 'r')));
        assertThat(c.getPerms("/vm/1").toString()).isEqualTo("n0 r5");
        c.rm("/vm/1");
        assertThat(c.directory("/vm")).containsExactly("2");
        assertThat(daemon.received.getLast().payload()).isEqualTo(Payloads.strings("/vm"));
    }

    @Test
    void watchEventsReachTheCallbackWhichMayCallTheClient() throws Exception {
        XsClient c = connect(new MiniStore());
        c.write("/w/x", "1");
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        c.watch("/w", "tok", (path, token) -> {
            try {
                // Calling back into the client from the callback must not deadlock the reader.
                seen.add(path + " " + token + " " + (c.exists(path) ? c.readString(path) : "gone"));
            } catch (IOException e) {
                seen.add("failed " + e);
            }
        });
        assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo("/w tok ");
        c.write("/w/x", "2");
        assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo("/w/x tok 2");
        c.unwatch("/w", "tok");
        c.write("/w/x", "3");
        c.write("/other", "sync");
        assertThat(c.readString("/other")).isEqualTo("sync");
        assertThat(seen).isEmpty();
    }

    @Test
    void directWatchRunsOnTheDeliveringThreadBeforeLaterRepliesAndSurvivesAFaultyCallback() throws Exception {
        XsClient c = connect(new MiniStore());
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        c.watchDirect("/d", "direct", (path, token) -> {
            seen.add(path + " on " + Thread.currentThread().getName());
            if (path.equals("/d/boom")) throw new IllegalStateException("faulty callback");
        });
        // Events precede the replies that follow them in the stream, and a direct callback runs as its event is
        // delivered: once the READ has answered, every earlier event has been handled, with no waiting.
        c.write("/d/boom", "1");
        c.write("/d/x", "2");
        assertThat(c.readString("/d/x")).isEqualTo("2");
        assertThat(seen).containsExactly("/d on xs-client-reader", "/d/boom on xs-client-reader",
                "/d/x on xs-client-reader");
    }

    @Test
    void eventsAreRoutedByToken() throws Exception {
        XsClient c = connect(new MiniStore());
        BlockingQueue<String> a = new LinkedBlockingQueue<>();
        BlockingQueue<String> b = new LinkedBlockingQueue<>();
        c.watch("/a", "ta", (p, t) -> a.add(p));
        c.watch("/", "tb", (p, t) -> b.add(p));
        c.write("/a/1", "x");
        assertThat(a.poll(10, TimeUnit.SECONDS)).isEqualTo("/a");
        assertThat(a.poll(10, TimeUnit.SECONDS)).isEqualTo("/a/1");
        assertThat(b.poll(10, TimeUnit.SECONDS)).isEqualTo("/");
        assertThat(b.poll(10, TimeUnit.SECONDS)).isEqualTo("/a/1");
    }

    @Test
    void transactionHelperRerunsTheWholeBodyOnEagain() throws Exception {
        MiniStore store = new MiniStore();
        XsClient c = connect(store);
        c.write("/counter", "41");
        store.conflictsToReport.set(2);
        AtomicInteger runs = new AtomicInteger();
        String result = c.transaction(tx -> {
            runs.incrementAndGet();
            int v = Integer.parseInt(tx.readString("/counter"));
            tx.write("/counter", Integer.toString(v + 1));
            return "ran with tx " + tx.id();
        });
        assertThat(runs).hasValue(3);
        assertThat(store.commits).hasValue(3);
        assertThat(result).isEqualTo("ran with tx 3");
        // MiniStore applies writes at once, so each of the three runs incremented.
        assertThat(c.readString("/counter")).isEqualTo("44");
    }

    @Test
    void transactionHelperGivesUpAfterBoundedAttempts() throws Exception {
        MiniStore store = new MiniStore();
        XsClient c = connect(store);
        store.conflictsToReport.set(1000);
        AtomicInteger runs = new AtomicInteger();
        assertThatThrownBy(() -> c.transaction(tx -> runs.incrementAndGet()))
                .isInstanceOfSatisfying(XenStoreException.class, e -> assertThat(e.error()).isEqualTo(XsError.EAGAIN));
        assertThat(runs).hasValue(XsClient.MAX_TRANSACTION_ATTEMPTS);
    }

    @Test
    void failingBodyAbortsTheTransaction() throws Exception {
        XsClient c = connect(new MiniStore());
        assertThatThrownBy(() -> c.transaction(tx -> tx.read("/missing")))
                .isInstanceOfSatisfying(XenStoreException.class, e -> assertThat(e.error()).isEqualTo(XsError.ENOENT));
        XsMessage end = daemon.received.getLast();
        assertThat(end.type()).isEqualTo(XsType.TRANSACTION_END.code);
        assertThat(end.payload()).isEqualTo(Payloads.strings("F"));
        assertThat(end.txId()).isEqualTo(1);
    }

    @Test
    void pendingRequestsFailWhenTheClientCloses() throws Exception {
        XsClient c = connect((conn, m) -> { }); // never answers
        CompletableFuture<XsMessage> reply = c.request(XsMessage.of(XsType.READ, 0, 0, Payloads.strings("/x")));
        c.close();
        assertThatThrownBy(reply::get).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IOException.class);
        assertThatThrownBy(() -> c.read("/x")).isInstanceOf(IOException.class);
        assertThat(c.isOpen()).isFalse();
    }

    @Test
    void pendingRequestsFailWithEofWhenTheDaemonHangsUp() throws Exception {
        XsClient c = connect((conn, m) -> conn.close());
        assertThatThrownBy(() -> c.read("/x")).isInstanceOf(EOFException.class);
    }

    @Test
    void bigDirectoriesAreFetchedInPartsRestartingOnGenerationChange() throws Exception {
        AtomicInteger partCalls = new AtomicInteger();
        XsClient c = connect((conn, m) -> {
            if (m.type() == XsType.DIRECTORY.code) {
                conn.send(XsMessage.error(m, XsError.E2BIG));
                return;
            }
            String offset = Payloads.split(m.payload()).get(1);
            int call = partCalls.incrementAndGet();
            // First pass: generation 7 then 8 (a change: start again); second pass: 8 throughout.
            String gen = call == 1 ? "7" : "8";
            byte[] names = offset.equals("0") ? Payloads.strings("a", "b") : Payloads.strings("c", "");
            conn.send(m.reply(concat(Payloads.strings(gen), names)));
        });
        assertThat(c.directory("/big")).containsExactly("a", "b", "c");
        assertThat(partCalls).hasValue(4);
        assertThat(daemon.received.get(1).payload()).isEqualTo(Payloads.strings("/big", "0"));
        assertThat(daemon.received.get(2).payload()).isEqualTo(Payloads.strings("/big", "4"));
    }

    @Test
    void domainAndControlRequestsUseTheWireFormat() throws Exception {
        XsClient c = connect((conn, m) -> conn.send(switch (XsType.of(m.type())) {
            case GET_DOMAIN_PATH -> m.reply(Payloads.strings("/local/domain/" + Payloads.cString(m.payload())));
            case IS_DOMAIN_INTRODUCED -> m.reply(Payloads.strings("F"));
            case CONTROL -> m.reply(Payloads.strings("help text"));
            default -> m.reply(Payloads.OK);
        }));
        assertThat(c.getDomainPath(7)).isEqualTo("/local/domain/7");
        assertThat(c.isDomainIntroduced(7)).isFalse();
        c.introduce(7, 0xfeffeL, 3);
        assertThat(daemon.received.getLast().payload()).isEqualTo(Payloads.strings("7", "1044478", "3"));
        c.setTarget(8, 7);
        assertThat(daemon.received.getLast().payload()).isEqualTo(Payloads.strings("8", "7"));
        assertThat(Payloads.cString(c.control("help"))).isEqualTo("help text");
        c.resetWatches();
        assertThat(daemon.received.getLast().type()).isEqualTo(XsType.RESET_WATCHES.code);
        assertThat(daemon.received.getLast().payload()).isEmpty();
    }

    @Test
    void framesSplitAnywhereAreReassembled() throws Exception {
        XsClient c = connect((conn, m) -> {
            // The reply, then a watch event, delivered in 3-byte pieces: header and payload boundaries fall
            // mid-write.
            byte[] reply = m.reply("value".getBytes(StandardCharsets.US_ASCII)).toBytes();
            byte[] event = XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings("/p", "t")).toBytes();
            byte[] both = new byte[reply.length + event.length];
            System.arraycopy(reply, 0, both, 0, reply.length);
            System.arraycopy(event, 0, both, reply.length, event.length);
            for (int i = 0; i < both.length; i += 3) {
                conn.sendRaw(java.util.Arrays.copyOfRange(both, i, Math.min(both.length, i + 3)));
            }
        });
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        c.watch("/p", "t", (p, t) -> events.add(p + "|" + t));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("/p|t");
        assertThat(c.readString("/x")).isEqualTo("value");
    }

    @Test
    void locatorFollowsLibxenstoreRule() {
        assertThat(XsLocator.socketPath(Map.of("XENSTORED_PATH", "/x/s", "XENSTORED_RUNDIR", "/r")))
                .isEqualTo(Path.of("/x/s"));
        assertThat(XsLocator.socketPath(Map.of("XENSTORED_RUNDIR", "/r"))).isEqualTo(Path.of("/r/socket"));
        assertThat(XsLocator.socketPath(Map.of())).isEqualTo(Path.of("/var/run/xenstored/socket"));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
