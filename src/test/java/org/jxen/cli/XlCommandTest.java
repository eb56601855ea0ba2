package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code jxen xl} against a host started here: in-process picocli runs with captured output, and real processes. */
@Timeout(180)
class XlCommandTest extends XlHostFixture {

    private Path cfg(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void createListDmesgConsoleShutdownOfAnInProcessGuest() throws Exception {
        XlResult c = xl("create", cfg("g1.cfg", "# test guest\nname = \"g1\"\nmemory = 32\nvcpus = 1\ninproc = 1\n").toString());
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.err()).startsWith("Parsing config from ");

        XlResult list = xl("list");
        assertThat(list.code()).isZero();
        String[] rows = list.out().split("\n");
        assertThat(rows[0]).isEqualTo("Name                                        ID   Mem VCPUs\tState\tTime(s)");
        assertThat(XlRow.parse(rows[1])).satisfies(r -> {
            assertThat(r).extracting(XlRow::name, XlRow::id, XlRow::vcpus).containsExactly("Domain-0", 0, 1);
            assertThat(r.runningOrBlocked()).as(r.state()).isTrue();
        });
        assertThat(XlRow.parse(rows[2])).satisfies(r -> {
            assertThat(r).extracting(XlRow::name, XlRow::id, XlRow::mem, XlRow::vcpus).containsExactly("g1", 1, 32L, 1);
            assertThat(r.runningOrBlocked()).as(r.state()).isTrue();
        });

        awaitConsoleLine("g1", "Booting jxen kernel on domain 1 (ModularKernel)");
        assertThat(xl("dmesg").out()).contains("toolstack: created domain 1 (g1, in-process)");

        // A process of its own: xl console reads its standard input, which in this JVM is the test runner's.
        CompletableFuture<XlResult> console = CompletableFuture.supplyAsync(() -> {
            try {
                return process("console", "g1");
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, task -> Thread.ofPlatform().daemon().start(task));
        awaitFollower();
        assertThat(xl("shutdown", "g1").code()).isZero();
        XlResult followed = console.get(60, TimeUnit.SECONDS);
        assertThat(followed.code()).as(followed.err()).isZero();
        assertThat(followed.out()).contains("Booting jxen kernel", "xenbus: shutdown requested: poweroff",
                "reboot: Power down");
        assertThat(Files.readString(run.resolve("console/guest-g1.log"))).contains("reboot: Power down");
    }

    @Test
    void destroyByIdAndErrorsAreXlLike() throws Exception {
        assertThat(xl("create", cfg("a.cfg", "name = 'a'\ninproc = 1").toString()).code()).isZero();

        XlResult dup = xl("create", cfg("a2.cfg", "name = 'a'\ninproc = 1").toString());
        assertThat(dup.code()).isEqualTo(1);
        assertThat(dup.err()).contains("domain with name a already exists");

        XlResult bad = xl("create", cfg("bad.cfg", "name = 'b'\nmemory = [1, 2\n").toString());
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("Failed to parse config: " + dir.resolve("bad.cfg") + ":2: list is not closed");

        XlResult pci = xl("create", cfg("pci.cfg", "name = 'b'\npci = ['01:00.0']\n").toString());
        assertThat(pci.err()).contains("pci.cfg:2: pci: jxen cannot pass host hardware through to a guest");

        assertThat(xl("create", dir.resolve("missing.cfg").toString()).err()).contains("No such file or directory");

        XlResult nosuch = xl("destroy", "nosuch");
        assertThat(nosuch.code()).isEqualTo(1);
        assertThat(nosuch.err()).isEqualTo("nosuch is an invalid domain identifier (rc=-6)\n");
        assertThat(xl("destroy", "0").err()).contains("Not destroying domain 0; use -f to force.");
        assertThat(xl("shutdown", "7").err()).contains("7 is an invalid domain identifier");

        assertThat(xl("destroy", "1").code()).isZero();
        assertThat(xl("list").out().split("\n")).hasSize(2);
    }

    @Test
    void createDryRunPrintsTheDomainConfigLibxlWouldBuildAndCreatesNothing() throws Exception {
        Path img = dir.resolve("d.img");
        Files.write(img, new byte[1 << 20]);
        Path cfg = dir.resolve("dry.cfg");
        Files.writeString(cfg, "name = 'dry'\nmemory = 48\nvcpus = 2\nuuid = '01234567-89ab-cdef-0123-456789abcdef'\n"
                + "extra = 'quiet'\ndisk = ['format=raw, vdev=xvda, access=rw, target=" + img + "']\n");
        XlResult r = xl("create", "-n", cfg.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEqualTo("Parsing config from " + cfg + "\n");
        assertThat(r.out()).startsWith("{\n").contains("\"c_info\": {", "\"type\": \"pv\"", "\"name\": \"dry\"",
                "\"uuid\": \"01234567-89ab-cdef-0123-456789abcdef\"", "\"max_vcpus\": 2", "\"max_memkb\": 49152",
                "\"target_memkb\": 49152", "\"cmdline\": \"quiet\"", "\"pdev_path\": \"" + img + "\"", "\"vdev\": \"xvda\"",
                "\"readwrite\": 1");
        assertThat(host.guests()).isEmpty();
        assertThat(host.xenstore().directory("/local/domain")).containsExactly("0");
        // xl's global -N: the same, and no host is needed to parse; a command without a dry run refuses it.
        XlResult global = XlResult.run(dir.resolve("nohost"), "-N", "create", cfg.toString());
        assertThat(global.code()).as(global.err()).isZero();
        assertThat(global.out()).isEqualTo(r.out());
        assertThat(xl("-N", "list")).isEqualTo(new XlResult(1, "", "command does not implement -N (dryrun) option\n"));
        assertThat(host.guests()).isEmpty();

        // -d prints the same and creates the domain; -e (no xl left waiting for its death) changes nothing here.
        XlResult debug = xl("create", "-d", "-e", cfg.toString(), "inproc=1");
        assertThat(debug.code()).as(debug.err()).isZero();
        assertThat(debug.out()).isEmpty();
        assertThat(debug.err()).isEqualTo("Parsing config from " + cfg + "\n" + r.out());
        assertThat(host.guests()).extracting(org.jxen.toolstack.Host.Guest::name).containsExactly("dry");
    }

    @Test
    void withoutAHostXlSaysWhereItLooked() {
        XlResult r = XlResult.run(dir.resolve("nohost"), "list");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("cannot reach the jxen host at " + dir.resolve("nohost/toolstack.sock"));
    }

    @Test
    void deviceAttachAndDetachTalkToXenstoredDirectly() throws Exception {
        assertThat(xl("create", cfg("d.cfg", "name = 'd'\ninproc = 1").toString()).code()).isZero();
        XsClient xs = host.xenstore();
        String fe = "/local/domain/1/device/testdev/0";
        try (AutoBackend b = new AutoBackend(xs, "testdev")) {
            XlResult a = xl("device-attach", "d", "testdev");
            assertThat(a.code()).as(a.err()).isZero();
            assertThat(xs.readString(fe + "/backend")).isEqualTo("/local/domain/0/backend/testdev/1/0");
            assertThat(xs.readString("/local/domain/0/backend/testdev/1/0/state")).isEqualTo("2");
            assertThat(xl("device-attach", "d", "testdev").code()).isZero();
            assertThat(xs.exists("/local/domain/1/device/testdev/1")).isTrue();

            assertThat(xl("device-detach", "d", "testdev", "0").code()).isZero();
            assertThat(xs.exists(fe)).isFalse();
        }
        XlResult none = xl("device-detach", "1", "testdev", "0");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).contains("no testdev 0 of domain 1");
        assertThat(xl("device-attach", "zz", "testdev").err()).contains("zz is an invalid domain identifier");
    }

    @Test
    void realXlProcessesCreateAnOwnProcessGuestAndReadItsConsole() throws Exception {
        XlResult c = process("create", cfg("p.cfg", "name = \"p1\"\nmemory = 16\n").toString());
        assertThat(c.code()).as(c.err()).isZero();
        awaitConsoleLine("p1", "Booting jxen kernel on domain 1 (ModularKernel)");
        XlResult list = process("list");
        assertThat(XlRow.of(list.out(), "p1")).extracting(XlRow::id, XlRow::mem, XlRow::vcpus).containsExactly(1, 16L, 1);
        assertThat(host.guests()).singleElement().satisfies(g -> assertThat(g.process()).isNotNull());
        XlResult dmesg = process("dmesg", "p1");
        assertThat(dmesg.out()).startsWith("Booting jxen kernel on domain 1 (ModularKernel)\n");
        XlResult destroy = process("destroy", "p1");
        assertThat(destroy.code()).isZero();
        XlResult gone = process("destroy", "p1");
        assertThat(gone.code()).isEqualTo(1);
        assertThat(gone.err()).contains("p1 is an invalid domain identifier");
    }

    /** xl as its own process. */
    private XlResult process(String... args) throws Exception {
        return XlResult.process(run, dir, args);
    }

    private void awaitConsoleLine(String name, String line) throws Exception {
        int domid = host.guests().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow().domid();
        CompletableFuture<Void> seen = new CompletableFuture<>();
        var f = new org.jxen.toolstack.ConsoleLog.Follower(l -> {
            if (l.equals(line)) seen.complete(null);
        }, () -> {});
        if (host.consoleLog(domid).follow(f).contains(line)) seen.complete(null);
        seen.get(60, TimeUnit.SECONDS);
        host.consoleLog(domid).unfollow(f);
    }

    /** Waits until xl console is following (it registered as a follower of the only guest's log). */
    private void awaitFollower() throws Exception {
        var log = host.consoleLog(host.guests().getFirst().domid());
        for (int i = 0; i < 600 && log.followers() == 0; i++) Thread.sleep(50);
        assertThat(log.followers()).isEqualTo(1);
    }
}
