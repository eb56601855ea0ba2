package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jxen.xenstore.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** xl info, uptime, vcpu-list and dmesg through the CLI against a host started here. */
@Timeout(120)
class XlInfoCommandsTest extends XlHostFixture {

    private int create(String name, String extra) throws Exception {
        return createGuest(name, "inproc = 1\n" + extra);
    }

    @Test
    void infoPrintsXlsFieldsInXlsOrder() throws Exception {
        XlResult r = xl("info");
        assertThat(r.code()).isZero();
        List<String> names = r.out().lines().map(l -> l.substring(0, 23).strip()).toList();
        assertThat(names).containsExactly("host", "release", "version", "machine", "nr_cpus", "max_cpu_id", "nr_nodes",
                "cores_per_socket", "threads_per_core", "cpu_mhz", "hw_caps", "virt_caps", "total_memory",
                "free_memory", "sharing_freed_memory", "sharing_used_memory", "outstanding_claims", "free_cpus",
                "xen_major", "xen_minor", "xen_extra", "xen_version", "xen_caps", "xen_scheduler", "xen_pagesize",
                "platform_params", "xen_changeset", "xen_commandline", "cc_compiler", "cc_compile_by",
                "cc_compile_domain", "cc_compile_date", "build_id", "xend_config_format");
        assertThat(r.out().lines()).allMatch(l -> l.substring(23).startsWith(": "));
        int cpus = Runtime.getRuntime().availableProcessors();
        assertThat(r.out()).contains("\nnr_cpus                : " + cpus + "\n", "\nmax_cpu_id             : " + (cpus - 1) + "\n",
                "\nvirt_caps              : pv gnttab-v1\n", "\nxen_pagesize           : 4096\n",
                "\nxend_config_format     : 4\n");
        assertThat(xl("info", "xen_version")).isEqualTo(new XlResult(0, "4.17-jxen\n", ""));
        assertThat(xl("info", "host").out()).isEqualTo(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip() + "\n");
        // xl's filter takes every field the word begins: xen_m matches xen_major and xen_minor.
        assertThat(xl("info", "xen_m").out()).isEqualTo("4\n17\n");
        long total = Long.parseLong(xl("info", "total_memory").out().strip());
        assertThat(total).isGreaterThan(0);

        // -n: the topology and NUMA tables between the physical info and Xen's; a NAME is then not looked at.
        XlResult n = xl("info", "-n", "xen_version");
        assertThat(n.code()).isZero();
        StringBuilder topology = new StringBuilder("\nfree_cpus              : 0\ncpu_topology           :\ncpu:    core    socket     node\n");
        for (int i = 0; i < cpus; i++) topology.append(String.format("%3d:    %4d     %4d     %4d%n", i, i, 0, 0));
        topology.append("device topology        :\ndevice           node\nNo device topology data available\n"
                + "numa_info              :\nnode:    memsize    memfree    distances\n");
        assertThat(n.out()).contains(topology.toString()).containsPattern(
                "\n   0: +" + total + " +\\d+      10\nxen_major              : 4\n");
    }

    @Test
    void freeMemoryIsWhatNoDomainHoldsAndFollowsAGuestAndItsBalloon() throws Exception {
        long total = Long.parseLong(xl("info", "total_memory").out().strip());
        // dom0's share is the host process's resident memory, which moves a little between two calls.
        long before = freeAndDom0(total);
        create("fm", "memory = 64\n");
        long withGuest = freeAndDom0(total);
        assertThat(before - withGuest).as("the guest's 64 MiB").isBetween(64L - 24, 64L + 24);
        assertThat(xl("mem-set", "fm", "16").code()).isZero();
        org.jxen.xenstore.testing.Await.until("ballooned", () -> XlRow.of(xl("list").out(), "fm").mem() == 16, 30);
        assertThat(freeAndDom0(total) - withGuest).as("what its balloon gave back").isBetween(48L - 24, 48L + 24);
    }

    /** free_memory plus dom0's Mem (which the host process's garbage collections move), checked against total. */
    private long freeAndDom0(long total) {
        long free = Long.parseLong(xl("info", "free_memory").out().strip());
        long dom0 = XlRow.of(xl("list").out(), "Domain-0").mem();
        assertThat(free).isLessThan(total);
        return free + dom0;
    }

