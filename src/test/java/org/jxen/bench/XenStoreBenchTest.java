package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.cli.JxenCommand;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench against a fake xenstored; no timing assertions, only that everything is run, counted and reported. */
class XenStoreBenchTest {
    @TempDir
    Path dir;

    private FakeXenStored fake;

    @AfterEach
    void stop() throws IOException {
        if (fake != null) fake.close();
    }

    @Test
    void everyWorkloadRunsWithoutErrorsAgainstAnAlwaysOkDaemon() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), null);
        var config = new XenStoreBench.Config(fake.socket, List.of(1, 2), 2, 0.2, 0.05, XenStoreBench.WORKLOADS);
        List<BenchResult> results = new XenStoreBench(config, new PrintStream(new ByteArrayOutputStream())).run();

        assertThat(results).extracting(r -> r.workload() + "/" + r.conns()).containsExactly(
                "write/1", "write/2", "read/1", "read/2", "directory/1", "directory/2",
                "transaction/1", "transaction/2", "watch/1", "echo-floor/1");
        assertThat(results).allSatisfy(r -> {
            assertThat(r.ops()).as(r.workload()).isPositive();
            assertThat(r.errors()).as(r.workload() + " " + r.errorKinds()).isZero();
            assertThat(r.p99Nanos()).isGreaterThanOrEqualTo(r.p50Nanos());
        });
        String table = BenchResult.markdown(results);
        assertThat(table).startsWith("| workload | conns | pipeline | ops/s | p50 us | p99 us |");
        for (BenchResult r : results) assertThat(table).contains("| " + r.workload() + " | " + r.conns() + " | " + r.pipeline() + " |");
        assertThat(fake.removedBench).as("RM /bench before and after").isGreaterThanOrEqualTo(2);
    }

    @Test
    void errorRepliesAreCountedByName() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), "ENOSPC");
        var config = new XenStoreBench.Config(fake.socket, List.of(1), 1, 0.1, 0.05, List.of("write"));
        BenchResult r = new XenStoreBench(config, new PrintStream(new ByteArrayOutputStream())).run().getFirst();

        assertThat(r.ops()).isZero();
        assertThat(r.errors()).isPositive();
        assertThat(r.errorKinds()).containsOnlyKeys("ENOSPC");
        assertThat(BenchResult.markdown(List.of(r))).contains("errors in write conns=1 pipeline=1: {ENOSPC=");
    }

    @Test
    void commandPrintsTheTableAndWritesJsonLines() throws IOException {
        fake = new FakeXenStored(dir.resolve("socket"), null);
        Path json = dir.resolve("out.json");
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            exit = JxenCommand.commandLine().execute("bench", "xenstore", "--socket", fake.socket.toString(),
                    "--conns", "1", "--seconds", "0.1", "--warmup", "0.05", "--workloads", "read,echo-floor",
                    "--json", json.toString());
        } finally {
            System.setOut(stdout);
        }
        assertThat(exit).isZero();
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("| read | 1 | 1 |", "| echo-floor | 1 | 1 |");
        assertThat(Files.readAllLines(json)).hasSize(2).allSatisfy(l -> assertThat(l).startsWith("{\"workload\":"));
    }

    /**
     * Answers every request with an OK reply of the request's type (or with {@code failWrites} for WRITE), except
     * what the bench needs to go on: a transaction id for TRANSACTION_START, and watch events for WATCH and for
     * writes under a watched path, sent to the watching connection.
     */
    static final class FakeXenStored implements AutoCloseable {
        final Path socket;
        final String failWrites;
        final ServerSocketChannel server;
        final Map<SocketChannel, String[]> watches = new ConcurrentHashMap<>();
        volatile int removedBench;

        FakeXenStored(Path socket, String failWrites) throws IOException {
            this.socket = socket;
            this.failWrites = failWrites;
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (true) {
                        SocketChannel ch = server.accept();
                        Thread.ofPlatform().daemon().start(() -> serve(ch));
                    }
                } catch (IOException closed) {
                    // close() ends the accept loop.
                }
            });
        }

        private void serve(SocketChannel ch) {
            ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            try (ch) {
                while (true) {
                    header.clear();
                    if (!readFully(ch, header)) return;
                    int type = header.getInt(0), reqId = header.getInt(4), txId = header.getInt(8);
                    ByteBuffer payload = ByteBuffer.allocate(header.getInt(12));
                    if (!readFully(ch, payload)) return;
                    XsMessage request = new XsMessage(type, reqId, txId, payload.array());
                    answer(ch, request);
                }
            } catch (IOException gone) {
                // Client closed.
            } finally {
                watches.remove(ch);
            }
        }

        private void answer(SocketChannel ch, XsMessage request) throws IOException {
            List<String> args = Payloads.split(request.payload());
            if (request.type() == XsType.WATCH.code) {
                watches.put(ch, new String[] {args.get(0), args.get(1)});
                send(ch, request.reply(Payloads.OK));
                send(ch, XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(args.get(0), args.get(1))));
                return;
            }
            if (request.type() == XsType.WRITE.code && failWrites != null) {
                send(ch, new XsMessage(XsType.ERROR.code, request.reqId(), request.txId(), Payloads.strings(failWrites)));
                return;
            }
            if (request.type() == XsType.RM.code && args.getFirst().equals("/bench")) removedBench++;
            byte[] reply = request.type() == XsType.TRANSACTION_START.code ? Payloads.strings("1") : Payloads.OK;
            send(ch, request.reply(reply));
            if (request.type() == XsType.WRITE.code) {
                String path = args.getFirst();
                watches.forEach((watcher, w) -> {
                    if (path.startsWith(w[0] + "/")) {
                        try {
                            send(watcher, XsMessage.of(XsType.WATCH_EVENT, 0, 0, Payloads.strings(path, w[1])));
                        } catch (IOException gone) {
                            // The watcher went away; its own thread cleans up.
                        }
                    }
                });
            }
        }

        private static void send(SocketChannel ch, XsMessage m) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(m.toBytes());
            synchronized (ch) { // a watcher's events come from writers' threads
                while (b.hasRemaining()) ch.write(b);
            }
        }

        private static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) return false;
            }
            return true;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
