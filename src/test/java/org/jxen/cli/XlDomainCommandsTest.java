package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** xl's domain commands through the CLI against a host started here: list, pause, shutdown, reboot, ... */
@Timeout(180)
class XlDomainCommandsTest extends XlHostFixture {

    private Path cfg(String name, String text) throws Exception {
        Path p = dir.resolve(name + ".cfg");
        Files.writeString(p, text);
        return p;
    }

    /** Creates an in-process guest (or one in its own JVM) and returns its domain id. */
    private int create(String name, String extra) throws Exception {
        return createGuest(name, "memory = 32\n" + extra);
    }

    private static CompletableFuture<XlResult> async(java.util.function.Supplier<XlResult> r) {
        return CompletableFuture.supplyAsync(r, task -> Thread.ofPlatform().daemon().start(task));
    }

    @Test
    void listPrintsEachDomainAsXlDoesAndOneWhenNamed() throws Exception {
        int id = create("g1", "inproc = 1\n");
        XlResult list = xl("list");
        assertThat(list.code()).isZero();
        String[] rows = list.out().split("\n");
        assertThat(rows).hasSize(3);
        assertThat(rows[0]).isEqualTo("Name                                        ID   Mem VCPUs\tState\tTime(s)");
        XlRow dom0 = XlRow.parse(rows[1]);
        assertThat(dom0.name()).isEqualTo("Domain-0");
        assertThat(dom0.id()).isZero();
        // dom0 is the host's JVM: its memory is what the process holds, its time what it used.
        assertThat(dom0.mem()).isGreaterThan(16);
        assertThat(dom0.time()).isGreaterThan(0.0);
        assertThat(dom0.runningOrBlocked()).as(dom0.state()).isTrue();
        XlRow g1 = XlRow.parse(rows[2]);
        assertThat(g1).extracting(XlRow::name, XlRow::id, XlRow::mem, XlRow::vcpus).containsExactly("g1", id, 32L, 1);
        assertThat(g1.runningOrBlocked()).as(g1.state()).isTrue();

        for (String dom : List.of("g1", Integer.toString(id))) {
            XlResult one = xl("list", dom);
            assertThat(one.code()).isZero();
            assertThat(one.out().split("\n")).hasSize(2);
            assertThat(XlRow.of(one.out(), "g1").id()).isEqualTo(id);
        }
        XlResult two = xl("list", "g1", "Domain-0");
        assertThat(two.code()).as("xl list takes one domain").isEqualTo(1);
        assertThat(two.out()).isEqualTo(XlCmdTable.help("list"));
        assertThat(xl("list", "nosuch")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
    }

    @Test
    void timeIsTheCpuTimeTheGuestUsedAndRWhileItsCodeRuns() throws Exception {
        int id = create("busy", "inproc = 1\n");
        Path big = dir.resolve("big.img");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        double before = XlRow.of(xl("list").out(), "busy").time();
        CompletableFuture<XlResult> hash = async(() -> xl("exec", "busy", "--", "sha256sum", big.toString()));
        Await.until("busy shown running while it hashes", () -> XlRow.of(xl("list", "busy").out(), "busy").state()
                .equals("r-----") || hash.isDone(), 60);
        assertThat(hash.isDone()).as("the hash was still running when xl list showed r").isFalse();
        XlResult h = hash.get(120, TimeUnit.SECONDS);
        assertThat(h.code()).as(h.err()).isZero();
        double after = XlRow.of(xl("list").out(), "busy").time();
        // Hashing 1 GiB takes far more than a tenth of a second of CPU, and it is the guest's.
        assertThat(after - before).isGreaterThanOrEqualTo(0.1);
        Await.until("busy blocked again", () -> XlRow.of(xl("list", Integer.toString(id)).out(), "busy").state()
                .equals("-b----"), 60);
    }

    @Test
    void aGuestInItsOwnJvmShowsItsProcesssCpuTime() throws Exception {
        int id = create("proc", "");
        Await.until("proc booted", () -> host.consoleLog(id).lines().stream()
                .anyMatch(l -> l.startsWith("Booting jxen kernel on domain " + id)), 60);
        XlRow row = XlRow.of(xl("list").out(), "proc");
        assertThat(row.id()).isEqualTo(id);
        Process p = host.guests().getFirst().process();
        double measured = p.toHandle().info().totalCpuDuration().orElseThrow().toNanos() / 1e9;
        // xl rounds to one decimal: at most half a tenth above what the process had used when listed.
        assertThat(row.time()).isGreaterThan(0.0).isLessThanOrEqualTo(measured + 0.05 + 1e-9);
    }

    @Test
    void aPausedDomainGetsNoEventsAndRunsNoCodeUntilUnpausedAndLosesNothing() throws Exception {
        int inproc = create("pin", "inproc = 1\n");
        int proc = create("pproc", "");
        for (int id : new int[] {inproc, proc}) {
            String name = id == inproc ? "pin" : "pproc";
            assertThat(xl("pause", name)).isEqualTo(new XlResult(0, "", ""));
            assertThat(XlRow.of(xl("list").out(), name).state()).isEqualTo("--p---");
            // xl exec writes the command into the guest's store and the watch fires an event at the guest:
            // held while it is paused.
            CompletableFuture<XlResult> exec = async(() -> xl("exec", name, "--", "lsmod"));
            XsClient xs = host.xenstore();
            String base = "/local/domain/" + id + "/data/exec/0";
            assertThat(Await.value(xs, base + "/cmd", v -> true, 60)).isTrue();
            assertThat(xs.exists(base + "/status")).isFalse();
            assertThat(exec.isDone()).isFalse();
            assertThat(xl("unpause", Integer.toString(id))).isEqualTo(new XlResult(0, "", ""));
            XlResult r = exec.get(60, TimeUnit.SECONDS);
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).startsWith("Module                  Size  Used by\n");
            assertThat(XlRow.of(xl("list").out(), name).runningOrBlocked()).isTrue();
        }
        // libxl's refusal, strerror's words; xl's unpause_domain and pause_domain ignore it (status 0).
        assertThat(xl("unpause", "pin")).isEqualTo(new XlResult(0, "",
                "libxl: error: Domain " + inproc + ":Unpausing domain " + inproc + ": Invalid argument\n"));
        assertThat(xl("pause", "0")).isEqualTo(new XlResult(0, "", "libxl: error: Domain 0:Pausing domain 0: Invalid argument\n"));
        assertThat(xl("pause", "nosuch")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
    }

    @Test
    void shutdownWaitsForOneOrAllDomains() throws Exception {
        int a = create("a", "inproc = 1\n");
        assertThat(xl("shutdown", "-w", "a")).isEqualTo(new XlResult(0, "",
                "Shutting down domain " + a + "\nWaiting for 1 domains\nDomain " + a + " has been shut down, reason code 0\n"));
        assertThat(xl("list").out()).doesNotContain("\na ");
        int b = create("b", "inproc = 1\n");
        int c = create("c", "inproc = 1\n");
        XlResult all = xl("shutdown", "-a", "-w");
        assertThat(all.code()).as(all.err()).isZero();
        assertThat(all.err()).startsWith("Shutting down domain " + b + "\nShutting down domain " + c + "\nWaiting for 2 domains\n");
        assertThat(all.err().lines().skip(3)).containsExactlyInAnyOrder(
                "Domain " + b + " has been shut down, reason code 0", "Domain " + c + " has been shut down, reason code 0");
        assertThat(xl("list").out().split("\n")).hasSize(2);
        assertThat(xl("dmesg").out()).contains("toolstack: domain " + b + " (b) has shut down, reason code 0");
        assertThat(xl("shutdown")).isEqualTo(new XlResult(1, "", "You must specify -a or a domain id.\n\n"));
        assertThat(xl("shutdown", "--all")).isEqualTo(new XlResult(0, "", ""));
        // -F: the ACPI fallback for HVM guests without PV drivers; a PV guest is shut down as without it.
        int f = create("f", "inproc = 1\n");
        assertThat(xl("shutdown", "-F", "-w", "f")).isEqualTo(new XlResult(0, "",
                "Shutting down domain " + f + "\nWaiting for 1 domains\nDomain " + f + " has been shut down, reason code 0\n"));
    }

    @Test
    void rebootAsksTheGuestToRebootAndWaitsForIt() throws Exception {
        int id = create("r", "inproc = 1\n");
        assertThat(xl("reboot", "-w", "r")).isEqualTo(new XlResult(0, "",
                "Rebooting domain " + id + "\nWaiting for 1 domains\nDomain " + id + " has been shut down, reason code 1\n"));
        assertThat(Files.readString(run.resolve("console/guest-r.log"))).contains("xenbus: shutdown requested: reboot");
        assertThat(xl("dmesg").out()).contains("toolstack: domain " + id + " (r) has shut down, reason code 1");
        assertThat(xl("reboot", "0")).isEqualTo(new XlResult(1, "", "Rebooting domain 0\ncannot reboot privileged domain 0\n"));
    }

    @Test
    void destroyEndsADomainAtOnce() throws Exception {
        int id = create("d", "inproc = 1\n");
        assertThat(xl("destroy", "d")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xl("list").out().split("\n")).hasSize(2);
        assertThat(host.xenstore().exists("/local/domain/" + id)).isFalse();
        assertThat(xl("destroy", "d")).isEqualTo(new XlResult(1, "", "d is an invalid domain identifier (rc=-6)\n"));
        String notDom0 = "Not destroying domain 0; use -f to force.\n"
                + "This can only be done when using a disaggregated hardware domain and toolstack.\n\n";
        assertThat(xl("destroy", "Domain-0")).isEqualTo(new XlResult(1, "", notDom0));
        assertThat(xl("destroy", "0")).isEqualTo(new XlResult(1, "", notDom0));
        assertThat(xl("destroy", "-f", "0")).isEqualTo(new XlResult(1, "",
                "cannot destroy privileged domain 0\ndestroy failed (rc=-3)\n"));
    }

    @Test
    void renameChangesTheNameEverywhereXlLooks() throws Exception {
        int id = create("old", "inproc = 1\n");
        create("other", "inproc = 1\n");
        assertThat(xl("rename", "old", "new")).isEqualTo(new XlResult(0, "", ""));
        XsClient xs = host.xenstore();
        assertThat(xs.readString("/local/domain/" + id + "/name")).isEqualTo("new");
        assertThat(xs.readString(xs.readString("/local/domain/" + id + "/vm") + "/name")).isEqualTo("new");
        assertThat(XlRow.of(xl("list").out(), "new").id()).isEqualTo(id);
        assertThat(xl("list", "new").code()).isZero();
        assertThat(xl("rename", "new", "other")).isEqualTo(new XlResult(1, "",
                "libxl: error: domain with name \"other\" already exists.\nCan't rename domain 'new'.\n"));
        assertThat(xl("rename", "new", "123")).isEqualTo(new XlResult(1, "",
                "libxl: error: invalid domain name \"123\"\nCan't rename domain 'new'.\n"));
        assertThat(xl("rename", "old", "x")).isEqualTo(new XlResult(1, "", "old is an invalid domain identifier (rc=-6)\n"));
        // Words the host would read as two, or as none: refused as names, as any other bad name is.
        assertThat(xl("rename", "new", "a b")).isEqualTo(new XlResult(1, "",
                "libxl: error: invalid domain name \"a b\"\nCan't rename domain 'new'.\n"));
        assertThat(xl("rename", "new", "")).isEqualTo(new XlResult(1, "",
                "libxl: error: invalid domain name \"\"\nCan't rename domain 'new'.\n"));
        assertThat(xl("rename", "new other", "x")).isEqualTo(new XlResult(1, "", "new other is an invalid domain identifier (rc=-6)\n"));
        assertThat(xl("pause", "")).isEqualTo(new XlResult(1, "", " is an invalid domain identifier\n"));
        assertThat(xs.readString("/local/domain/" + id + "/name")).isEqualTo("new");
    }

    @Test
    void listVerboseAndVmListShowTheUuidsAndTheShutdownReason() throws Exception {
        int id = create("v", "inproc = 1\non_poweroff = 'preserve'\n");
        String vm = host.xenstore().readString("/local/domain/" + id + "/vm");
        String uuid = vm.substring(vm.lastIndexOf('/') + 1);
        XlResult list = xl("list", "-v");
        assertThat(list.code()).isZero();
        String[] rows = list.out().split("\n");
        assertThat(rows[0]).isEqualTo("Name                                        ID   Mem VCPUs\tState\tTime(s)"
                + "   UUID                            Reason-Code\tSecurity Label");
        assertThat(rows[1]).startsWith("Domain-0 ").endsWith(" 00000000-0000-0000-0000-000000000000        -                -");
        assertThat(rows[2]).startsWith("v ").endsWith(" " + uuid + "        -                -");
        // xl's columns first, as xl list prints them, then " %s %8s %16s".
        String lead = String.format(java.util.Locale.ROOT, "%-40s %5d %5d %5d     ", "v", id, 32, 1);
        assertThat(rows[2]).matches(java.util.regex.Pattern.quote(lead) + "[-rb]{2}----  +[0-9]+\\.[0-9] " + uuid
                + " {8}- {16}-");
        assertThat(xl("vm-list")).isEqualTo(new XlResult(0, "UUID                                  ID    name\n"
                + "00000000-0000-0000-0000-000000000000  0    Domain-0                      \n"
                + uuid + "  " + id + "    v                             \n", ""));
        assertThat(xl("shutdown", "-w", "v").code()).isZero();
        // Preserved after its poweroff: shut down (s), reason code 0.
        assertThat(xl("list", "--verbose", "v").out().split("\n")[1]).contains("---s--")
                .endsWith(" " + uuid + "        0                -");
    }

    @Test
    void domidAndDomnameConvertAsXlDoes() throws Exception {
        int id = create("named", "inproc = 1\n");
        assertThat(xl("domid", "named")).isEqualTo(new XlResult(0, id + "\n", ""));
        assertThat(xl("domid", "Domain-0")).isEqualTo(new XlResult(0, "0\n", ""));
        // libxl_name_to_domid matches names only: an id is not a name.
        assertThat(xl("domid", Integer.toString(id))).isEqualTo(new XlResult(1, "",
                "Can't get domid of domain name '" + id + "', maybe this domain does not exist.\n"));
        assertThat(xl("domname", Integer.toString(id))).isEqualTo(new XlResult(0, "named\n", ""));
        assertThat(xl("domname", "0")).isEqualTo(new XlResult(0, "Domain-0\n", ""));
        // strtol's reading: leading digits count, none at all is no id, -1 is 4294967295 in xl's uint32_t.
        assertThat(xl("domname", id + "x")).isEqualTo(new XlResult(0, "named\n", ""));
        assertThat(xl("domname", "named")).isEqualTo(new XlResult(1, "", "Invalid domain id.\n\n"));
        assertThat(xl("domname", "-1")).isEqualTo(new XlResult(1, "",
                "Can't get domain name of domain id '4294967295', maybe this domain does not exist.\n"));
        XlResult none = xl("domid");
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).startsWith("'xl domid' requires at least 1 argument.\n\n");
        // xl reads the arguments a command takes and never looks at the rest.
        assertThat(xl("domid", "named", "extra", "words")).isEqualTo(new XlResult(0, id + "\n", ""));
        assertThat(xl("domname", "0", "x")).isEqualTo(new XlResult(0, "Domain-0\n", ""));
        // An option among them is still one xl does not have.
        assertThat(xl("domid", "named", "-z")).isEqualTo(new XlResult(2, "", "option `z' not supported.\n"));
    }

