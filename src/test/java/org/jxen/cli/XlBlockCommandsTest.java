package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** xl block-attach, block-list and block-detach against a host with blkback and a guest with blkfront. */
@Timeout(180)
class XlBlockCommandsTest extends XlHostFixture {

    @Test
    void attachListDetach() throws Exception {
        Path img = dir.resolve("d.img");
        Files.write(img, new byte[1 << 20]);
        Path cfg = dir.resolve("g.cfg");
        // An old config's drivers = ['blkfront'] still boots: blkfront is built in, modprobe of it does nothing.
        Files.writeString(cfg, "name = 'g1'\ndrivers = ['blkfront']\ninproc = 1\n");
        assertThat(xl("create", cfg.toString()).code()).isZero();
        int domid = host.guests().get(0).domid();

        XlResult a = xl("block-attach", "g1", "format=raw,", "vdev=xvda,", "access=rw,", "target=" + img);
        assertThat(a.code()).as(a.err()).isZero();
        XlResult l = xl("block-list", "g1");
        assertThat(l.code()).isZero();
        List<String> lines = l.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("Vdev  BE  handle state evt-ch ring-ref BE-path                       ");
        assertThat(lines).hasSize(2);
        String[] f = lines.get(1).trim().split(" +");
        assertThat(f[0]).isEqualTo("51712");
        assertThat(f[1]).isEqualTo("0");
        assertThat(f[2]).isEqualTo(Integer.toString(domid));
        assertThat(f[3]).isIn("3", "4");
        assertThat(Integer.parseInt(f[4])).isPositive();
        assertThat(Integer.parseInt(f[5])).isPositive();
        assertThat(f[6]).isEqualTo("/local/domain/0/backend/vbd/" + domid + "/51712");

        XlResult bad = xl("block-attach", "g1", "/nonexistent.img,raw,xvdb,w");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("/nonexistent.img does not exist");

        XlResult d = xl("block-detach", "g1", "xvda");
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(xl("block-list", "g1").out().lines().toList()).hasSize(1);
        XlResult again = xl("block-detach", "g1", "xvda");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("Error: Device xvda not connected.");
    }
}
