package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jxen.kernel.userland.ConsoleShell;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code xl console} as a user drives it, through real xl processes whose standard input is a pipe: keys go
 * over the console ring's {@code in} buffer to the guest's console shell, which echoes them and answers with
 * the commands of {@code xl exec}; Ctrl-] leaves with status 0 and leaves the guest running. In-process guests
 * and guests in their own JVM alike, and {@code xl create -c}.
 */
@Timeout(180)
class XlConsoleTest extends XlHostFixture {
    private static final byte CTRL_RIGHT_BRACKET = 0x1d;

    private Path cfg(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void aUserDrivesAnInProcessGuestThroughItsConsoleShell() throws Exception {
        assertThat(xl("create", cfg("g1.cfg", "name = 'g1'\ninproc = 1\n").toString()).code()).isZero();
        try (ConsoleProcess xl = new ConsoleProcess(run, "console", "g1")) {
            // What the console showed so far; the shell is silent until Enter, as busybox's askfirst.
            int at = xl.awaitOutput(0, "Kernel command line: \n");
            assertThat(xl.out()).startsWith("Booting jxen kernel on domain 1 (ModularKernel)\n");

            xl.type("\n");
            at = xl.awaitOutput(at, "\nroot@g1:~# ");
            xl.type("lsmod\n");
            // The guest's echo of the line, lsmod's output, the next prompt: byte for byte.
            at = xl.awaitOutput(at, "lsmod\nModule                  Size  Used by\nroot@g1:~# ");

            xl.type("insmod mydevicefront\n");
            at = xl.awaitOutput(at, "root@g1:~# ");
            await().atMost(Duration.ofSeconds(30)).until(() -> xl.out().contains("Hello World!\n"));
            xl.type("lsmod\n");
            at = xl.awaitOutput(at, "lsmod\nModule                  Size  Used by\n" + String.format("%-19s %8d  %d", "mydevicefront", 0, 0)
                    + "\nroot@g1:~# ");

            xl.type("cat /proc/modules /proc/xen/capabilities\n");
            at = xl.awaitOutput(at, "mydevicefront 0 0 - Live 0x0000000000000000\nroot@g1:~# ");
            xl.type("ls /proc /sys/bus/xen\n");
            at = xl.awaitOutput(at, "/proc:\nmodules\npartitions\nxen\n/sys/bus/xen:\ndevices\nroot@g1:~# ");

            // Line editing: DEL rubs out a character on the screen and in the line.
            xl.type("lsmox\u007fd\n");
            at = xl.awaitOutput(at, "lsmox\b \bd\nModule");

            xl.type("no-such-tool\n");
            at = xl.awaitOutput(at, "exec: no-such-tool: command not found (known: dd, sha256sum, blkbench, insmod, rmmod, lsmod, cat, ls, dmesg)\n");
            xl.type("help\n");
            at = xl.awaitOutput(at, "Leave xl console with Ctrl-].\nroot@g1:~# ");

            xl.type(CTRL_RIGHT_BRACKET);
            assertThat(xl.awaitExit()).as(xl.err()).isZero();
            assertThat(xl.err()).isEmpty();
        }
        // Leaving the console leaves the guest running, its modules as the user left them.
        assertThat(host.guests()).hasSize(1);
        XlResult lsmod = xl("exec", "g1", "--", "lsmod");
        assertThat(lsmod.out()).contains("mydevicefront");
        // Everything shown is in xenconsoled's log of the guest, as on Xen.
        assertThat(Files.readString(run.resolve("console/guest-g1.log"))).contains("root@g1:~# lsmod\n", "Hello World!\n");
    }

    @Test
    void aGuestInItsOwnJvmHasTheSameShellAndTheDomainsDeathEndsXlConsole() throws Exception {
        assertThat(xl("create", cfg("p1.cfg", "name = 'p1'\nmemory = 16\n").toString()).code()).isZero();
        try (ConsoleProcess xl = new ConsoleProcess(run, "console", "p1")) {
            int at = xl.awaitOutput(0, "Booting jxen kernel on domain 1");
            xl.type("\r"); // a raw terminal's Enter
            at = xl.awaitOutput(at, "root@p1:~# ");
            xl.type("cat /proc/partitions\r");
            at = xl.awaitOutput(at, "cat /proc/partitions\nmajor minor  #blocks  name\n\nroot@p1:~# ");
            xl.type("ls /sys/bus/xen/devices\r");
            at = xl.awaitOutput(at, "ls /sys/bus/xen/devices\nroot@p1:~# ");
            // Longer than the in ring (1 KiB): xenconsoled waits for the guest to read, nothing is lost.
            String word = "x".repeat(3000);
            xl.type(word + "\n");
            at = xl.awaitOutput(at, word + "\nexec: " + word + ": command not found");
            at = xl.awaitOutput(at, "root@p1:~# ");
            // ^C throws the line away, as a shell's line discipline does.
            xl.type("rmmod nosuch\u0003");
            at = xl.awaitOutput(at, "rmmod nosuch^C\nroot@p1:~# ");
            xl.type("exit\n");
            at = xl.awaitOutput(at, "exit\n\n" + ConsoleShell.ASK + "\n");

            assertThat(xl("shutdown", "p1").code()).isZero();
            assertThat(xl.awaitExit()).as(xl.err()).isZero();
            assertThat(xl.out()).contains("reboot: Power down\n");
        }
    }

    @Test
    void createDashCAttachesTheNewGuestsConsole() throws Exception {
        Path c = cfg("c1.cfg", "name = 'c1'\ninproc = 1\n");
        try (ConsoleProcess xl = new ConsoleProcess(run, "create", "-c", c.toString())) {
            int at = xl.awaitOutput(0, "Booting jxen kernel on domain 1");
            xl.type("\n");
            at = xl.awaitOutput(at, "root@c1:~# ");
            xl.type("lsmod\n");
            at = xl.awaitOutput(at, "lsmod\nModule                  Size  Used by\nroot@c1:~# ");
            // Keys after Ctrl-] in the same read are not typed.
            xl.type(new byte[] {'l', 's', CTRL_RIGHT_BRACKET, 'x', '\n'});
            assertThat(xl.awaitExit()).isZero();
            assertThat(xl.err()).isEqualTo("Parsing config from " + c + "\n");
        }
        assertThat(host.guests()).singleElement().satisfies(g -> assertThat(g.name()).isEqualTo("c1"));
        // The guest still holds the line "ls" (not "lsx"): Enter in a second session runs it.
        try (ConsoleProcess xl = new ConsoleProcess(run, "console", "c1")) {
            xl.awaitOutput(0, "root@c1:~# ls");
            xl.type("\n");
            xl.awaitOutput(0, "root@c1:~# ls\ndev\nproc\nsys\nroot@c1:~# ");
            xl.type(CTRL_RIGHT_BRACKET);
            assertThat(xl.awaitExit()).isZero();
        }
    }

    /**
     * On a terminal (a pseudo-terminal of util-linux's script): xl puts it in raw mode, so the keys go to the
     * guest unechoed and Enter arrives as CR, the guest's '\n' comes out as CR LF, and on Ctrl-] the terminal's
     * settings are what they were before (stty -g before and after).
     */
    @Test
    void onATerminalXlConsoleIsRawAndPutsTheTerminalBack() throws Exception {
        assertThat(Path.of("/usr/bin/script")).as("util-linux's script, for a pseudo-terminal").isExecutable();
        assertThat(xl("create", cfg("t1.cfg", "name = 't1'\ninproc = 1\n").toString()).code()).isZero();
        StringBuilder xlLine = new StringBuilder();
        for (String a : ConsoleProcess.xl(run, "console", "t1")) xlLine.append('\'').append(a.replace("'", "'\\''")).append("' ");
        String shell = "stty -g; " + xlLine + "; echo rc=$?; stty -g";
        try (ConsoleProcess term = new ConsoleProcess(java.util.List.of("/usr/bin/script", "-q", "-e", "-c", shell, "/dev/null"))) {
            int at = term.awaitOutput(0, "Kernel command line: \r\n");
            term.type("\r");
            at = term.awaitOutput(at, "root@t1:~# ");
            term.type("lsmod\r");
            // Echoed once, by the guest: the terminal itself echoes nothing while xl runs.
            at = term.awaitOutput(at, "lsmod\r\nModule                  Size  Used by\r\nroot@t1:~# ");
            term.type(CTRL_RIGHT_BRACKET);
            assertThat(term.awaitExit()).isZero();
            String[] lines = term.out().split("\r\n");
            assertThat(lines[lines.length - 2]).endsWith("rc=0");
            assertThat(lines[lines.length - 1]).as("stty -g after").isEqualTo(lines[0]);
        }
    }

    @Test
    void theConsoleTypeNumberAndEscapeOptionsAreXls() throws Exception {
        assertThat(xl("create", cfg("o1.cfg", "name = 'o1'\ninproc = 1\n").toString()).code()).isZero();
        assertThat(xl("console", "-t", "tty", "o1")).isEqualTo(new XlResult(1, "", "console type supported are: pv, serial, vuart\n"));
        assertThat(xl("console", "-t", "serial", "o1"))
                .isEqualTo(new XlResult(1, "", "domain o1 is a PV guest: it has no serial console (use -t pv)\n"));
        assertThat(xl("console", "-n", "1", "o1"))
                .isEqualTo(new XlResult(1, "", "domain o1 has no console 1: a PV guest's console is 0\n"));
        assertThat(xl("console", "-e", "^^^", "o1")).isEqualTo(new XlResult(1, "", "Invalid escape argument\n"));
        // -t pv -n 0 is the console there is; -e ^a makes Ctrl-A the way out, and Ctrl-] an ordinary key.
        try (ConsoleProcess xl = new ConsoleProcess(run, "console", "-t", "pv", "-n", "0", "-e", "^a", "o1")) {
            int at = xl.awaitOutput(0, "Kernel command line: \n");
            xl.type(CTRL_RIGHT_BRACKET);
            xl.type("\n");
            xl.awaitOutput(at, "root@o1:~# ");
            xl.type((byte) 0x01);
            assertThat(xl.awaitExit()).as(xl.err()).isZero();
        }
    }

    @Test
    void consoleOfNoSuchDomainIsOneLineAndStatus1() throws Exception {
        try (ConsoleProcess xl = new ConsoleProcess(run, "console", "nosuch")) {
            assertThat(xl.awaitExit()).isEqualTo(1);
            assertThat(xl.err()).isEqualTo("nosuch is an invalid domain identifier (rc=-6)\n");
            assertThat(xl.out()).isEmpty();
        }
    }
}