    /** The online count in xl list, and each vCPU's ONLINE column in vcpu-list order. */
    private String vcpus(String dom) {
        String online = xl("list", dom).out().lines().skip(1).findFirst().orElseThrow().trim().split("\\s+")[3];
        StringBuilder states = new StringBuilder();
        xl("vcpu-list", dom).out().lines().skip(1).forEach(l -> states.append(l.contains("--p") ? '0' : '1'));
        return online + " " + states;
    }

    @Test
    void vcpuSetWritesTheStoreAndTheGuestBringsItsVcpusUpAndDown() throws Exception {
        int id = create("v", "inproc = 1\nvcpus = 1\nmaxvcpus = 3\n");
        XsClient xs = host.xenstore();
        assertThat(vcpus("v")).isEqualTo("1 100");
        assertThat(xl("vcpu-set", "-i", "v", "3")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString("/local/domain/" + id + "/cpu/2/availability")).isEqualTo("online");
        Await.until("both vCPUs up", () -> vcpus("v").equals("3 111"), 30);
        Await.until("the guest's lines", () -> host.consoleLog(id).lines().containsAll(List.of("CPU1 is up", "CPU2 is up")), 30);
        assertThat(xl("vcpu-set", "v", "2")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString("/local/domain/" + id + "/cpu/2/availability")).isEqualTo("offline");
        Await.until("vCPU 2 down", () -> vcpus("v").equals("2 110"), 30);
        Await.until("its line", () -> host.consoleLog(id).lines().contains("smpboot: CPU 2 is now offline"), 30);

        assertThat(xl("vcpu-set", "--ignore-host", "v", "4")).isEqualTo(new XlResult(1, "", "libxl: error: Domain " + id
                + ":Requested 4 VCPUs, however maxcpus is 3!\nlibxl_set_vcpuonline failed domid=" + id + " max_vcpus=4, rc: -3\n"));
        assertThat(xl("vcpu-set", "v", "0")).isEqualTo(new XlResult(1, "", "Error: Cannot set 0 VCPUs.\n"));
        assertThat(xl("vcpu-set", "v", "two")).isEqualTo(new XlResult(1, "", "Error: Invalid argument two as VCPU number.\n"));
        // Above the host's CPUs (xl info's nr_cpus) and above what the domain has online: xl refuses without -i.
        assertThat(xl("vcpu-set", "v", "1").code()).isZero();
        int hostCpus = Integer.parseInt(xl("info", "nr_cpus").out().strip());
        int want = Math.max(hostCpus + 1, 2);
        assertThat(xl("vcpu-set", "v", Integer.toString(want))).isEqualTo(new XlResult(1, "", "You are overcommmitting! You have "
                + hostCpus + " physical CPUs and want " + want + " vCPUs! Aborting, use --ignore-host to  continue\n"));
    }

