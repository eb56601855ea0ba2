package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.List;
import org.jxen.cli.JxenCommand;
import org.jxen.cli.XlResult;
import org.jxen.hypervisor.GrantTable;
import org.jxen.kernel.userland.GuestExec;
import org.jxen.testing.PidsCgroup;
import org.jxen.toolstack.DeviceSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * No silent limits: each resource a host can run out of is exhausted on purpose, and the one device or domain
 * that asked fails with Xen's errno where a toolstack looks (the device's {@code error} node, xl's output), while
 * the guests that already run keep working.
 */
@Timeout(300)
class ResourceLimitsTest extends SystemFixture {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final List<Process> hosts = new ArrayList<>();

    @AfterEach
    void killHosts() {
        for (Process p : hosts) p.destroyForcibly();
    }

    private Path image(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        return p;
    }

    private String read(String path) throws IOException {
        return host.xenstore().readOrNull(path);
    }

    private void awaitConnected(int domid, String kind, int devid) {
        await().atMost(WAIT).until(() -> "4".equals(read("/local/domain/" + domid + "/device/" + kind + "/" + devid + "/state"))
                && "4".equals(read("/local/domain/0/backend/" + kind + "/" + domid + "/" + devid + "/state")));
    }

    @Test
    void aGuestOutOfGrantEntriesFailsItsDiskWithEnospcAndAnotherGuestsDiskConnects() throws Exception {
        // blkfront grants its buffer pool (1056 pages) at connect: four grant frames (2040 refs) hold one disk's.
        int small = create("small", "inproc = 1", "memory = 32", "max_grant_frames = 4");
        int other = create("other", "inproc = 1", "memory = 16");
        assertThat(xl("block-attach", "small", image("a.img") + ",raw,xvda,w").code()).isZero();
        awaitConnected(small, "vbd", 51712);
        XlResult b = xl("block-attach", "small", image("b.img") + ",raw,xvdb,w");
        assertThat(b.code()).as(b.err()).isZero();
        String error = "/local/domain/" + small + "/error/device/vbd/51728/error";
        await().atMost(WAIT).until(() -> read(error) != null);
        assertThat(read(error)).startsWith("28 ").contains("max_grant_frames reached: 4 frames, 2048 entries");
        assertThat(read("/local/domain/" + small + "/device/vbd/51728/state")).isIn("5", "6");
        assertThat(dmesgUntil("small", l -> l.contains("device/vbd/51728: 28 setting up the rings: ENOSPC: max_grant_frames")))
                .isNotEmpty();
        // The disk that connected before works on.
        XlResult sum = xl("exec", "small", "--", "sha256sum", "/dev/xvda");
        assertThat(sum.code()).as(sum.err()).isZero();
        assertThat(sum.out()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(new byte[8 << 20])) + "  /dev/xvda\n");

