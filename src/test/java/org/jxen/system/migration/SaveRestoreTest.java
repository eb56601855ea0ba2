package org.jxen.system.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.jxen.cli.XlResult;
import org.jxen.kernel.ModularKernel;
import org.jxen.kernel.StandardKernel;
import org.jxen.system.TestGuestKernel;
import org.jxen.toolstack.GuestConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.migration.SaveReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * xl save and xl restore between two hosts, the guest writing numbered blocks and greeting over mydevice
 * throughout; xl save -c and -p; and images that must be refused.
 */
@Timeout(300)
class SaveRestoreTest extends MigrationFixture {

    @Test
    void aGuestSavedOnOneHostAndRestoredOnAnotherContinuesWithoutAGap() throws Exception {
        int domid = createWriter("g");
        String vm = read(host1, "/local/domain/" + domid + "/vm");
        Path image = dir.resolve("g.save");
        XlResult save = xl(run1, "save", "g", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        assertThat(save.err()).contains("Saving to " + image + " new xl format").contains("domain destroyed");
        assertGone(host1, domid, "g");
        long atSave = blocks();
        Thread.sleep(200);
        assertThat(blocks()).as("nothing writes while the guest is saved").isEqualTo(atSave);

        // The image is what SaveFormat says: it reads to its end, with the config and the kernel record.
        try (InputStream in = new BufferedInputStream(Files.newInputStream(image))) {
            SaveReader r = new SaveReader(in);
            assertThat(r.config()).contains("name = \"g\"").contains("target=" + disk).contains("mydevice = ");
            boolean kernel = false;
            for (SaveReader.Record rec = r.next(); !(rec instanceof SaveReader.Record.End); rec = r.next()) {
                if (rec instanceof SaveReader.Record.Kernel) kernel = true;
            }
            assertThat(kernel).isTrue();
        }

        XlResult restore = xl(run2, "restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        int restored = domid(host2, "g");
        awaitRunningAndWriting(host2, restored);
        assertThat(read(host2, "/local/domain/" + restored + "/vm")).as("the same uuid").isEqualTo(vm);
        assertThat(read(host2, "/local/domain/" + restored + "/name")).isEqualTo("g");
        // The workload went on from the first block not yet acknowledged at the save.
        await().atMost(WAIT).until(() -> host2.consoleLog(restored).lines().stream()
                .anyMatch(l -> l.equals("seqwrite: writing numbered blocks to xvda from block " + atSave)));
        assertThat(host2.consoleLog(restored).lines()).contains("xen:manage: resumed in a new domain, devices reconnecting");
        stopAndCheckDisk(host2, "g");
    }

    @Test
    void aDdRunningAtTheSaveGoesOnAfterTheRestoreFromWhereItStopped() throws Exception {
        Path image = dir.resolve("dd.save");
        DdRun dd = ddWhile("dd", () -> java.util.concurrent.CompletableFuture.supplyAsync(
                () -> xl(run1, "save", "dd", image.toString()), r -> Thread.ofPlatform().daemon().start(r)));
        assertThat(dd.move().code()).as(dd.move().err()).isZero();
        assertGone(host1, dd.domid(), "dd");
        XlResult restore = xl(run2, "restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        assertDdFinished(host2, "dd", dd.exec(), "xl exec: domain dd saved to " + image
                + "; dd continues in the domain restored from it, as data/exec/0");
    }

    @Test
    void aSha256sumRunningAtTheSaveGoesOnAfterTheRestoreAndGivesTheDigestOfTheWholeInput() throws Exception {
        Path image = dir.resolve("sha.save");
        ShaRun sha = sha256While("sha", () -> java.util.concurrent.CompletableFuture.supplyAsync(
                () -> xl(run1, "save", "sha", image.toString()), r -> Thread.ofPlatform().daemon().start(r)));
        assertThat(sha.move().code()).as(sha.move().err()).isZero();
        XlResult source = sha.exec().get(2, java.util.concurrent.TimeUnit.MINUTES);
        assertThat(source.code()).as(source.err()).isEqualTo(75);
        assertThat(source.err().strip()).isEqualTo("xl exec: domain sha saved to " + image
                + "; sha256sum continues in the domain restored from it, as data/exec/0");
        assertGone(host1, sha.domid(), "sha");
        XlResult restore = xl(run2, "restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        int domid = domid(host2, "sha");
        String exec = "/local/domain/" + domid + "/data/exec/0";
        await().atMost(WAIT).until(() -> read(host2, exec + "/status") != null);
        assertThat(read(host2, exec + "/status")).isEqualTo("0");
        assertThat(read(host2, exec + "/cmd")).isEqualTo("sha256sum\n/dev/xvda");
        assertThat(read(host2, exec + "/output/0")).isEqualTo(sha.digest() + "  /dev/xvda\n");
        assertResumedInLog(host2, domid, "sha256sum");
    }

    /**
     * Guest {@code name} created on host 1 and its disk Connected, then {@code xl exec NAME -- blkbench /dev/xvda
     * ARGS --warmup 0} in the background, returned once the guest has read from its disk.
     */
    private java.util.concurrent.CompletableFuture<XlResult> blkbenchReading(String name, String... args) throws Exception {
        XlResult c = xl(run1, "create", config(name).toString());
        assertThat(c.code()).as(c.err()).isZero();
        awaitConnected(host1, domid(host1, name));
        List<String> argv = new java.util.ArrayList<>(List.of("exec", name, "--", "blkbench", "/dev/xvda"));
        argv.addAll(List.of(args));
        argv.addAll(List.of("--warmup", "0"));
        var bench = java.util.concurrent.CompletableFuture.supplyAsync(() -> xl(run1, argv.toArray(String[]::new)),
                r -> Thread.ofPlatform().daemon().start(r));
        await().atMost(WAIT).until(() -> rchar(run1, name, 0) > 0);
        return bench;
    }

    @Test
    void aBlkbenchRunningAtTheSaveRunsTheRestAfterTheRestoreAndReportsTheTotals() throws Exception {
        var bench = blkbenchReading("bb", "--rw", "randread", "--bs", "4k", "--qd", "4", "--seconds", "10");
        Path image = dir.resolve("bb.save");
        XlResult save = xl(run1, "save", "bb", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        XlResult source = bench.get(2, java.util.concurrent.TimeUnit.MINUTES);
        assertThat(source.code()).isEqualTo(75);
        assertThat(source.err().strip()).isEqualTo("xl exec: domain bb saved to " + image
                + "; blkbench continues in the domain restored from it, as data/exec/0");
        XlResult restore = xl(run2, "restore", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        assertBlkbenchTotals(host2, domid(host2, "bb"), 10);
    }

    @Test
    void aCommandWhoseDomainIsDestroyedEndsXlExecWithTheDomainGoneAndExit1() throws Exception {
        var bench = blkbenchReading("d", "--qd", "1", "--seconds", "600");
        int domid = domid(host1, "d");
        assertThat(xl(run1, "destroy", "d").code()).isZero();
        XlResult r = bench.get(2, java.util.concurrent.TimeUnit.MINUTES);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("xl exec: domain " + domid + " went away while running blkbench");
    }

    /**
     * blkbench (number 0) ran on after the restore on {@code h}: stderr says where it resumed (ops and seconds
     * measured before, time to go), and its line's totals cover both parts: the whole window, more ops than before.
     */
    static void assertBlkbenchTotals(org.jxen.toolstack.Host h, int domid, int seconds) {
        String exec = "/local/domain/" + domid + "/data/exec/0";
        await().atMost(WAIT).until(() -> read(h, exec + "/status") != null);
        assertThat(read(h, exec + "/status")).isEqualTo("0");
        String err = read(h, exec + "/error/0");
        var m = java.util.regex.Pattern.compile("blkbench: resumed after a suspend at ops=(\\d+) seconds=([0-9.]+), ([0-9.]+) s to go\n")
                .matcher(err);
        assertThat(m.matches()).as(err).isTrue();
        long opsBefore = Long.parseLong(m.group(1));
        assertThat(opsBefore).isPositive();
        assertThat(Double.parseDouble(m.group(3))).as("stopped inside its window").isPositive();
        String out = read(h, exec + "/output/0");
        var line = java.util.regex.Pattern.compile("blkbench: /dev/xvda rw=randread bs=4096 qd=4 .* seconds=([0-9.]+) ops=(\\d+) .* errors=0\n")
                .matcher(out);
        assertThat(line.matches()).as(out).isTrue();
        assertThat(Double.parseDouble(line.group(1))).isGreaterThanOrEqualTo(seconds);
        assertThat(Long.parseLong(line.group(2))).isGreaterThan(opsBefore);
        assertResumedInLog(h, domid, "blkbench");
    }

    @Test
    void aGuestOfAnotherKernelComesBackAsThatKernelWithItsArgumentsWordForWord() throws Exception {
        // The plain standard kernel, and a kernel of its own whose one argument holds a space.
        host1.create(new GuestConfig("std", 32, 1, GuestConfig.STANDARD_KERNEL, List.of(), true));
        host1.create(new GuestConfig("tk", 32, 1, TestGuestKernel.class.getName(), List.of("memdirty mib=1"), true));
        await().atMost(WAIT).until(() -> "1".equals(read(host1, "/local/domain/" + domid(host1, "std") + "/control/feature-suspend"))
                && dmesg(host1, "tk").contains("memdirty: filled 256 pages"));
        for (String name : List.of("std", "tk")) {
            Path image = dir.resolve(name + ".save");
            XlResult save = xl(run1, "save", name, image.toString());
            assertThat(save.code()).as(save.err()).isZero();
            XlResult restore = xl(run2, "restore", image.toString());
            assertThat(restore.code()).as(restore.err()).isZero();
        }
        int std = domid(host2, "std");
        assertThat(host2.config(std).kernel()).isEqualTo(StandardKernel.class.getName());
        assertThat(kernelArgs(host2, std)).contains(StandardKernel.class.getName()).doesNotContain(ModularKernel.class.getName());
        int tk = domid(host2, "tk");
        assertThat(host2.config(tk).kernel()).isEqualTo(TestGuestKernel.class.getName());
        assertThat(host2.config(tk).kernelArgs()).containsExactly("memdirty mib=1");
        assertThat(kernelArgs(host2, tk)).endsWith(TestGuestKernel.class.getName(), "memdirty mib=1");
        // That kernel runs (its mirror of the log in data/dmesg is its own), resumed from its record and loaded
        // its module from its argument.
        await().atMost(WAIT).until(() -> dmesg(host2, "tk").contains("xen:manage: resumed in a new domain"));
        await().atMost(WAIT).until(() -> dmesg(host2, "tk").contains("memdirty: filled 256 pages"));
        assertThat(dmesg(host2, "tk")).doesNotContain("Kernel panic");
        await().atMost(WAIT).until(() -> "1".equals(read(host2, "/local/domain/" + std + "/control/feature-suspend")));
    }

    private static String dmesg(org.jxen.toolstack.Host h, String name) {
        String d = read(h, "/local/domain/" + domid(h, name) + "/data/dmesg");
        return d == null ? "" : d;
    }

    /** The command line of the guest's process: GuestMain's socket, domid, kernel class, kernel arguments. */
    private static List<String> kernelArgs(org.jxen.toolstack.Host h, int domid) {
        Process p = h.guests().stream().filter(g -> g.domid() == domid).findFirst().orElseThrow().process();
        return List.of(p.info().arguments().orElseThrow());
    }

    @Test
    void restorePausedRunsNothingOfTheGuestUntilUnpaused() throws Exception {
        createWriter("p");
        Path image = dir.resolve("p.save");
        XlResult save = xl(run1, "save", "p", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        long atSave = blocks();
        XlResult restore = xl(run2, "restore", "-p", image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        int restored = domid(host2, "p");
        assertThat(xl(run2, "list", "p").out()).contains(" --p--- ");
        // Its kernel has not started: no thread, no process.
        Host.Guest held = host2.guests().stream().filter(g -> g.domid() == restored).findFirst().orElseThrow();
        assertThat(held.thread()).isNull();
        assertThat(held.process()).isNull();
        Thread.sleep(300);
        // Built (its devices' backends wait for it) but not run: no resume, not a block written.
        assertThat(host2.consoleLog(restored).lines()).doesNotContain("xen:manage: resumed in a new domain, devices reconnecting");
        assertThat(blocks()).isEqualTo(atSave);
        assertThat(xl(run2, "unpause", "p").code()).isZero();
        awaitRunningAndWriting(host2, restored);
        await().atMost(WAIT).until(() -> host2.consoleLog(restored).lines()
                .contains("xen:manage: resumed in a new domain, devices reconnecting"));
        stopAndCheckDisk(host2, "p");
    }

    @Test
    void restoreWithAConfigFileBuildsTheDomainFromItInsteadOfTheImagesConfig() throws Exception {
        createWriter("k");
        Path image = dir.resolve("k.save");
        XlResult save = xl(run1, "save", "k", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        String saved = Files.readString(config("k"));

        // Other memory than the image's: refused before anything is built.
        Path bigger = dir.resolve("bigger.cfg");
        Files.writeString(bigger, saved.replace("memory = 32", "memory = 64"));
        XlResult refused = xl(run2, "restore", bigger.toString(), image.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).endsWith("libxl: error: " + image
                + ": the config's memory (64 MiB) is not the saved domain's (32 MiB)\n");
        assertThat(host2.guests()).isEmpty();
        XlResult missing = xl(run2, "restore", dir.resolve("none.cfg").toString(), image.toString());
        assertThat(missing).isEqualTo(new XlResult(1, "", "Loading new save file " + image + "\nFailed to read config file: "
                + dir.resolve("none.cfg") + ": No such file or directory\n"));
        XlResult three = xl(run2, "restore", bigger.toString(), image.toString(), image.toString());
        assertThat(three.code()).isEqualTo(1);
        assertThat(three.out()).isEqualTo(xl(run2, "help", "restore").out()).contains("[<ConfigFile>] <CheckpointFile>");

        // Another name and a relative path to its disk: the domain is the config's, its memory the image's.
        Path renamed = dir.resolve("k2.cfg");
        Files.writeString(renamed, saved.replace("\"k\"", "\"k2\"").replace(disk.toString(), dir.relativize(disk).toString()));
        XlResult restore = XlResult.process(run2, dir, "restore", renamed.getFileName().toString(), image.toString());
        assertThat(restore.code()).as(restore.err()).isZero();
        assertThat(restore.err()).startsWith("Loading new save file " + image + "\nParsing config from k2.cfg\n");
        int domid = domid(host2, "k2");
        assertThat(host2.guests()).extracting(Host.Guest::name).containsExactly("k2");
        awaitConnected(host2, domid);
        awaitRunningAndWriting(host2, domid);
        stopAndCheckDisk(host2, "k2");
    }

    @Test
    void saveWithCheckpointKeepsTheGuestRunningWithItsConnections() throws Exception {
        int domid = createWriter("c");
        Path image = dir.resolve("c.save");
        XlResult save = xl(run1, "save", "-c", "c", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        assertThat(save.err()).contains("resumed (suspend cancelled)");
        assertThat(domid(host1, "c")).isEqualTo(domid);
        await().atMost(WAIT).until(() -> host1.consoleLog(domid).lines().contains("xen:manage: suspend cancelled, devices kept"));
        awaitRunningAndWriting(host1, domid);
        assertThat(host1.consoleLog(domid).lines().stream().filter("Connecting the frontend now."::equals)).hasSize(1);
        stopAndCheckDisk(host1, "c");
    }

    @Test
    void saveWithLeavePausedKeepsTheGuestPausedUntilUnpause() throws Exception {
        int domid = createWriter("p");
        Path image = dir.resolve("p.save");
        XlResult save = xl(run1, "save", "-p", "p", image.toString());
        assertThat(save.code()).as(save.err()).isZero();
        assertThat(save.err()).contains("domain left paused (suspend cancelled; xl unpause runs it)");
        assertThat(domid(host1, "p")).isEqualTo(domid);
        assertThat(host1.dom0().domainControl().info(domid).state()).isEqualTo(org.jxen.hypervisor.DomainState.PAUSED);
        assertThat(xl(run1, "list", "p").out()).contains("     --p---  ");
        // Paused, it cannot answer another suspend request: the save fails and says the guest stays paused.
        XlResult again = xl(run1, "save", "--suspend-timeout", "1", "p", dir.resolve("p2.save").toString());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).endsWith("; the guest stays here, paused (it was not suspended)\n");
        assertThat(dir.resolve("p2.save")).doesNotExist();
        assertThat(host1.dom0().domainControl().info(domid).state()).isEqualTo(org.jxen.hypervisor.DomainState.PAUSED);
        assertThat(xl(run1, "unpause", "p").code()).isZero();
        await().atMost(WAIT).until(() -> host1.consoleLog(domid).lines().contains("xen:manage: suspend cancelled, devices kept"));
        awaitRunningAndWriting(host1, domid);
        stopAndCheckDisk(host1, "p");
    }

    @Test
    void truncatedCorruptAndWrongVersionImagesAreRefusedWithOneLine() throws Exception {
        createWriter("r");
        Path image = dir.resolve("r.save");
        assertThat(xl(run1, "save", "-c", "r", image.toString()).code()).isZero();
        byte[] good = Files.readAllBytes(image);

        Path cut = dir.resolve("cut.save");
        Files.write(cut, Arrays.copyOf(good, good.length / 2));
        assertRefused(cut, "truncated: the stream ends inside");

        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x40;
        Path corrupt = dir.resolve("corrupt.save");
        Files.write(corrupt, flipped);
        assertRefused(corrupt, "corrupt: checksum");

        // libxl's version, big-endian after "LibxlFmt", which follows the xl header and the config.
        byte[] other = good.clone();
        int cfgLen = ByteBuffer.wrap(good, 48, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        int version = 52 + cfgLen + 8;
        assertThat(new String(good, version - 8, 8, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("LibxlFmt");
        other[version + 3] = 3;
        Path wrong = dir.resolve("v3.save");
        Files.write(wrong, other);
        assertRefused(wrong, "unsupported libxl stream version 3 (jxen reads 2)");

        Path missing = dir.resolve("none.save");
        XlResult none = xl(run2, "restore", missing.toString());
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err().strip()).isEqualTo("cannot open " + missing + ": No such file or directory");
    }

    private void assertRefused(Path image, String why) throws Exception {
        XlResult r = xl(run2, "restore", image.toString());
        assertThat(r.code()).isEqualTo(1);
        String[] lines = r.err().strip().split("\n");
        assertThat(lines[lines.length - 1]).startsWith("libxl: error: " + image + ": ").contains(why);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(host2.guests()).isEmpty();
        assertThat(host2.domains()).hasSize(1);
        assertThat(host2.xenstore().exists("/local/domain/1")).isFalse();
        assertThat(host2.xenstore().exists("/local/domain/0/backend/vbd")
                && !host2.xenstore().directory("/local/domain/0/backend/vbd").isEmpty()).isFalse();
    }
}
