package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Through xl: a writable image is one domain's (Xen's block script's sharing check, named domain, {@code w!}
 * to force); {@code xl exec --timeout} kills what still runs; a block-detach reports its deferred grant ends in
 * one line.
 */
@Timeout(300)
class XlDiskSharingAndExecTest extends XlHostFixture {

    private int create(String name, String extra) throws Exception {
        return createGuest(name, "memory = 32\n" + extra);
    }

    private Path image(String name, int mib) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength((long) mib << 20);
        }
        return p;
    }

    @Test
    void aWritableImageAttachedToAnotherDomainIsRefusedNamingItUnlessForced() throws Exception {
        Path img = image("shared.img", 8);
        int g1 = create("g1", "inproc = 1\n");
        int g2 = create("g2", "inproc = 1\n");
        assertThat(xl("block-attach", "g1", img + ",raw,xvda,w").code()).isZero();
        // The same domain may have the image twice (Xen's same_vm).
        assertThat(xl("block-attach", "g1", img + ",raw,xvdc,w").code()).isZero();

        String refused = "File " + img + " is attached read-write to domain " + g1 + " (g1), and so cannot be attached";
        XlResult rw = xl("block-attach", "g2", img + ",raw,xvda,w");
        assertThat(rw.code()).isEqualTo(1);
        assertThat(rw.err()).isEqualTo("libxl: error: hotplug script " + Path.of("scripts/hotplug/block").toAbsolutePath()
                + " add failed for vbd 51712 of domain " + g2 + ": " + refused + " now (access w! shares it anyway)\n"
                + "libxl_device_disk_add failed.\n");
        XlResult ro = xl("block-attach", "g2", img + ",raw,xvda,r");
        assertThat(ro.code()).isEqualTo(1);
        assertThat(ro.err()).contains(refused + " read-only now");
        // Refused adds leave nothing behind.
        assertThat(xl("block-list", "g2").out().split("\n")).hasSize(1);

        XlResult forced = xl("block-attach", "g2", img + ",raw,xvda,w!");
        assertThat(forced.code()).as(forced.err()).isZero();
        assertThat(host.xenstore().readString("/local/domain/0/backend/vbd/" + g2 + "/51712/mode")).isEqualTo("w!");

        // Read-only attachments share, as on Xen; a writer then is refused.
        Path ro2 = image("ro.img", 4);
        assertThat(xl("block-attach", "g1", ro2 + ",raw,xvdb,r").code()).isZero();
        assertThat(xl("block-attach", "g2", ro2 + ",raw,xvdb,r").code()).isZero();
        int g3 = create("g3", "inproc = 1\n");
        XlResult writer = xl("block-attach", "g3", ro2 + ",raw,xvdb,rw");
        assertThat(writer.err()).contains("File " + ro2 + " is attached read-only to domain ");
        assertThat(writer.code()).isEqualTo(1);
        assertThat(g3).isPositive();
    }

    @Test
    void execTimeoutKillsTheCommandInTheGuestAndRemovesItsNodes() throws Exception {
        int g = create("t", "disk = [ 'null:64M,raw,xvda,rw' ]\n");
        XlResult r = xl("exec", "--timeout", "1", "t", "--", "blkbench", "/dev/xvda", "--rw", "randread", "--bs", "4k",
                "--qd", "1", "--seconds", "120");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("xl exec: blkbench timed out after 1 s; killed it in domain " + g
                + " and removed data/exec/0\n");
        XsClient xs = host.xenstore();
        assertThat(xs.directory("/local/domain/" + g + "/data/exec")).containsExactly("next");
        await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(g).lines()
                .contains("exec: killing command 0 (xl exec --timeout)"));
        // The guest's exec agent goes on serving.
        XlResult after = xl("exec", "--timeout", "60", "t", "--", "lsmod");
        assertThat(after.code()).as(after.err()).isZero();
        assertThat(after.out()).startsWith("Module");
        assertThat(xs.directory("/local/domain/" + g + "/data/exec")).containsExactly("next");
    }

    @Test
    void aBlockDetachReportsItsDeferredGrantEndsInOneLine() throws Exception {
        Path img = image("d.img", 16);
        int g = create("d", "inproc = 1\ndisk = [ '" + img + ",raw,xvda,rw' ]\n");
        // Traffic first, so that the frontend has many grants the backend maps (persistent grants).
        XlResult dd = xl("exec", "d", "--", "sha256sum", "/dev/xvda");
        assertThat(dd.code()).as(dd.err()).isZero();
        XlResult detach = xl("block-detach", "d", "xvda");
        assertThat(detach.code()).as(detach.err()).isZero();
        assertThat(detach.err()).isEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> host.consoleLog(g).lines().stream()
                .anyMatch(l -> l.startsWith("xenbus: deferring end of")));
        List<String> deferred = host.consoleLog(g).lines().stream().filter(l -> l.contains("deferring end of")).toList();
        assertThat(deferred).singleElement().asString()
                .matches("xenbus: deferring end of \\d+ grants \\(refs \\d+-\\d+, still mapped\\)");
    }
}
