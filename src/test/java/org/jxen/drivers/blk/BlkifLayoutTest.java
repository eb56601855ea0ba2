package org.jxen.drivers.blk;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The flyweights against hand-assembled bytes of blkif.h's x86_64 layouts. */
class BlkifLayoutTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] bytes(MemorySegment s, int n) {
        return s.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    @Test
    void request() {
        MemorySegment s = MemorySegment.ofArray(new byte[BlkifRequest.SIZE]).fill((byte) 0xEE);
        BlkifRequest r = new BlkifRequest().wrap(s).set(Blkif.OP_WRITE, 2, 0x0301, 0x1122334455667788L, 0x0A0B0C0DL)
                .setSegment(0, 0x12345678, 1, 7).setSegment(1, 9, 0, 0);
        String expect = "01" + "02" + "0103" + "00000000"
                + "8877665544332211" + "0d0c0b0a00000000"
                + "78563412" + "01" + "07" + "0000"
                + "09000000" + "00" + "00" + "0000";
        assertThat(HEX.formatHex(bytes(s, 40))).isEqualTo(expect);
        assertThat(bytes(s, BlkifRequest.SIZE)[40]).isEqualTo((byte) 0xEE); // seg[2] untouched
        assertThat(r.operation()).isEqualTo(1);
        assertThat(r.nrSegments()).isEqualTo(2);
        assertThat(r.handle()).isEqualTo(0x0301);
        assertThat(r.id()).isEqualTo(0x1122334455667788L);
        assertThat(r.sectorNumber()).isEqualTo(0x0A0B0C0DL);
        assertThat(r.gref(0)).isEqualTo(0x12345678);
        assertThat(r.firstSect(0)).isEqualTo(1);
        assertThat(r.lastSect(0)).isEqualTo(7);
        assertThat(BlkifRequest.segOffset(10) + BlkifSegment.SIZE).isEqualTo(BlkifRequest.SIZE);
    }

    @Test
    void segmentDescriptorIsOneEightByteWordWithZeroPadding() {
        MemorySegment s = MemorySegment.ofArray(new byte[16]).fill((byte) 0xEE);
        BlkifSegment.set(s, 8, 0x89ABCDEF, 2, 6);
        assertThat(HEX.formatHex(bytes(s, 16))).isEqualTo("eeeeeeeeeeeeeeee" + "efcdab89" + "02" + "06" + "0000");
        long w = BlkifSegment.word(s, 8);
        assertThat(w).isEqualTo(BlkifSegment.word(0x89ABCDEF, 2, 6));
        assertThat(BlkifSegment.gref(w)).isEqualTo(0x89ABCDEF);
        assertThat(BlkifSegment.firstSect(w)).isEqualTo(2);
        assertThat(BlkifSegment.lastSect(w)).isEqualTo(6);
        // Whatever a frontend put into the padding or the high bits of a byte field, the fields decode alone.
        s.fill((byte) 0xFF);
        w = BlkifSegment.word(s, 0);
        assertThat(BlkifSegment.gref(w)).isEqualTo(-1);
        assertThat(BlkifSegment.firstSect(w)).isEqualTo(255);
        assertThat(BlkifSegment.lastSect(w)).isEqualTo(255);
        assertThat(BlkifSegment.firstSect(w)).isEqualTo(BlkifSegment.firstSect(s, 0));
    }

    @Test
    void unsignedFieldsStayUnsigned() {
        MemorySegment s = MemorySegment.ofArray(new byte[BlkifRequest.SIZE]);
        BlkifRequest r = new BlkifRequest().wrap(s).set(0xFF, 0xFF, 0xFFFF, -1, -1).setSegment(0, -1, 0xFF, 0xFF);
        assertThat(r.operation()).isEqualTo(255);
        assertThat(r.nrSegments()).isEqualTo(255);
        assertThat(r.handle()).isEqualTo(65535);
        assertThat(r.firstSect(0)).isEqualTo(255);
        assertThat(r.gref(0)).isEqualTo(-1);
    }

    @Test
    void discard() {
        MemorySegment s = MemorySegment.ofArray(new byte[BlkifRequestDiscard.SIZE]).fill((byte) 0xEE);
        BlkifRequestDiscard d = new BlkifRequestDiscard().wrap(s).set(Blkif.DISCARD_SECURE, 0x51, 7, 0x100, 0x2000);
        assertThat(HEX.formatHex(bytes(s, 32))).isEqualTo("05" + "01" + "5100" + "00000000"
                + "0700000000000000" + "0001000000000000" + "0020000000000000");
        assertThat(d.secure()).isTrue();
        assertThat(d.id()).isEqualTo(7);
        assertThat(d.sectorNumber()).isEqualTo(0x100);
        assertThat(d.nrSectors()).isEqualTo(0x2000);
    }

    @Test
    void indirect() {
        MemorySegment s = MemorySegment.ofArray(new byte[BlkifRequestIndirect.SIZE]).fill((byte) 0xEE);
        BlkifRequestIndirect r = new BlkifRequestIndirect().wrap(s).set(Blkif.OP_READ, 0x1000, 0x42, 0x800, 0x33);
        for (int i = 0; i < 8; i++) r.setIndirectGref(i, 0x100 + i);
        StringBuilder grefs = new StringBuilder();
        for (int i = 0; i < 8; i++) grefs.append(String.format("%02x010000", i));
        assertThat(HEX.formatHex(bytes(s, 64))).isEqualTo("06" + "00" + "0010" + "00000000"
                + "4200000000000000" + "0008000000000000" + "3300" + "0000" + grefs + "00000000");
        assertThat(r.nrSegments()).isEqualTo(4096);
        assertThat(r.indirectGref(7)).isEqualTo(0x107);
        assertThat(BlkifRequestIndirect.pagesFor(1)).isEqualTo(1);
        assertThat(BlkifRequestIndirect.pagesFor(512)).isEqualTo(1);
        assertThat(BlkifRequestIndirect.pagesFor(513)).isEqualTo(2);
        assertThat(BlkifRequestIndirect.pagesFor(Blkif.MAX_INDIRECT_SEGMENTS)).isEqualTo(8);
    }

    @Test
    void response() {
        MemorySegment s = MemorySegment.ofArray(new byte[Blkif.ENTRY_SIZE]).fill((byte) 0xEE);
        BlkifResponse r = new BlkifResponse().wrap(s).set(0x0102030405060708L, Blkif.OP_DISCARD, Blkif.RSP_EOPNOTSUPP);
        assertThat(HEX.formatHex(bytes(s, 17))).isEqualTo("0807060504030201" + "05" + "00" + "feff" + "00000000" + "ee");
        assertThat(r.status()).isEqualTo((short) -2);
        assertThat(r.operation()).isEqualTo(5);
    }

    @Test
    void constants() {
        assertThat(Blkif.ENTRY_SIZE).isEqualTo(112);
        assertThat(Blkif.SEGMENTS_PER_INDIRECT_PAGE).isEqualTo(512);
        assertThat(Blkif.MAX_INDIRECT_SEGMENTS).isEqualTo(4096);
        assertThat(BlkifSegment.valid(0, 7)).isTrue();
        assertThat(BlkifSegment.valid(7, 7)).isTrue();
        assertThat(BlkifSegment.valid(3, 2)).isFalse();
        assertThat(BlkifSegment.valid(0, 8)).isFalse();
    }
}
