package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a guest's reboot is built from (xl's reload_domain_config: the domain as it is now, disks attached since
 * its creation included and detached ones gone, its balloon target and online vCPUs; or what xl config-update
 * stored), and xl
 * sysrq: the guest's kernel acts on control/sysrq as Linux's manage.c does.
 */
@Timeout(240)
class XlSysrqAndRebootTest extends XlHostFixture {

    private Optional<Integer> domid(String name) {
        return host.guests().stream().filter(g -> g.name().equals(name)).map(Host.Guest::domid).findFirst();
    }

    /** The domain called {@code name} once it is another than {@code old}: the rebooted one. */
    private int rebooted(String name, int old) {
        await().atMost(Duration.ofSeconds(60)).until(() -> domid(name).filter(d -> d != old).isPresent());
        return domid(name).orElseThrow();
    }

    private Path image(String name) throws Exception {
        Path img = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return img;
    }

    /** xl list's row of a domain: name, id, Mem, VCPUs, state. */
    private String[] row(String dom) {
        XlResult l = xl("list", dom);
        assertThat(l.code()).as(l.err()).isZero();
        return l.out().lines().skip(1).findFirst().orElseThrow().trim().split("\\s+");
    }

    private String console(int domid) {
        return String.join("\n", host.consoleLog(domid).lines());
    }

    @Test
    void aRebootKeepsTheDisksAttachedSinceCreationAndTheBalloonTargetAndDropsDetachedOnes() throws Exception {
        Path created = image("created.img");
        int first = createGuest("g", "inproc = 1\nmemory = 32\nmaxmem = 64\nmaxvcpus = 2\ndisk = ['format=raw, vdev=xvda, access=rw, target="
                + created + "']\n");
        assertThat(xl("vcpu-set", "-i", "g", "2").code()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> row("g")[3].equals("2"));
        XlResult attach = xl("block-attach", "g", "format=raw, vdev=xvdb, access=rw, no-discard, target=" + image("hot.img"));
        assertThat(attach.code()).as(attach.err()).isZero();
        XlResult detach = xl("block-detach", "g", "xvda");
        assertThat(detach.code()).as(detach.err()).isZero();
        assertThat(xl("mem-set", "g", "48m").code()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> row("g")[2].equals("48"));

        assertThat(xl("reboot", "g").code()).isZero();
        int second = rebooted("g", first);

        // xvdb (51728) came back, xvda (51712) did not; the new domain starts holding the target.
        await().atMost(Duration.ofSeconds(30)).until(() -> xl("block-list", "g").out().contains("51728"));
        String disks = xl("block-list", "g").out();
        assertThat(disks).contains("/local/domain/0/backend/vbd/" + second + "/51728").doesNotContain("51712");
        assertThat(host.xenstore().readString("/local/domain/0/backend/vbd/" + second + "/51728/params"))
                .isEqualTo(dir.resolve("hot.img").toString());
        assertThat(host.xenstore().readString("/local/domain/0/backend/vbd/" + second + "/51728/discard-enable"))
                .as("its no-discard").isEqualTo("0");
        assertThat(row("g")[2]).isEqualTo("48");
        // The vCPUs vcpu-set brought up: the new domain's kernel brings them up again.
        await().atMost(Duration.ofSeconds(30)).until(() -> row("g")[3].equals("2"));
        assertThat(host.xenstore().readString("/local/domain/" + second + "/cpu/1/availability")).isEqualTo("online");
        assertThat(host.xenstore().readString("/local/domain/" + second + "/memory/static-max")).isEqualTo(String.valueOf(64 * 1024));
        assertThat(xl("dmesg").out()).doesNotContain("reusing old configuration");
    }