    @Test
    void uptimeAsXlPrintsIt() throws Exception {
        int id = create("up", "");
        XlResult r = xl("uptime");
        assertThat(r.code()).isZero();
        String[] rows = r.out().split("\n");
        assertThat(rows[0]).isEqualTo(String.format("%-33s %4s %s", "Name", "ID", "Uptime"));
        String clock = " ?\\d:\\d\\d:\\d\\d";
        assertThat(rows[1]).matches(java.util.regex.Pattern.quote(String.format("%-33s %4d ", "Domain-0", 0)) + clock);
        assertThat(rows[2]).matches(java.util.regex.Pattern.quote(String.format("%-33s %4d ", "up", id)) + clock);
        assertThat(rows).hasSize(3);
        assertThat(xl("uptime", "up").out()).matches(java.util.regex.Pattern.quote(rows[0] + "\n"
                + String.format("%-33s %4d ", "up", id)) + clock + "\n");
        assertThat(xl("uptime", "-s", "up").out()).matches(" \\d\\d:\\d\\d:\\d\\d up  \\d:\\d\\d, up \\(" + id + "\\)\n");
        // libxl's start time, which xl uptime reads, is in the domain's vm path.
        var xs = host.xenstore();
        assertThat(xs.readString(xs.readString("/local/domain/" + id + "/vm") + "/start_time")).matches("\\d+\\.\\d\\d");
        assertThat(XlInfoCommands.uptimeString(2 * 86400 + 3 * 3600 + 4 * 60 + 5, false)).isEqualTo("2 days,  3:04:05");
        assertThat(XlInfoCommands.uptimeString(86400 + 59, false)).isEqualTo("1 day,  0:00:59");
        assertThat(XlInfoCommands.uptimeString(3 * 3600 + 4 * 60 + 5, true)).isEqualTo(" 3:04");
    }

    @Test
    void vcpuListShowsEachVcpu() throws Exception {
        int id = create("two", "vcpus = 2\nmaxvcpus = 3\n");
        XlResult r = xl("vcpu-list");
        assertThat(r.code()).isZero();
        String[] rows = r.out().split("\n");
        assertThat(rows[0]).isEqualTo("Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)");
        assertThat(rows[1]).matches("Domain-0 {24}     0     0 +\\d+   [r-][b-]- +\\d+\\.\\d  all / all");
        assertThat(rows[2]).matches("two {29} +" + id + "     0 +\\d+   [r-][b-]- +\\d+\\.\\d  all / all");
        // The guest's kernel brought vCPU 1 up (cpu/1/availability online): online and idle. vCPU 2 of maxvcpus
        // is offline, as xl prints an offline vCPU.
        assertThat(rows[3]).matches("two {29} +" + id + "     1 +\\d+   -b-       0\\.0  all / all");
        assertThat(rows[4]).isEqualTo(String.format("%-32s %5d %5d%5c %3c%cp %9.1f  all / all", "two", id, 2, '-', '-', '-', 0.0));
        assertThat(rows).hasSize(5);
        assertThat(xl("list", "two").out()).matches("(?s).*\ntwo +" + id + " +\\d+ +2 .*");
        assertThat(xl("vcpu-list", "two").out().split("\n")).hasSize(4);
        assertThat(xl("pause", "two").code()).isZero();
        assertThat(xl("vcpu-list", "two").out().split("\n")[1]).contains("   ---       ");
        assertThat(xl("vcpu-list", "two").out().split("\n")[2]).as("online, paused").contains("   ---       ");
        assertThat(xl("vcpu-list", "nosuch")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
    }

    @Test
    void dmesgOfDom0AndOfAGuest() throws Exception {
        int id = create("log", "");
        Await.until("log booted", () -> host.consoleLog(id).lines().stream()
                .anyMatch(l -> l.startsWith("Booting jxen kernel on domain " + id)), 60);
        XlResult dom0 = xl("dmesg");
        assertThat(dom0.code()).isZero();
        assertThat(dom0.out()).startsWith("jxen host: dom0 up; xenstored on ")
                .contains("\ntoolstack: created domain " + id + " (log, in-process)\n");
        XlResult guest = xl("dmesg", "log");
        assertThat(guest.code()).isZero();
        assertThat(guest.out()).startsWith("Booting jxen kernel on domain " + id + " (ModularKernel)\n");
        assertThat(xl("dmesg", Integer.toString(id)).out()).isEqualTo(guest.out());
        assertThat(xl("dmesg", "0").out()).startsWith("jxen host: dom0 up;");
        assertThat(xl("dmesg", "nosuch")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));

        // -c prints, then clears: the next read has only what came after.
        XlResult cleared = xl("dmesg", "-c");
        assertThat(cleared.code()).isZero();
        assertThat(cleared.out()).startsWith("jxen host: dom0 up;");
        assertThat(xl("dmesg")).isEqualTo(new XlResult(0, "", ""));
        host.dom0Kernel().printk("after the clear");
        assertThat(xl("dmesg")).isEqualTo(new XlResult(0, "after the clear\n", ""));
        assertThat(xl("dmesg", "-c", "log").out()).isEqualTo(guest.out());
        assertThat(xl("dmesg", "log")).isEqualTo(new XlResult(0, "", ""));
    }
}
