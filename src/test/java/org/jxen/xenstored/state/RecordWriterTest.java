package org.jxen.xenstored.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import java.util.List;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.junit.jupiter.api.Test;

/** NODE_DATA as xenstore-migration.pandoc lays it out, byte for byte (the journal's hot path writes it by hand). */
class RecordWriterTest {
    private static String hex(RecordWriter w) {
        return HexFormat.of().formatHex(w.toBytes());
    }

    @Test
    void nodeDataWithTwoPermissionsAndPadding() {
        RecordWriter w = new RecordWriter(64);
        w.node("/a/b", XsPerms.parse(List.of("n5", "r7")), new byte[] {'x', 'y', 'z'});
        // type 5, len 16 + 2*4 + 5 + 3 = 32; conn-id 0, tx-id 0; path-len 5, value-len 3, access 0, perm-count 2;
        // 'n' pad domid 5, 'r' pad domid 7; "/a/b\0"; "xyz"; no padding (32 is a multiple of 8).
        assertThat(hex(w)).isEqualTo("05000000" + "20000000" + "00000000" + "00000000" + "0500" + "0300" + "0000" + "0200"
                + "6e000500" + "72000700" + "2f612f6200" + "78797a");
    }

    @Test
    void aRemovalHasNoPermissionsAndIsPadded() {
        RecordWriter w = new RecordWriter(64);
        w.node("/gone", null, null);
        // len 16 + 6 = 22, padded to 24.
        assertThat(hex(w)).isEqualTo("05000000" + "16000000" + "00000000" + "00000000" + "0600" + "0000" + "0000" + "0000"
                + "2f676f6e6500" + "0000");
    }

    @Test
    void aDomainIdPastSixteenBitsMakesTheWideRecord() {
        RecordWriter w = new RecordWriter(64);
        w.node("/w", XsPerms.of(new XsPerm(0, true, true), new XsPerm(1215752191, true, false)), new byte[0]);
        // type 0x80000005, len 16 + 2*8 + 3 = 35, padded to 40; 8-octet specifiers: letter, pad, u16 0, u32 domid.
        assertThat(hex(w)).isEqualTo("05000080" + "23000000" + "00000000" + "00000000" + "0300" + "0000" + "0000" + "0200"
                + "62000000" + "00000000" + "72000000" + "ffe77648" + "2f7700" + "0000000000");
    }
}
