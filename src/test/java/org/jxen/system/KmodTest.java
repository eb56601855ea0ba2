package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jxen.cli.XlResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * insmod, rmmod and lsmod as a user runs them with {@code xl exec}: in a guest (through its exec agent) and in
 * dom0 (run by the host), with kmod's output and exit statuses and the module's lines in the kernel log; and a
 * guest's kernel command line from xl.cfg's {@code extra} and {@code drivers}.
 */
@Timeout(240)
class KmodTest extends SystemFixture {
    /** An in-process guest from an xl.cfg of {@code lines}, created with xl; its domain id. */
    @Override
    int create(String name, String... lines) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("inproc = 1"));
        all.addAll(List.of(lines));
        return super.create(name, all.toArray(String[]::new));
    }

    @Test
    void insmodRmmodLsmodInAGuest() throws Exception {
        create("g");
        // The standard frontends and the exec agent are built in: lsmod lists none of them.
        ok(xl("exec", "g", "--", "lsmod"), LSMOD);
        ok(xl("exec", "g", "--", "insmod", "mydevicefront.ko"), "");
        ok(xl("exec", "g", "--", "lsmod"), LSMOD + "mydevicefront              0  0\n");
        fails(xl("exec", "g", "--", "insmod", "mydevicefront"),
                "insmod: ERROR: could not insert module mydevicefront: File exists\n");
        ok(xl("exec", "g", "--", "rmmod", "mydevicefront"), "");
        ok(xl("exec", "g", "--", "lsmod"), LSMOD);

        fails(xl("exec", "g", "--", "rmmod", "mydevicefront"), "rmmod: ERROR: Module mydevicefront is not currently loaded\n");
        fails(xl("exec", "g", "--", "rmmod", "blkfront"), "rmmod: ERROR: Module blkfront is builtin.\n");
        fails(xl("exec", "g", "--", "rmmod", "exec"), "rmmod: ERROR: Module exec is builtin.\n");
        fails(xl("exec", "g", "--", "insmod", "nosuch"),
                "insmod: ERROR: could not insert module nosuch: No such file or directory\n");
        fails(xl("exec", "g", "--", "insmod", "mydevicefront", "debug=1"),
                "insmod: ERROR: could not insert module mydevicefront: Unknown parameter `debug'\n");
        fails(xl("exec", "g", "--", "insmod", "blkfront"), "insmod: ERROR: could not insert module blkfront: File exists\n");
        fails(xl("exec", "g", "--", "insmod"), "insmod: ERROR: missing filename.\n");
        fails(xl("exec", "g", "--", "rmmod"), "rmmod: ERROR: missing module name.\n");
        ok(xl("exec", "g", "--", "lsmod"), LSMOD);

        List<String> log = dmesgUntil("g", l -> l.startsWith("mydevicefront: Unknown parameter"));
        assertThat(log.getFirst()).isEqualTo("Booting jxen kernel on domain 1 (ModularKernel)");
        assertThat(log.subList(log.indexOf("Hello World!"), log.size())).containsExactly("Hello World!", "Goodbye world.",
                "mydevicefront: Unknown parameter `debug'");
    }

    @Test
    void aModuleLoadedAtRunTimeDrivesTheDeviceAttachedBeforeIt() throws Exception {
        // The README's order: the device first (dom0's built-in backend waits in InitWait), then the blog's insmod.
        int domid = create("g");
        XlResult a = xl("device-attach", "g", "mydevice");
        assertThat(a.code()).as(a.err()).isZero();
        ok(xl("exec", "g", "--", "insmod", "mydevicefront"), "");
        String front = "/local/domain/" + domid + "/device/mydevice/0/state";
        for (int i = 0; i < 1200 && !"4".equals(host.xenstore().readOrNull(front)); i++) Thread.sleep(50);
        assertThat(host.xenstore().readString(front)).as("the frontend is Connected").isEqualTo("4");
        List<String> log = dmesgUntil("g", l -> l.equals("Backend says: Hello world"));
        assertThat(log).containsSubsequence("Hello World!", "Probe called. We are good to go.", "Backend says: Hello world");
        ok(xl("exec", "g", "--", "rmmod", "mydevicefront"), "");
        assertThat(dmesgUntil("g", l -> l.equals("Goodbye world."))).endsWith("Goodbye world.");
    }

    @Test
    void insmodRmmodLsmodInDom0RunByTheHost() throws Exception {
        int before = host.dom0Kernel().log().lines().size();
        // dom0's backends are built in.
        ok(xl("exec", "0", "--", "lsmod"), LSMOD);
        fails(xl("exec", "0", "--", "rmmod", "blkback"), "rmmod: ERROR: Module blkback is builtin.\n");
        fails(xl("exec", "Domain-0", "--", "rmmod", "mydeviceback"), "rmmod: ERROR: Module mydeviceback is builtin.\n");
        // blkfront is loadable in dom0, and parses its parameters.
        fails(xl("exec", "0", "--", "insmod", "blkfront", "max_queues=0"),
                "insmod: ERROR: could not insert module blkfront: Invalid parameters\n");
        fails(xl("exec", "0", "--", "insmod", "blkfront", "colour=red"),
                "insmod: ERROR: could not insert module blkfront: Unknown parameter `colour'\n");
        ok(xl("exec", "0", "--", "insmod", "blkfront", "max_queues=2", "feature_persistent=0"), "");
        ok(xl("exec", "Domain-0", "--", "insmod", "mydevicefront"), "");
        ok(xl("exec", "0", "--", "lsmod"), LSMOD + "mydevicefront              0  0\nblkfront                   0  0\n");
        ok(xl("exec", "0", "--", "rmmod", "mydevicefront", "blkfront"), "");
        ok(xl("exec", "0", "--", "lsmod"), LSMOD);
        fails(xl("exec", "0", "--", "insmod", "nosuch"), "insmod: ERROR: could not insert module nosuch: No such file or directory\n");

        XlResult dmesg = xl("dmesg");
        assertThat(dmesg.code()).isZero();
        List<String> lines = dmesg.out().lines().toList();
        assertThat(lines.subList(before, lines.size())).containsExactly("blkfront: `0' invalid for parameter `max_queues'",
                "blkfront: Unknown parameter `colour'", "Hello World!", "Goodbye world.");
        assertThat(host.dom0Kernel().modules()).containsExactly("mydeviceback", "blkback", "netback");
    }

    @Test
    void extraIsTheKernelCommandLineAndDriversItsModulesLoad() throws Exception {
        Path img = Files.write(dir.resolve("d.img"), new byte[1 << 20]);
        create("g", "extra = 'blkfront.max_queues=1 blkfront.colour=red blkfront.max_indirect_segments=x quiet'",
                "drivers = ['mydevicefront']", "disk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']");
        XlResult bench = xl("exec", "g", "--", "blkbench", "/dev/xvda", "--rw", "read", "--qd", "2", "--seconds", "0.1",
                "--warmup", "0");
        assertThat(bench.code()).as(bench.err()).isZero();
        assertThat(bench.out()).as("blkfront asked for one queue").contains(" queues=1 ");
        ok(xl("exec", "g", "--", "lsmod"), LSMOD + "mydevicefront              0  0\n");
        List<String> log = dmesgUntil("g", l -> l.startsWith("blkfront: xvda: "));
        assertThat(log.subList(0, 8)).containsExactly(
                "Booting jxen kernel on domain 1 (ModularKernel)",
                "Kernel command line: blkfront.max_queues=1 blkfront.colour=red blkfront.max_indirect_segments=x quiet "
                        + "modules_load=mydevicefront",
                "blkfront: unknown parameter 'colour' ignored",
                "blkfront: `x' invalid for parameter `max_indirect_segments'",
                "xen:balloon: Initialising balloon driver",
                "Unknown kernel command line parameters \"quiet\", will be passed to user space.",
                "modprobe mydevicefront",
                "Hello World!");
        assertThat(log).anyMatch(l -> l.startsWith("blkfront: xvda: 2048 sectors, 1 queue(s) of "));
    }

    @Test
    void aDriversLineNamingNoModuleIsRefusedByTheHost() throws Exception {
        Path cfg = Files.writeString(dir.resolve("bad.cfg"), "name = 'bad'\ndrivers = ['mydevicefront', 'nosuch']\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).isEqualTo(1);
        assertThat(c.err()).isEqualTo("Parsing config from " + cfg + "\nlibxl: error: line 2: no driver module nosuch (known: "
                + "[blkback, blkfront, console-shell, exec, memdirty, mydeviceback, mydevicefront, netback, netfront, seqwrite, xen_balloon])\n");
        assertThat(host.guests()).isEmpty();
    }
}
