package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * {@code jxen xenstored} as its own process, with the JVM options {@code ./jxen} gives it (jvm.options), under
 * a long randomised load: tens of thousands of requests from several clients, watches set and removed,
 * transactions aborted, malformed frames that make the daemon drop their sender, and two clients that never
 * read a reply or an event (XSA-326). The daemon must stay within 64 MB resident (VmRSS) at every sample,
 * its resident size must stay flat once warmed up, and the non-reading clients must be held to their
 * per-connection bounds (paused input, capped event queue) while everyone else is still served.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class XenstoredProcessMemoryTest {
    static final long RSS_LIMIT_KB = 64 * 1024;
    /** Growth allowed between the first sample after warm-up and the last: the JIT and heap settle early. */
    static final long FLAT_MARGIN_KB = 8 * 1024;

    /** The environment ./jxen gives xenstored (glibc malloc settings, see the launcher). */
    static final java.util.Map<String, String> DAEMON_ENV = java.util.Map.of("MALLOC_ARENA_MAX", "2");

    @TempDir
    Path dir;
    private Process daemon;

    @AfterEach
    void stop() throws InterruptedException {
        if (daemon != null) {
            daemon.destroy();
            daemon.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The options jvm.options gives the command, unless -Djxen.test.xenstored.jvmopts overrides (to measure). */
    static List<String> jvmOptions(String command) throws IOException {
        String override = System.getProperty("jxen.test." + command + ".jvmopts");
        if (override != null) return override.isBlank() ? List.of() : List.of(override.trim().split("\\s+"));
        for (String line : Files.readAllLines(Path.of("jvm.options"))) {
            if (line.startsWith(command + ":")) return List.of(line.substring(command.length() + 1).trim().split("\\s+"));
        }
        return List.of();
    }

    private Path startDaemon() throws IOException {
        Path socket = dir.resolve("socket");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions("xenstored"));
        cmd.addAll(List.of("-cp", daemonClassPath(), "org.jxen.cli.JxenCommand", "xenstored",
                "--socket", socket.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile());
        pb.environment().putAll(DAEMON_ENV);
        for (String kv : System.getProperty("jxen.test.env", "").split("\\s+")) {
            if (kv.contains("=")) pb.environment().put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        daemon = pb.start();
        // The socket file appears at bind(), a moment before listen(): wait until a client gets in.
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50)).until(() -> listening(socket) || !daemon.isAlive());
        assertThat(daemon.isAlive()).as("daemon started; log: %s", dir.resolve("daemon.log")).isTrue();
        return socket;
    }

    /**
     * What {@code ./jxen} puts on the class path (jxen.jar and its runtime library, picocli), here the compiled
     * classes: not the test class path, whose jars the daemon's class loading would open and hold.
     */
    static String daemonClassPath() {
        return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(e -> e.endsWith("target/classes") || e.endsWith("target" + java.io.File.separator + "classes")
                        || Path.of(e).getFileName().toString().startsWith("picocli-"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private static boolean listening(Path socket) {
        if (!Files.exists(socket)) return false;
        try (RawSocketClient _ = new RawSocketClient(socket)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Idle clients cost the daemon no buffer of their own: with one 64 KiB output buffer each, the 12 MB heap of
     * jvm.options held fewer than 200, and the event loop died of OutOfMemoryError with the process still up.
     */
    @Test
    void twoThousandIdleClientsFitTheHeapAndABusyOneIsServed() throws Exception {
        org.jxen.libc.Rlimits.raiseSoftToHard(org.jxen.libc.Rlimits.RLIMIT_NOFILE);
        Path socket = startDaemon();
        List<RawSocketClient> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 2000; i++) {
                RawSocketClient c = new RawSocketClient(socket);
                idle.add(c);
                XsMessage reply = c.call(XsType.GET_DOMAIN_PATH, i, "0\0");
                assertThat(reply.type()).as("client %d", i).isEqualTo(XsType.GET_DOMAIN_PATH.code);
            }
            try (RawSocketClient busy = new RawSocketClient(socket)) {
                for (int i = 0; i < 1000; i++) {
                    assertThat(busy.call(XsType.WRITE, i, "/idle/k" + (i % 10) + "\0v" + i).type()).isEqualTo(XsType.WRITE.code);
                    XsMessage read = busy.call(XsType.READ, i, "/idle/k" + (i % 10) + "\0");
                    assertThat(new String(read.payload(), StandardCharsets.US_ASCII)).isEqualTo("v" + i);
                }
            }
            assertThat(rssKb(daemon.pid())).isLessThanOrEqualTo(RSS_LIMIT_KB);
            assertThat(Files.readString(dir.resolve("daemon.log"))).doesNotContain("OutOfMemoryError");
        } finally {
            for (RawSocketClient c : idle) c.close();
        }
    }

    static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    @Test
    void staysUnder64MbAndFlatUnderRandomLoadWithClientsThatNeverRead() throws Exception {
        Path socket = startDaemon();
        long pid = daemon.pid();
        Random rnd = new Random(17);
        List<Long> samples = new ArrayList<>();
        try (RawSocketClient setup = new RawSocketClient(socket)) {
            setup.call(XsType.MKDIR, 1, "/load\0");
        }
        // Clients that never read: each sets a watch on /load (every write below fires it) and pipelines
        // requests it will never read the replies to. The daemon must stop reading them at the backlog and
        // cap their queued events, instead of buffering without bound.
        List<RawSocketClient> silent = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            RawSocketClient s = new RawSocketClient(socket);
            s.write(RawSocketClient.frame(XsType.WATCH, 1, "/load\0silent" + i + "\0"));
            silent.add(s);
        }
        Thread flooders = Thread.ofPlatform().daemon().start(() -> {
            byte[] f = RawSocketClient.frame(XsType.READ, 2, "/load\0");
            try {
                for (int i = 0; i < 4000; i++) for (RawSocketClient s : silent) s.write(f); // blocks once the daemon stops reading us
            } catch (IOException e) {
                // the daemon dropped us: also a bound
            }
        });
        List<RawSocketClient> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) clients.add(new RawSocketClient(socket));
        int requests = 0;
        for (int round = 0, rounds = Integer.getInteger("jxen.test.rounds", 10); round < rounds; round++) {
            for (int i = 0; i < 5_000; i++) {
                int which = rnd.nextInt(clients.size());
                RawSocketClient c = clients.get(which);
                if (!oneRandomRequest(c, rnd, requests)) {
                    c.close();
                    clients.set(which, new RawSocketClient(socket));
                }
                requests++;
            }
            samples.add(rssKb(pid));
            if (Boolean.getBoolean("jxen.test.nmt") && round == 5) nmt(pid);
        }
        // Everyone else was served throughout; the silent clients are still connected and bounded.
        try (RawSocketClient probe = new RawSocketClient(socket)) {
            XsMessage r = probe.call(XsType.CONTROL, 3, "memreport\0" + dir.resolve("memreport") + "\0");
            assertThat(r.payload()).isEqualTo("OK\0".getBytes(StandardCharsets.US_ASCII));
        }
        String report = Files.readString(dir.resolve("memreport"));
        for (String line : report.lines().filter(l -> l.startsWith("socket#") && l.contains("dropped events")).toList()) {
            long queued = Long.parseLong(line.replaceAll(".*queued ([0-9]+).*", "$1"));
            // 1024 replies at most plus the capped event bytes (events of /load|silentN| are ~30 bytes each).
            assertThat(queued).as(line).isLessThanOrEqualTo(1024 + 2 * 1024 * 1024 / 30);
        }
        if (Boolean.getBoolean("jxen.test.nmt")) nmt(pid);
        System.out.printf("xenstored RSS samples (KB) over %d requests: %s%n", requests, samples);
        assertThat(requests).isGreaterThanOrEqualTo(50_000);
        assertThat(samples).allSatisfy(kb -> assertThat(kb).isLessThanOrEqualTo(RSS_LIMIT_KB));
        assertThat(samples.getLast() - samples.get(1)).as("growth after warm-up, samples %s", samples)
                .isLessThanOrEqualTo(FLAT_MARGIN_KB);
        flooders.interrupt();
        for (RawSocketClient s : silent) s.close();
        for (RawSocketClient c : clients) c.close();
    }

    /** Diagnostics for tuning (-Djxen.test.nmt=true, with -XX:NativeMemoryTracking=summary in the options). */
    private static void nmt(long pid) throws Exception {
        Path jcmd = Path.of(ProcessHandle.current().info().command().orElseThrow()).resolveSibling("jcmd");
        for (String what : List.of("GC.heap_info", "GC.class_histogram")) {
            Process h = new ProcessBuilder(jcmd.toString(), Long.toString(pid), what).redirectErrorStream(true).start();
            new String(h.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().limit(25).forEach(System.out::println);
        }
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "VM.native_memory", "summary")
                .redirectErrorStream(true).start();
        System.out.println(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("Rss") || l.startsWith("Vm"))
                .forEach(System.out::println);
    }

    /** One random request (or a transaction, or a malformed frame); false if the daemon dropped the client. */
    private static boolean oneRandomRequest(RawSocketClient c, Random rnd, int n) throws IOException {
        String path = "/load/n" + rnd.nextInt(400) + (rnd.nextBoolean() ? "/c" + rnd.nextInt(8) : "");
        int op = rnd.nextInt(100);
        if (op < 30) {
            byte[] value = new byte[rnd.nextInt(1500)];
            rnd.nextBytes(value);
            return expectReply(c, XsMessage.of(XsType.WRITE, n, 0, concat(path, value)));
        } else if (op < 45) {
            return expectReply(c, req(XsType.READ, n, path + "\0"));
        } else if (op < 52) {
            return expectReply(c, req(XsType.DIRECTORY, n, "/load\0"));
        } else if (op < 60) {
            return expectReply(c, req(XsType.RM, n, path + "\0"));
        } else if (op < 66) {
            return expectReply(c, req(XsType.WATCH, n, path + "\0w" + rnd.nextInt(50) + "\0"));
        } else if (op < 72) {
            return expectReply(c, req(XsType.UNWATCH, n, path + "\0w" + rnd.nextInt(50) + "\0"));
        } else if (op < 78) {
            return expectReply(c, req(XsType.SET_PERMS, n, path + "\0n0\0r" + rnd.nextInt(30) + "\0"));
        } else if (op < 92) {
            // A transaction that writes a few nodes and is aborted.
            XsMessage start = callSkippingEvents(c, req(XsType.TRANSACTION_START, n, "\0"));
            if (start == null) return false;
            String id = new String(start.payload(), StandardCharsets.US_ASCII).replace("\0", "");
            int tx = Integer.parseInt(id);
            for (int k = 0; k < 3; k++) {
                if (!expectReply(c, XsMessage.of(XsType.WRITE, n, tx, concat(path + "/t" + k, new byte[rnd.nextInt(800)])))) return false;
            }
            return expectReply(c, XsMessage.of(XsType.TRANSACTION_END, n, tx, "F\0".getBytes(StandardCharsets.US_ASCII)));
        } else if (op < 96) {
            // Unknown type, bad arguments: answered with an error.
            return expectReply(c, new XsMessage(100 + rnd.nextInt(100), n, 0, new byte[] {'x', 0}));
        } else {
            // An oversized frame: the daemon drops this client.
            c.write(RawSocketClient.header(XsType.WRITE.code, n, 0, 5000 + rnd.nextInt(100_000)));
            return false;
        }
    }

    private static XsMessage req(XsType type, int reqId, String payload) {
        return XsMessage.of(type, reqId, 0, payload.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static byte[] concat(String path, byte[] value) {
        byte[] p = path.getBytes(StandardCharsets.ISO_8859_1);
        return ByteBuffer.allocate(p.length + 1 + value.length).put(p).put((byte) 0).put(value).array();
    }

    private static boolean expectReply(RawSocketClient c, XsMessage m) throws IOException {
        return callSkippingEvents(c, m) != null;
    }

    /** Sends and reads up to the reply (watch events on the way are read and dropped); null if dropped. */
    private static XsMessage callSkippingEvents(RawSocketClient c, XsMessage m) throws IOException {
        c.write(m.toBytes());
        while (true) {
            XsMessage r = c.read();
            if (r == null) return null;
            if (r.type() == XsType.WATCH_EVENT.code) continue;
            assertThat(r.reqId()).isEqualTo(m.reqId());
            return r;
        }
    }
}