    @Test
    void createInTheForegroundFollowsTheDomainThroughItsRebootUntilItIsGone() throws Exception {
        Path cfg = Files.writeString(dir.resolve("f.cfg"), "name = 'f'\ninproc = 1\n");
        java.util.concurrent.CompletableFuture<XlResult> fg = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> xl("create", "-F", cfg.toString()), task -> Thread.ofPlatform().daemon().start(task));
        await().atMost(Duration.ofSeconds(60)).until(() -> domid("f").isPresent());
        int first = domid("f").orElseThrow();
        assertThat(fg).isNotDone();
        assertThat(xl("reboot", "f").code()).isZero();
        int second = rebooted("f", first);
        assertThat(fg).isNotDone();
        assertThat(xl("shutdown", "f").code()).isZero();
        XlResult r = fg.get(60, java.util.concurrent.TimeUnit.SECONDS);
        long pid = ProcessHandle.current().pid();
        assertThat(r).isEqualTo(new XlResult(0, "", "Parsing config from " + cfg + "\n"
                + "Waiting for domain f (domid " + first + ") to die [pid " + pid + "]\n"
                + "Domain " + first + " has shut down, reason code 1 0x1\n"
                + "Action for shutdown reason code 1 is restart\n"
                + "Domain " + first + " needs to be cleaned up: destroying the domain\n"
                + "Done. Rebooting now\n"
                + "Waiting for domain f (domid " + second + ") to die [pid " + pid + "]\n"
                + "Domain " + second + " has shut down, reason code 0 0x0\n"
                + "Action for shutdown reason code 0 is destroy\n"
                + "Domain " + second + " needs to be cleaned up: destroying the domain\n"
                + "Done. Exiting now\n"));
    }

    @Test
    void configUpdateGivesTheNextRebootItsConfigOnce() throws Exception {
        int first = createGuest("u", "inproc = 1\nmemory = 32\n");
        // A name in the new config does not rename the domain: xl restarts it under the name it has.
        Path next = Files.writeString(dir.resolve("next.cfg"), "name = 'other'\ninproc = 1\nmemory = 20\n");
        XlResult up = xl("config-update", "u", next.toString(), "vcpus=2");
        assertThat(up).isEqualTo(new XlResult(0, "", "WARNING: xl now has better capability to manage domain configuration, "
                + "avoid using this command when possible\nsetting dom" + first + " configuration\n"));

        assertThat(xl("reboot", "u").code()).isZero();
        int second = rebooted("u", first);
        assertThat(row("u")).containsSubsequence("u", String.valueOf(second), "20", "2");
        assertThat(xl("dmesg").out()).contains("toolstack: \"xl\" configuration found, using it");

        // Used once: the reboot after that builds from the domain as it is, which is what the update made it.
        assertThat(xl("reboot", "u").code()).isZero();
        int third = rebooted("u", second);
        assertThat(row("u")).containsSubsequence("u", String.valueOf(third), "20", "2");
    }

    @Test
    void configUpdateRefusesWhatXlRefuses() throws Exception {
        createGuest("v", "inproc = 1\n");
        String warning = "WARNING: xl now has better capability to manage domain configuration, avoid using this command when possible\n";
        XlResult none = xl("config-update");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).startsWith("xl config-update requires a domain argument\nUsage: xl ");
        assertThat(xl("config-update", "v")).isEqualTo(new XlResult(1, "", warning + "Config file not specified\n"));
        assertThat(xl("config-update", "nosuch", "x.cfg")).isEqualTo(new XlResult(1, "", warning + "nosuch is an invalid domain identifier (rc=-6)\n"));
        Path bad = Files.writeString(dir.resolve("bad.cfg"), "name = 'v'\nmemory = 'lots'\n");
        XlResult parse = xl("config-update", "v", bad.toString());
        assertThat(parse.code()).isEqualTo(1);
        assertThat(parse.err()).startsWith(warning + "Failed to parse config: " + bad + ":2: ");
    }

    @Test
    void sysrqKeysActInTheGuestAsLinuxDoes() throws Exception {
        int d = createGuest("s", "inproc = 1\nmemory = 32\nmaxmem = 48\n");
        assertThat(xl("sysrq", "s", "h")).isEqualTo(new XlResult(0, "", ""));
        await().atMost(Duration.ofSeconds(30)).until(() -> console(d).contains(
                "sysrq: HELP : reboot(b) crash(c) show-memory-usage(m) poweroff(o) sync(s)"));
        // The kernel clears the key once it has it, as manage.c's sysrq_handler does.
        assertThat(host.xenstore().readString("/local/domain/" + d + "/control/sysrq")).isEmpty();

        assertThat(xl("sysrq", "s", "m").code()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> console(d).contains("sysrq: Show Memory"));
        // 48 MiB of frames, 16 of them never populated (memory = 32).
        await().atMost(Duration.ofSeconds(30)).until(() -> console(d).contains("8192 pages RAM"));
        assertThat(console(d)).contains("4096 pages ballooned out");

        XlResult two = xl("sysrq", "s", "ab");
        assertThat(two.code()).isEqualTo(1);
        assertThat(two.err()).startsWith("Invalid sysrq.\n\nUsage: xl ");
        assertThat(xl("sysrq", "nosuch", "h")).isEqualTo(new XlResult(1, "", "nosuch is an invalid domain identifier (rc=-6)\n"));
    }

    @Test
    void sysrqCrashPanicsWithTheDevicesAsTheyAreAndOnCrashDecides() throws Exception {
        int d = createGuest("c", "inproc = 1\non_crash = 'preserve'\ndisk = ['format=raw, vdev=xvda, access=rw, target="
                + image("c.img") + "']\n");
        String be = "/local/domain/0/backend/vbd/" + d + "/51712";
        await().atMost(Duration.ofSeconds(30)).until(() -> "4".equals(host.xenstore().readOrNull(be + "/state")));
        assertThat(xl("sysrq", "c", "c").code()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> row("c")[4].contains("c"));
        assertThat(row("c")[4]).isEqualTo("---sc-");
        assertThat(console(d)).contains("sysrq: Trigger a crash\nKernel panic - not syncing: sysrq triggered crash");
        // A panic shuts no device down: the frontend never said Closing, the backend is still Connected.
        assertThat(host.xenstore().readString("/local/domain/" + d + "/device/vbd/51712/state")).isEqualTo("4");
        assertThat(host.xenstore().readString(be + "/state")).isEqualTo("4");
        assertThat(xl("dmesg").out()).contains("toolstack: domain " + d + " (c) has shut down, reason code 3 (crashed)",
                "toolstack: Action for shutdown reason code 3 is preserve");
    }
}