    @Test
    void memSetWritesTheBalloonTargetInKib() throws Exception {
        int id = create("m", "inproc = 1\n");
        XsClient xs = host.xenstore();
        String target = "/local/domain/" + id + "/memory/target";
        assertThat(xs.readString(target)).isEqualTo("32768");
        assertThat(xl("mem-set", "m", "16")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString(target)).isEqualTo("16384");
        assertThat(xl("mem-set", "m", "20480k").code()).isZero();
        assertThat(xs.readString(target)).isEqualTo("20480");
        assertThat(xl("mem-set", "m", "24", "extra")).as("xl reads two words").isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString(target)).isEqualTo("24576");
        assertThat(xl("mem-set", "m", "20480k").code()).isZero();
        assertThat(xl("mem-set", Integer.toString(id), "1g")).isEqualTo(new XlResult(1, "",
                "libxl: error: Domain " + id + ":memory_dynamic_max must be less than or equal to memory_static_max\n"
                        + "cannot set domid " + id + " dynamic max memory to : 1g\n"));
        assertThat(xs.readString(target)).isEqualTo("20480");
        assertThat(xl("mem-set", "m", "12x")).isEqualTo(new XlResult(1, "", "invalid memory size: 12x\n"));
        assertThat(xl("mem-set", "nosuch", "12")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
        assertThat(XlDomainCommands.parseMemSizeKb("2t")).isEqualTo(2L << 30);

        // dom0 has no memory nodes until a balloon target is set: libxl fills them in first (target: what dom0
        // has, static-max: the host's memory), and refuses a dom0 target under 128 MiB.
        assertThat(xs.readOrNull("/local/domain/0/memory/target")).isNull();
        assertThat(xl("mem-max", "0", "512")).isEqualTo(new XlResult(1, "", "libxl: error: Domain 0:Cannot get memory info"
                + " from /local/domain/0/memory/target\ncannot set domid 0 static max memory to : 512\n"));
        assertThat(xl("mem-set", "0", "64")).isEqualTo(new XlResult(1, "", "libxl: error: Domain 0:New target 65536 for dom0"
                + " is below the minimum threshold\ncannot set domid 0 dynamic max memory to : 64\n"));
        assertThat(xl("mem-set", "0", "200")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString("/local/domain/0/memory/target")).isEqualTo("204800");
        String total = xl("info").out().lines().filter(l -> l.startsWith("total_memory")).findFirst().orElseThrow();
        assertThat(xs.readString("/local/domain/0/memory/static-max"))
                .isEqualTo(Long.toString(Long.parseLong(total.split(":")[1].strip()) * 1024));
        assertThat(xl("mem-set", "Domain-0", "128")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString("/local/domain/0/memory/target")).isEqualTo("131072");
        assertThat(xl("mem-max", "0", "1g")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString("/local/domain/0/memory/static-max")).isEqualTo("1048576");
        assertThat(XlDomainCommands.parseMemSizeKb("4096b")).isEqualTo(4);
    }

