package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.jxen.hypervisor.process.GuestKernel;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * xl create as a Xen user knows it, through the CLI: rc 0 only for a booted guest (a guest dying while booting
 * is an error with its last console lines), xl.cfg's keys (ignored ones in one warning line, actions on
 * shutdown done for real), KEY=VALUE overrides, names as xl, the memory limit, and the examples/ configs in the
 * style of Xen's own booting as they are.
 */
@Timeout(240)
class XlCreateConfigTest extends XlHostFixture {

    private Path cfg(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private int domid(String name) {
        return host.guests().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow().domid();
    }

    private List<String> names() {
        return host.guests().stream().map(Host.Guest::name).sorted().toList();
    }

    /** A jar whose META-INF/services names a GuestKernel: xl.cfg's kernel = "JAR" boots that kernel. */
    private Path kernelJar(Class<? extends GuestKernel> kernel) throws Exception {
        Path jar = dir.resolve("kernel.jar");
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar), new Manifest())) {
            j.putNextEntry(new JarEntry("META-INF/services/" + GuestKernel.class.getName()));
            OutputStream o = j;
            o.write((kernel.getName() + "\n").getBytes());
            j.closeEntry();
        }
        return jar;
    }

    @Test
    void createAnswersOnlyOnceTheGuestHasBooted() throws Exception {
        XlResult c = xl("create", cfg("b.cfg", "name = 'b'\ndrivers = ['mydevicefront']\n").toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.err()).isEqualTo("Parsing config from " + dir.resolve("b.cfg") + "\n");
        // Booted means announced (after the boot modules loaded): no waiting needed once xl returned.
        XsClient xs = host.xenstore();
        assertThat(xs.readString("/local/domain/" + domid("b") + "/control/feature-poweroff")).isEqualTo("1");
        // The console carries the boot's lines on its own time.
        await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(domid("b")).lines().contains("Hello World!"));
    }

    @Test
    void createPausedBuildsTheDomainAndItsDevicesAndRunsNoGuestCodeUntilUnpaused() throws Exception {
        for (String inproc : List.of("0", "1")) {
            String name = "p" + inproc;
            Path img = dir.resolve(name + ".img");
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
                f.setLength(1 << 20);
            }
            XlResult c = xl("create", "-p", "-q", cfg(name + ".cfg", "name = '" + name + "'\ninproc = " + inproc
                    + "\ndrivers = ['mydevicefront']\ndisk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']\n")
                    .toString());
            // -q: not even "Parsing config from"; -p: answered once built, with nothing booted to wait for.
            assertThat(c).isEqualTo(new XlResult(0, "", ""));
            int id = domid(name);
            assertThat(XlRow.of(xl("list", name).out(), name).state()).isEqualTo("--p---");
            XsClient xs = host.xenstore();
            String home = "/local/domain/" + id;
            String be = "/local/domain/0/backend/vbd/" + id + "/51712";
            // libxl's work is done (the device's nodes, its backend waiting in InitWait), the guest's not begun.
            assertThat(xs.readString(be + "/state")).isEqualTo("2");
            assertThat(xs.readString(home + "/device/vbd/51712/state")).isEqualTo("1");
            assertThat(xs.readOrNull(home + "/control/feature-poweroff")).as("libxl's empty node, the guest's to fill")
                    .isEmpty();
            // Its kernel has not started (no thread, no process): a paused domain has run nothing.
            Host.Guest g = host.guests().stream().filter(x -> x.domid() == id).findFirst().orElseThrow();
            assertThat(g.thread()).isNull();
            assertThat(g.process()).isNull();
            Thread.sleep(300); // time for a kernel that ran anyway to print its first line
            assertThat(host.consoleLog(id).lines()).as("not even the kernel's first line").isEmpty();

            assertThat(xl("unpause", name)).isEqualTo(new XlResult(0, "", ""));
            await().atMost(Duration.ofSeconds(30)).until(() -> "1".equals(xs.readOrNull(home + "/control/feature-poweroff")));
            await().atMost(Duration.ofSeconds(30)).until(() -> "4".equals(xs.readOrNull(be + "/state")));
            await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(id).lines().contains("Hello World!"));
            assertThat(XlRow.of(xl("list", name).out(), name).state()).isNotEqualTo("--p---");

            // Renamed while paused, it boots under its new name; destroyed while paused, nothing of it is left.
            String other = "q" + inproc;
            assertThat(xl("create", "-p", "-q", cfg(other + ".cfg", "name = '" + other + "'\ninproc = " + inproc
                    + "\ndrivers = ['mydevicefront']\n").toString()).code()).isZero();
            int q = domid(other);
            assertThat(xl("rename", other, other + "r").code()).isZero();
            assertThat(xl("unpause", other + "r").code()).isZero();
            await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(q).lines().contains("Hello World!"));
            assertThat(names()).contains(other + "r");
            assertThat(xl("destroy", other + "r").code()).isZero();
            assertThat(xl("create", "-p", "-q", cfg(other + ".cfg", "name = '" + other + "'\ninproc = " + inproc + "\n")
                    .toString()).code()).isZero();
            int r = domid(other);
            assertThat(xl("destroy", other).code()).isZero();
            assertThat(names()).doesNotContain(other, other + "r");
            // The files go once the domain's process or thread has let go of them.
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                try (java.util.stream.Stream<Path> files = Files.list(run.resolve("hv/shm"))) {
                    assertThat(files.map(f -> f.getFileName().toString())).noneMatch(f -> f.startsWith("d" + r + ".")
                            || f.startsWith("d" + q + "."));
                }
            });
        }
    }

    @Test
    void createTakesItsFileFromDefconfigAndRefusesASecondFileAsXlDoes() throws Exception {
        Path f = cfg("f.cfg", "name = 'f'\nmemory = 32\n");
        XlResult c = xl("create", "-f", f.toString(), "memory=48");
        assertThat(c).isEqualTo(new XlResult(0, "", "Parsing config from " + f + "\n"));
        assertThat(XlRow.of(xl("list", "f").out(), "f").mem()).isEqualTo(48);
        XlResult two = xl("create", f.toString(), cfg("g.cfg", "name = 'g'\n").toString());
        assertThat(two).isEqualTo(new XlResult(2, XlCmdTable.help("create"), ""));
        assertThat(names()).containsExactly("f");
    }

    @Test
    void aGuestThatDiesWhileBootingIsAnErrorWithItsLastConsoleLines() throws Exception {
        Path jar = kernelJar(PanicKernel.class);
        for (String inproc : List.of("1", "0")) {
            XlResult c = xl("create", cfg("bad.cfg", "name = 'bad'\nkernel = '" + jar + "'\ninproc = " + inproc
                    + "\nextra = 'root=/dev/xvda1'\non_crash = 'restart'\n").toString());
            assertThat(c.code()).isEqualTo(1);
            String[] err = c.err().split("\n");
            assertThat(err[0]).isEqualTo("Parsing config from " + dir.resolve("bad.cfg"));
            // The host has an in-process kernel's panic first hand (its thread's exception) and says it.
            String panic = inproc.equals("1") ? " \\(kernel panic: VFS: Unable to mount root fs on unknown-block\\(0,0\\)\\)" : "";
            assertThat(err[1]).matches("libxl: error: guest bad \\(domain \\d+\\) crashed while booting" + panic + "; its last console lines:");
            assertThat(List.of(err).subList(2, err.length)).containsSubsequence(
                    "    Kernel command line: root=/dev/xvda1",
                    "    VFS: Cannot open root device \"xvda1\"",
                    "    Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)");
            assertThat(c.err()).doesNotContain("Exception", "at org.");
            // Destroyed, not restarted by on_crash: the failure was create's to report.
            assertThat(names()).isEmpty();
            assertThat(xl("list").out().split("\n")).hasSize(2);
        }
    }

    @Test
    void ignoredSettingsAreNamedInOneWarningLineAndPassthroughIsRefused() throws Exception {
        XlResult c = xl("create", cfg("hw.cfg", """
                name = "hw"
                type = "pvh"
                bootloader = "pygrub"
                builder = "generic"
                vkb = [ '' ]
                vfb = [ 'vnc=1' ]
                cpu_weight = 512
                memroy = 64
                inproc = 1
                """).toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.err().split("\n")).containsExactly("Parsing config from " + dir.resolve("hw.cfg"),
                dir.resolve("hw.cfg") + ": warning: ignoring settings jxen has no hardware or device for: type, bootloader,"
                        + " builder, vkb, vfb, cpu_weight; and settings xl does not know: memroy");

        XlResult pci = xl("create", cfg("pci.cfg", "name = 'p'\npci = [ '01:00.0' ]\n").toString());
        assertThat(pci.code()).isEqualTo(1);
        assertThat(pci.err()).endsWith("Failed to parse config: " + dir.resolve("pci.cfg") + ":2: pci: jxen cannot pass host"
                + " hardware through to a guest, and the guest would run without it (remove pci to boot it anyway)\n");
    }

    @Test
    void keyValueArgumentsOverrideTheFileAsXlDoes() throws Exception {
        Path f = cfg("o.cfg", "name = 'o'\nmemory = 32\ninproc = 1\n");
        XlResult c = xl("create", f.toString(), "memory=64", "name=\"o2\"", "vcpus=2", "maxmem=128", "extra=\"x.y=1\"");
        assertThat(c.code()).as(c.err()).isZero();
        XsClient xs = host.xenstore();
        String home = "/local/domain/" + domid("o2");
        assertThat(xs.readString(home + "/memory/target")).isEqualTo("65536");
        assertThat(xs.readString(home + "/memory/static-max")).isEqualTo("131072");
        assertThat(xs.directory(home + "/cpu")).containsExactlyInAnyOrder("0", "1");
        await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(domid("o2")).lines().contains("Kernel command line: x.y=1"));
        // The config file alone, and xl's way of giving it all on the command line.
        XlResult dn = xl("create", "name=\"cl\"", "inproc=1");
        assertThat(dn.code()).as(dn.err()).isZero();
        assertThat(names()).containsExactly("cl", "o2");

        XlResult unquoted = xl("create", f.toString(), "name=o3");
        assertThat(unquoted.code()).isEqualTo(1);
        assertThat(unquoted.err()).endsWith("Failed to parse config: command line argument 'name=o3': unexpected 'o':"
                + " values are numbers, quoted strings or [lists] (xl.cfg is not Python) (on the command line too, strings"
                + " are quoted: 'KEY=\"VALUE\"')\n");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            memory=4096                         | memory = 4096 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            memory=99999999999999999999999999   | memory = 99999999999999999999999999 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            memory=0xffffffffffffffff           | memory = 0xffffffffffffffff is out of range: 1 to 1024 MiB (jxen's limit per domain)
            memory=2147483648                   | memory = 2147483648 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            memory="-5"                         | memory = -5 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            memory=-5                           | a negative number is not xl.cfg syntax (quoted, '-1' is read as one)
            memory="1G"                         | memory = '1G' is not a valid number (memory is a number of MiB, without a unit)
            memory=512M                         | bad number 512M (xl.cfg numbers have no units)
            maxmem=99999                        | maxmem = 99999 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            maxmem=8                            | maxmem = 8 is less than memory = 16
            vcpus=4294967297                    | vcpus = 4294967297 is out of range: 1 to 128 vCPUs
            """)
    void memoryTheLimitIsStatedAndNoOverflowReachesAMessage(String setting, String message) throws Exception {
        XlResult r = xl("create", cfg("m.cfg", "name = 'm'\n").toString(), setting);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).endsWith("Failed to parse config: command line argument '" + setting + "': " + message + "\n");
        assertThat(names()).isEmpty();
    }

    @Test
    void namesAsXl() throws Exception {
        XlResult digits = xl("create", cfg("d.cfg", "name = '123'\n").toString());
        assertThat(digits.code()).isEqualTo(1);
        assertThat(digits.err()).endsWith(":1: domain name '123' is all digits: xl would take it for a domain id\n");

        assertThat(xl("create", cfg("a.cfg", "name = 'a'\ninproc = 1\n").toString()).code()).isZero();
        XlResult dup = xl("create", cfg("a.cfg", "name = 'a'\ninproc = 1\n").toString());
        assertThat(dup.code()).isEqualTo(1);
        assertThat(dup.err()).endsWith("libxl: error: domain with name a already exists\n");
        // By name or by id, as xl's DOM argument.
        int id = domid("a");
        assertThat(xl("dmesg", "a").out()).isEqualTo(xl("dmesg", Integer.toString(id)).out()).contains("Booting jxen kernel");
        assertThat(xl("destroy", Integer.toString(id)).code()).isZero();
        assertThat(names()).isEmpty();
    }

    /** Asks the guest to go down the way its kernel would on its own (control/shutdown), as xl reboot does. */
    private void shutdown(String name, String how) throws Exception {
        host.xenstore().write("/local/domain/" + domid(name) + "/control/shutdown", how);
    }

    @Test
    void onPoweroffOnRebootOnCrashAreDone() throws Exception {
        assertThat(xl("create", cfg("r.cfg", "name = 'r'\ninproc = 1\n").toString()).code()).isZero();
        int first = domid("r");
        shutdown("r", "reboot"); // on_reboot's default: restart
        await().atMost(Duration.ofSeconds(60)).until(() -> names().contains("r") && domid("r") != first);

        assertThat(xl("create", cfg("p.cfg", "name = 'p'\ninproc = 1\non_poweroff = 'preserve'\n").toString()).code()).isZero();
        int p = domid("p");
        shutdown("p", "poweroff");
        await().atMost(Duration.ofSeconds(60)).until(() -> xl("list").out().matches("(?s).*\np +" + p + " .*---s--.*"));
        assertThat(host.xenstore().readString("/local/domain/" + p + "/name")).isEqualTo("p");
        assertThat(xl("destroy", "p").code()).isZero();

        assertThat(xl("create", cfg("n.cfg", "name = 'n'\ninproc = 1\non_reboot = 'rename-restart'\n").toString()).code()).isZero();
        int n = domid("n");
        shutdown("n", "reboot");
        await().atMost(Duration.ofSeconds(60)).until(() -> names().size() == 3);
        String renamed = names().stream().filter(x -> x.startsWith("n-")).findFirst().orElseThrow();
        assertThat(renamed).matches("n-\\d{8}T\\d{4}Z");
        assertThat(domid(renamed)).isEqualTo(n);
        assertThat(domid("n")).isNotEqualTo(n);
        assertThat(host.xenstore().readString("/local/domain/" + n + "/name")).isEqualTo(renamed);
        String dmesg = xl("dmesg").out();
        assertThat(dmesg).contains("toolstack: Action for shutdown reason code 1 is rename-restart",
                "toolstack: Preserving domain " + n + " n with suffix" + renamed.substring(1));

        assertThat(xl("create", cfg("c.cfg", "name = 'c'\ninproc = 1\non_crash = 'destroy'\n").toString()).code()).isZero();
        shutdown("c", "crash");
        await().atMost(Duration.ofSeconds(60)).until(() -> !names().contains("c"));
        assertThat(xl("dmesg").out()).contains("toolstack: Action for shutdown reason code 3 is destroy");
    }
}
