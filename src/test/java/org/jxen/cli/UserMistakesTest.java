package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.jxen.toolstack.GuestConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The mistakes a new user makes, as a table driven through the real CLI ({@code JxenCommand} as its own
 * process, some in a private mount namespace with a small or read-only file system, some without root's
 * permission override): each answers with its one line of message and exit code 1, and never with a Java
 * exception or a stack trace.
 */
@Timeout(600)
class UserMistakesTest extends XlHostFixture {

    /** One mistake: a shell line around {@code $JXEN} (the CLI), what stderr must contain, the exit code. */
    record Mistake(String what, String shell, String message, int code) {}

    private static String jxen() {
        return Path.of(System.getProperty("java.home"), "bin", "java") + " --enable-native-access=ALL-UNNAMED"
                + " -XX:TieredStopAtLevel=1 -cp " + System.getProperty("java.class.path") + " " + JxenCommand.class.getName();
    }

    /** Runs {@code bash -c shell} with JXEN set, in the scratch directory; stdout and stderr together. */
    private XlResult sh(String shell) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", shell).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("JXEN", jxen());
        pb.environment().put("RUN", run.toString());
        pb.environment().remove("JXEN_RUN_DIR");
        Process p = pb.start();
        CompletableFuture<Void> watchdog = CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(2, TimeUnit.MINUTES)).thenRun(p::destroyForcibly);
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new XlResult(p.waitFor(), "", out);
        } finally {
            watchdog.cancel(false);
        }
    }

    @Test
    void everyMistakeIsOneLineAndExitCodeOneNeverAStackTrace() throws Exception {
        host.create(GuestConfig.of("g", false));
        Files.writeString(dir.resolve("afile"), "x");
        Path deadHost = dir.resolve("dead");
        Files.createDirectories(deadHost);
        // A host killed with SIGKILL leaves its socket behind, with nobody listening.
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(deadHost.resolve("toolstack.sock")));
        }
        Files.createDirectories(deadHost.resolve("xenstored"));
        Files.writeString(dir.resolve("bad.cfg"), "name = 'b'\ndisk = [ 'x.img,raw,xvda,rw'\n");
        Files.writeString(dir.resolve("linux.cfg"), "name = 'l'\nkernel = '/bin/sh'\n");
        Files.writeString(dir.resolve("nodisk.cfg"), "name = 'nd'\ninproc = 1\ndisk = [ 'missing.img,raw,xvda,rw' ]\n");
        Files.writeString(dir.resolve("ok.cfg"), "name = 'ok'\ninproc = 1\n");
        String longDir = dir.resolve("d".repeat(110)).toString();
        // Root ignores file permissions; without CAP_DAC_OVERRIDE it meets them, as any user would.
        String noDac = "setpriv --bounding-set -dac_override,-dac_read_search ";
        String full = "unshare -m bash -c 'mount -t tmpfs -o size=64k tmpfs \"$0\" && head -c 1M /dev/zero > \"$0/fill\" 2>/dev/null; ";
        List<Mistake> table = List.of(
                new Mistake("host: run dir is a file", "$JXEN host --run-dir afile",
                        "jxen host: afile exists and is not a directory", 1),
                new Mistake("host: socket path over 107 bytes", "$JXEN host --run-dir " + longDir,
                        "jxen host: the socket path " + longDir + "/xenstored/socket is " + (longDir.length() + 17) + " bytes, over the 107-byte limit of Unix socket paths; use a shorter --run-dir (e.g. /tmp/jxen)", 1),
                new Mistake("host: run dir without permission", "mkdir -p np && chown 65534 np && chmod 700 np && "
                        + noDac + "$JXEN host --run-dir np/run", "jxen host: cannot start in np/run: " + dir.resolve("np/run") + ": Permission denied", 1),
                new Mistake("host: read-only file system", "mkdir -p ro && unshare -m bash -c 'mount --bind -o ro ro ro && "
                        + "$JXEN host --run-dir ro/run'", "jxen host: cannot start in ro/run: " + dir.resolve("ro/run") + ": Read-only file system", 1),
                new Mistake("host: full disk under the run dir", "mkdir -p full && " + full + "$JXEN host --run-dir $0/run' "
                        + dir.resolve("full"), "jxen host: cannot start in " + dir.resolve("full/run") + ": ", 1),
                new Mistake("host: full /dev/shm", full + "$JXEN host --run-dir shmrun' /dev/shm",
                        ".gnt: fallocate: No space left on device", 1),
                new Mistake("host: all-digit guest name", "$JXEN host --run-dir h2 --guest 12",
                        "jxen host: --guest 12: domain name '12' is all digits: xl would take it for a domain id", 1),
                new Mistake("host: duplicate guest names", "$JXEN host --run-dir h3 --guest a --guest a:inproc",
                        "jxen host: --guest a:inproc: domain with name a already exists", 1),
                new Mistake("host: bad module path", "$JXEN host --run-dir h4 --module-path /nonexistent.jar",
                        "jxen host: cannot start in h4: /nonexistent.jar: No such file or directory", 1),
                new Mistake("xenstored: socket path over 107 bytes", "$JXEN xenstored --socket " + longDir + "/socket",
                        "xenstored: the socket path " + longDir + "/socket is " + (longDir.length() + 7) + " bytes, over the"
                                + " 107-byte limit of Unix socket paths; use a shorter --socket (e.g. /tmp/jxen)", 1),
                new Mistake("xl: host directory is a file", "$JXEN xl -H afile list",
                        "cannot reach the jxen host at afile/toolstack.sock (is `jxen host` running?): Not a directory", 1),
                new Mistake("xl: attach a missing image", "$JXEN xl -H $RUN block-attach g /nonexistent.img,raw,xvda,w",
                        "add failed for vbd 51712 of domain 1: /nonexistent.img does not exist", 1),
                new Mistake("xl: a disk spec without vdev", "$JXEN xl -H $RUN block-attach g garbage",
                        "libxl: error: disk spec 'garbage' has no vdev", 1),
                new Mistake("xl: dead host", "$JXEN xl -H " + deadHost + " list", "cannot reach the jxen host at "
                        + deadHost.resolve("toolstack.sock") + " (is `jxen host` running?): Connection refused", 1),
                new Mistake("xl: dead host's xenstored", "$JXEN xl -H " + deadHost + " block-list g",
                        "libxl: error: cannot reach the jxen host's xenstored at " + deadHost.resolve("xenstored/socket"), 1),
                new Mistake("xl: no such host directory", "$JXEN xl -H /nonexistent list",
                        "cannot reach the jxen host at /nonexistent/toolstack.sock (is `jxen host` running?)", 1),
                new Mistake("xl: host path over 107 bytes", "$JXEN xl -H " + longDir + " list",
                        "cannot reach the jxen host: the socket path " + longDir + "/toolstack.sock is " + (longDir.length() + 15) + " bytes, over the 107-byte limit of Unix socket paths; use a shorter host directory (-H)", 1),
                new Mistake("xl: missing config", "$JXEN xl -H $RUN create nosuch.cfg",
                        "Failed to read config file: nosuch.cfg: No such file or directory", 1),
                new Mistake("xl: config is a directory", "$JXEN xl -H $RUN create .", "Failed to read config file: .: Is a directory", 1),
                new Mistake("xl: unreadable config", "cp ok.cfg secret.cfg && chown 65534 secret.cfg && chmod 600 secret.cfg && "
                        + noDac + "$JXEN xl -H $RUN create secret.cfg", "Failed to read config file: secret.cfg: Permission denied", 1),
                new Mistake("xl: config syntax", "$JXEN xl -H $RUN create bad.cfg",
                        "Failed to parse config: bad.cfg:2: list is not closed with ']'", 1),
                new Mistake("xl: a Linux kernel", "$JXEN xl -H $RUN create linux.cfg", "Failed to parse config: linux.cfg:2: kernel:"
                        + " /bin/sh is not a jar: jxen boots Java guest kernels (a jar of modules, or a jar with a GuestKernel), not a Linux image", 1),
                new Mistake("xl: a missing disk image", "$JXEN xl -H $RUN create nodisk.cfg",
                        dir.resolve("missing.img") + " does not exist", 1),
                new Mistake("xl: huge memory", "$JXEN xl -H $RUN create ok.cfg memory=18446744073709551616",
                        "memory = 18446744073709551616 is out of range: 1 to 1024 MiB (jxen's limit per domain)", 1),
                new Mistake("xl: duplicate name", "$JXEN xl -H $RUN create ok.cfg 'name=\"g\"'",
                        "libxl: error: domain with name g already exists", 1),
                new Mistake("xl: no such domain", "$JXEN xl -H $RUN destroy nosuch", "nosuch is an invalid domain identifier", 1),
                new Mistake("xl: a domain name with a space", "$JXEN xl -H $RUN destroy 'my guest'",
                        "my guest is an invalid domain identifier", 1),
                new Mistake("xl: no host given", "env -u JXEN_RUN_DIR $JXEN xl list",
                        "no host given: use -H DIR or set JXEN_RUN_DIR", 1),
                new Mistake("xl: exec in no such domain", "$JXEN xl -H $RUN exec nosuch -- lsmod",
                        "xl exec: nosuch is an invalid domain identifier", 1),
                new Mistake("xl: detach what is not there", "$JXEN xl -H $RUN block-detach g xvdz", "Error: Device xvdz not connected.", 1),
                new Mistake("xl: destroy dom0", "$JXEN xl -H $RUN destroy 0", "Not destroying domain 0; use -f to force.", 1));
        SoftAssertions soft = new SoftAssertions();
        List<String> seen = new ArrayList<>();
        for (Mistake m : table) {
            XlResult r = sh(m.shell());
            seen.add(m.what() + " -> " + r.err());
            soft.assertThat(r.code()).as(m.what() + ": exit code; output: " + r.err()).isEqualTo(m.code());
            soft.assertThat(r.err()).as(m.what()).contains(m.message());
            soft.assertThat(r.err()).as(m.what() + ": no Java exception").doesNotContain("Exception", "at org.", "at java.");
        }
        soft.assertAll();
        assertThat(seen).hasSize(table.size());
    }
}