    @Test
    void globalOptionsAreXlsVerboseForceProgressAndTimestamps() throws Exception {
        int id = create("gv", "inproc = 1\n");
        // -v, -f and -t change nothing a list prints; clustered as getopt takes them.
        XlResult vft = xl("-vft", "list", "gv");
        assertThat(vft.err()).isEmpty();
        assertThat(XlRow.of(vft.out(), "gv").id()).isEqualTo(id);
        assertThat(xl("-v", "-v", "list", "gv").out()).isEqualTo(vft.out());
        // -vvv: libxl's debug messages, here the requests to the host and its replies.
        assertThat(xl("-vvv", "pause", "gv")).isEqualTo(new XlResult(0, "",
                "libxl: debug: toolstack > pause gv\nlibxl: debug: toolstack < OK\n"));
        assertThat(xl("-vvvf", "unpause", Integer.toString(id))).isEqualTo(new XlResult(0, "",
                "libxl: debug: toolstack > unpause " + id + "\nlibxl: debug: toolstack < OK\n"));
        // -T: libxl's lines carry the time and xl's pid (xentoollog's format); xl's own line does not.
        String stamp = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+ \\[" + ProcessHandle.current().pid() + "\\] ";
        XlResult t = xl("-T", "mem-set", "gv", "1g");
        assertThat(t.code()).isEqualTo(1);
        assertThat(t.err()).matches(stamp + "libxl: error: Domain " + id + ":memory_dynamic_max must be less than or"
                + " equal to memory_static_max\ncannot set domid " + id + " dynamic max memory to : 1g\n");
        assertThat(xl("-Tvvv", "pause", "gv").err()).matches(stamp + "libxl: debug: toolstack > pause gv\n"
                + stamp + "libxl: debug: toolstack < OK\n");
        assertThat(xl("-x", "list")).isEqualTo(new XlResult(1, "", "xl: invalid option -- 'x'\nunknown global option\n"));
        assertThat(xl("-vq", "list")).isEqualTo(new XlResult(1, "", "xl: invalid option -- 'q'\nunknown global option\n"));
    }