        assertThat(xl("block-attach", "other", image("c.img") + ",raw,xvda,w").code()).isZero();
        awaitConnected(other, "vbd", 51712);
    }

    @Test
    void aGuestOutOfFramesFailsItsDiskWithEnomem() throws Exception {
        int small = create("tiny", "inproc = 1", "memory = 4");
        assertThat(xl("block-attach", "tiny", image("a.img") + ",raw,xvda,w").code()).isZero();
        String error = "/local/domain/" + small + "/error/device/vbd/51712/error";
        await().atMost(WAIT).until(() -> read(error) != null);
        assertThat(read(error)).startsWith("12 ").contains("out of memory: all 1024 frames of the domain are in use");
        // The guest itself runs on: its exec agent answers.
        XlResult lsmod = xl("exec", "tiny", "--", "lsmod");
        assertThat(lsmod.code()).as(lsmod.err()).isZero();
    }

    @Test
    void dom0OutOfMaptrackHandlesFailsTheDevicesPastItWithEnospcAndTheConnectedOnesWorkOn() throws Exception {
        // One maptrack frame: 256 grant mappings for dom0 (xenstored's and xenconsoled's two per guest included).
        host.setDom0GrantLimits(GrantTable.MAX_FRAMES, 1);
        int[] guests = new int[4];
        for (int i = 0; i < guests.length; i++) guests[i] = create("m" + i, "inproc = 1", "drivers = ['mydevicefront']");
        // 280 devices in all; per guest well below xenstored's quotas (128 watches, each frontend watching its
        // backend's state; 1000 nodes, about 8 a device)
        int perGuest = 70;
        List<Future<?>> adds = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            // One attach at a time per guest (they share its device directory), the guests in parallel.
            for (int g : guests) {
                adds.add(pool.submit(() -> {
                    for (int id = 0; id < perGuest; id++) host.libxl().addDevice(g, new DeviceSpec("mydevice", id, 0));
                    return null;
                }));
            }
            for (Future<?> f : adds) f.get();
        }
        List<String> failed = new ArrayList<>();
        int connected = 0;
        for (int g : guests) {
            for (int id = 0; id < perGuest; id++) {
                String be = "/local/domain/0/backend/mydevice/" + g + "/" + id;
                String error = "/local/domain/0/error/backend/mydevice/" + g + "/" + id + "/error";
                String frontError = "/local/domain/" + g + "/error/device/mydevice/" + id + "/error";
                await().atMost(WAIT).until(() -> "4".equals(read(be + "/state")) || read(error) != null
                        || read(frontError) != null);
                assertThat(read(frontError)).as("the frontend of " + g + "/" + id).isNull();
                if (read(error) != null) {
                    assertThat(read(error)).startsWith("28 ").contains("no maptrack handle left");
                    failed.add(g + "/" + id);
                } else {
                    connected++;
                }
            }
        }
        assertThat(failed).isNotEmpty();
        assertThat(connected).isBetween(GrantTable.MAPTRACK_PER_FRAME - 2 * guests.length - 8, GrantTable.MAPTRACK_PER_FRAME);
        // A connected device's detach gives its handle back; a failed device attached again then connects.
        int g0 = guests[0];
        int freed = -1;
        for (int id = 0; id < perGuest && freed < 0; id++) {
            if ("4".equals(read("/local/domain/0/backend/mydevice/" + g0 + "/" + id + "/state"))) freed = id;
        }
        assertThat(xl("device-detach", "m0", "mydevice", Integer.toString(freed)).code()).isZero();
        String[] again = failed.getFirst().split("/");
        int g = Integer.parseInt(again[0]);
        int id = Integer.parseInt(again[1]);
        String name = "m" + java.util.Arrays.stream(guests).boxed().toList().indexOf(g);
        assertThat(xl("device-detach", name, "mydevice", again[1]).code()).isZero();
        assertThat(xl("device-attach", name, "mydevice", again[1]).code()).isZero();
        awaitConnected(g, "mydevice", id);
    }

    /** A {@code jxen host} process of its own, with the limits {@code prefix} (a command) or {@code javaOpts} set. */
    private Path startHost(List<String> prefix, String javaOpts) throws Exception {
        Path run = dir.resolve("limited");
        Path log = dir.resolve("limited.log");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED"));
        if (javaOpts != null) cmd.add(javaOpts);
        cmd.addAll(List.of("-cp", org.jxen.testing.ClassesJar.classPath(dir.resolve("jxen-classes.jar")), JxenCommand.class.getName(), "host",
                "--run-dir", run.toString(), "--bridge", "none"));
        Process p = new ProcessBuilder(org.jxen.testing.OwnNetns.wrap(cmd)).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        hosts.add(p);
        await().atMost(WAIT).until(() -> !p.isAlive() || Files.readString(log).contains("jxen host: xenstored on "));
        assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
        return run;
    }

    /** {@code jxen xl -H RUN args} as its own process, as a user runs it: its descriptors go when it exits. */
    private static XlResult xlProcess(Path run, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                JxenCommand.class.getName(), "xl", "-H", run.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        return new XlResult(p.waitFor(), new String(out), new String(err));
    }

    /** Creates in-process guests g1, g2 ... on {@code run} until one fails; that one's xl output. */
    private XlResult createUntilRefused(Path run, int most) throws Exception {
        for (int i = 1; i <= most; i++) {
            Path cfg = Files.writeString(dir.resolve("g" + i + ".cfg"), "name = 'g" + i + "'\nmemory = 2\ninproc = 1\n");
            XlResult r = xlProcess(run, "create", cfg.toString());
            if (r.code() != 0) {
                assertThat(i).as("some guests were created first").isGreaterThan(1);
                return r;
            }
        }
        throw new AssertionError("no guest of " + most + " was refused");
    }

    private static void stillRuns(Path run) {
        XlResult list = XlResult.run(run, "list");
        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out()).contains("g1 ");
        XlResult exec = XlResult.run(run, "exec", "g1", "--", "lsmod");
        assertThat(exec.code()).as(exec.err()).isZero();
    }

    @Test
    void aHostOutOfFileDescriptorsRefusesTheNextGuestAndTheOthersRunOn() throws Exception {
        Path run = startHost(List.of("prlimit", "--nofile=70:70"), null);
        XlResult refused = createUntilRefused(run, 400);
        // xl's error says what ran out. Where the descriptors run out decides the words: a file the hypervisor
        // opens, a class the JVM loads for the first time (both on xl's first line), or the guest's first notify
        // of xenstored, which cannot map dom0's event page (the guest's kernel panics and xl prints its console).
        String first = refused.err().lines().filter(l -> !l.startsWith("Parsing config")).findFirst().orElse("");
        assertThat(first).as(Files.readString(dir.resolve("limited.log"))).startsWith("libxl: error: ");
        assertThat(refused.err()).containsAnyOf("Too many open files", "(is the process out of file descriptors?)");
        stillRuns(run);
    }

    @Test
    void aHostOutOfThreadsRefusesTheNextGuestWithEagainAndItsGuestsCommandsFailUntilThreadsAreFree() throws Exception {
        // A host's first 64 in-process guests take a platform event thread each; later ones a place with a futex
        // poller, which takes a platform thread every two guests here (docs/hypervisor.md, "Virtual event
        // threads"): either way the limit is reached.
        Path run = startHost(List.of(), "-Djxen.eventPollerWords=2");
        Process host = hosts.getLast();
        try (PidsCgroup pids = PidsCgroup.create("jxen-test-" + host.pid())) {
            pids.add(host.pid());
            pids.limit(pids.current() + 20);
            XlResult refused = createUntilRefused(run, 400);
            List<String> lines = refused.err().lines().filter(l -> !l.startsWith("Parsing config")).toList();
            assertThat(lines.getFirst()).as(Files.readString(dir.resolve("limited.log"))).startsWith("libxl: error: ")
                    .contains("crashed while booting (kernel panic: cannot start ").contains("(EAGAIN)");
            // Not one thread more: a command in a running guest needs one, and fails as a shell's does (126).
            pids.limit(pids.current());
            XlResult exec = XlResult.run(run, "exec", "g1", "--", "lsmod");
            assertThat(exec.code()).as(exec.out() + exec.err()).isEqualTo(GuestExec.CANNOT_START);
            assertThat(exec.err()).startsWith("exec: cannot start the command: EAGAIN (");
            // Threads to spare again: the same command runs, the guests are all there.
            pids.limit(pids.current() + 40);
            stillRuns(run);
            assertThat(host.isAlive()).isTrue();
        }
    }

    @Test
    void aHostOutOfMappingsRefusesTheNextGuestWithEnomemAndTheOthersRunOn() throws Exception {
        Path run = startHost(List.of(), "-Djxen.maxMappings=60");
        XlResult refused = createUntilRefused(run, 100);
        List<String> lines = refused.err().lines().filter(l -> !l.startsWith("Parsing config")).toList();
        assertThat(lines.getFirst()).startsWith("libxl: error: ")
                // Whichever mapping of the new guest's is the first over budget (a domain file, a grant the
                // console daemon maps, dom0's event page the booting guest maps to notify xenstored), the line
                // says ENOMEM and why.
                .containsAnyOf("Cannot allocate memory (no mapping left: ", "ENOMEM (no mapping left: ",
                        "ENOMEM: cannot map d0's event page: no mapping left: ")
                .contains("no mapping left: jxen's 60 mappings are in use");
        // A guest that panicked while booting: xl shows its last console lines after the error, indented.
        assertThat(lines.subList(1, lines.size())).allSatisfy(l -> assertThat(l).startsWith("    "));
        stillRuns(run);
    }

    @Test
    void theHostSaysWhatItCanHold() throws Exception {
        Path run = startHost(List.of("prlimit", "--nofile=512:4096"), null);
        String out = Files.readString(dir.resolve("limited.log"));
        assertThat(out).containsPattern("jxen host: room for about [0-9]+ in-process guests of 16 MiB with 1 device each "
                + "\\(first limit: [a-z. _]+\\): dom0 ports 131071 -> 43690, memory [0-9]+ MiB -> [0-9]+, open files 4096 -> [0-9]+, "
                + "vm.max_map_count [0-9]+ -> [0-9]+, threads [0-9]+ free -> [0-9]+\n");
        assertThat(run.resolve("xenstored/socket")).exists();
    }
}