    @Test
    void memMaxRaisesTheCeilingMemSetIsHeldToAndNeverGoesBelowTheTarget() throws Exception {
        int id = create("mx", "inproc = 1\n");
        XsClient xs = host.xenstore();
        String home = "/local/domain/" + id + "/memory/";
        assertThat(xs.readString(home + "static-max")).isEqualTo("32768");
        assertThat(xl("mem-set", "mx", "48").code()).isEqualTo(1);
        assertThat(xl("mem-max", "mx", "64")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString(home + "static-max")).isEqualTo("65536");
        assertThat(xl("mem-set", "mx", "48")).isEqualTo(new XlResult(0, "", ""));
        assertThat(xs.readString(home + "target")).isEqualTo("49152");
        // Below the balloon target: libxl's refusal (its doubled "or"), then xl's line; nothing written.
        assertThat(xl("mem-max", Integer.toString(id), "40")).isEqualTo(new XlResult(1, "",
                "libxl: error: Domain " + id + ":memory_static_max must be greater than or or equal to memory_dynamic_max\n"
                        + "cannot set domid " + id + " static max memory to : 40\n"));
        assertThat(xs.readString(home + "static-max")).isEqualTo("65536");
        assertThat(xl("mem-max", "mx", "49152k").code()).isZero();
        assertThat(xs.readString(home + "static-max")).isEqualTo("49152");
        assertThat(xl("mem-max", "mx", "1x")).isEqualTo(new XlResult(1, "", "invalid memory size: 1x\n"));
        assertThat(xl("mem-max", "nosuch", "64")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
        xs.write(home + "target", "lots");
        assertThat(xl("mem-max", "mx", "64")).isEqualTo(new XlResult(1, "",
                "libxl: error: Domain " + id + ":Invalid memory lots from /local/domain/" + id + "/memory/target\n"
                        + "cannot set domid " + id + " static max memory to : 64\n"));
        assertThat(xs.readString(home + "static-max")).isEqualTo("49152");
    }

    @Test
    void listLongPrintsLibxlsDomainConfigJson() throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8 << 20);
        }
        int id = create("j", "inproc = 1\nvcpus = 2\nextra = \"blkfront.max_queues=2\"\n"
                + "disk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']\n");
        XsClient xs = host.xenstore();
        String vm = xs.readString("/local/domain/" + id + "/vm");
        String uuid = vm.substring("/vm/".length());
        XlResult r = xl("list", "-l", "j");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("""
                [
                    {
                        "domid": %d,
                        "config": {
                            "c_info": {
                                "type": "pv",
                                "name": "j",
                                "uuid": "%s"
                            },
                            "b_info": {
                                "max_vcpus": 2,
                                "avail_vcpus": [
                                    0,
                                    1
                                ],
                                "max_memkb": 32768,
                                "target_memkb": 32768,
                                "type.pv": {
                                    "cmdline": "blkfront.max_queues=2"
                                }
                            },
                            "disks": [
                                {
                                    "pdev_path": "%s",
                                    "vdev": "xvda",
                                    "backend": "phy",
                                    "format": "raw",
                                    "readwrite": 1
                                }
                            ]
                        }
                    }
                ]
                """.formatted(id, uuid, img));
        // libxl reads the memory target back from the store: mem-set shows.
        assertThat(xl("mem-set", "j", "16").code()).isZero();
        assertThat(xl("list", "--long").out()).contains("\"target_memkb\": 16384,").startsWith("[\n    {\n        \"domid\": 0,");
    }
}
