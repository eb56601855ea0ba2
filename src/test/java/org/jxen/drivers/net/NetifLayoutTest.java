package org.jxen.drivers.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.jxen.ring.BackRing;
import org.jxen.ring.FrontRing;
import org.jxen.ring.SharedRingLayout;

/** The flyweights against hand-assembled bytes of netif.h's layouts (x86, little-endian). */
class NetifLayoutTest {
    private static final HexFormat HEX = HexFormat.of();

    private static String hex(MemorySegment s, int n) {
        return HEX.formatHex(s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
    }

    private static MemorySegment slot(int n) {
        return MemorySegment.ofArray(new byte[n]).fill((byte) 0xEE);
    }

    @Test
    void txRequest() {
        MemorySegment s = slot(12);
        NetifTxRequest r = new NetifTxRequest().wrap(s)
                .set(0x12345678, 0x0102, Netif.TXF_MORE_DATA | Netif.TXF_CSUM_BLANK, 0xABCD, 0xFFFF);
        assertThat(hex(s, 12)).isEqualTo("78563412" + "0201" + "0500" + "cdab" + "ffff");
        assertThat(r.gref()).isEqualTo(0x12345678);
        assertThat(r.offset()).isEqualTo(0x102);
        assertThat(r.flags()).isEqualTo(5);
        assertThat(r.id()).isEqualTo(0xABCD);
        assertThat(r.size()).isEqualTo(0xFFFF);
    }

    @Test
    void txResponseWritesItsFourBytesOnly() {
        MemorySegment s = slot(12);
        NetifTxResponse r = new NetifTxResponse().wrap(s).set(0x0203, Netif.RSP_DROPPED);
        assertThat(hex(s, 12)).isEqualTo("0302" + "feff" + "eeeeeeeeeeeeeeee");
        assertThat(r.id()).isEqualTo(0x203);
        assertThat(r.status()).isEqualTo((short) -2);
    }

    @Test
    void rxRequestZeroesItsPad() {
        MemorySegment s = slot(8);
        NetifRxRequest r = new NetifRxRequest().wrap(s).set(0x00FF, 0x0A0B0C0D);
        assertThat(hex(s, 8)).isEqualTo("ff00" + "0000" + "0d0c0b0a");
        assertThat(r.id()).isEqualTo(255);
        assertThat(r.gref()).isEqualTo(0x0A0B0C0D);
    }

    @Test
    void rxResponse() {
        MemorySegment s = slot(8);
        NetifRxResponse r = new NetifRxResponse().wrap(s)
                .set(7, 0x10, Netif.RXF_DATA_VALIDATED | Netif.RXF_MORE_DATA, (short) 1514);
        assertThat(hex(s, 8)).isEqualTo("0700" + "1000" + "0500" + "ea05");
        assertThat(r.flags()).isEqualTo(5);
        assertThat(r.status()).isEqualTo((short) 1514);
        new NetifRxResponse().wrap(s).set(7, 0, 0, Netif.RSP_ERROR);
        assertThat(hex(s, 8)).endsWith("ffff");
    }

    @Test
    void extraInfoGsoMcastHash() {
        MemorySegment s = slot(12);
        NetifExtraInfo e = new NetifExtraInfo().wrap(s).setGso(Netif.EXTRA_FLAG_MORE, 1448, Netif.GSO_TYPE_TCPV6, 0);
        assertThat(hex(s, 12)).isEqualTo("01" + "01" + "a805" + "02" + "00" + "0000" + "eeeeeeee");
        assertThat(e.type()).isEqualTo(Netif.EXTRA_TYPE_GSO);
        assertThat(e.gsoSize()).isEqualTo(1448);
        assertThat(e.gsoType()).isEqualTo(2);
        e.setMcast(Netif.EXTRA_TYPE_MCAST_ADD, 0, new byte[] {0x01, 0x00, 0x5e, 0x00, 0x00, (byte) 0xfb});
        assertThat(hex(s, 8)).isEqualTo("02" + "00" + "01005e0000fb");
        s.asSlice(0, 8).copyFrom(MemorySegment.ofArray(HEX.parseHex("0400" + "02" + "01" + "78563412")));
        assertThat(e.type()).isEqualTo(Netif.EXTRA_TYPE_HASH);
        assertThat(e.hashType()).isEqualTo(2);
        assertThat(e.hashAlgorithm()).isEqualTo(1);
        assertThat(e.hashValue()).isEqualTo(0x12345678);
    }

    @Test
    void ctrlRequestAndResponse() {
        MemorySegment s = slot(16);
        new NetifCtrlRequest().wrap(s).set(1, Netif.CTRL_TYPE_SET_HASH_MAPPING, 2, 3, 4);
        assertThat(hex(s, 16)).isEqualTo("0100" + "0600" + "02000000" + "03000000" + "04000000");
        MemorySegment r = slot(12);
        NetifCtrlResponse c = new NetifCtrlResponse().wrap(r).set(1, 6, Netif.CTRL_STATUS_BUFFER_OVERFLOW, 9);
        assertThat(hex(r, 12)).isEqualTo("0100" + "0600" + "03000000" + "09000000");
        assertThat(c.status()).isEqualTo(3);
    }

    @Test
    void flagBitsDifferBetweenDirections() {
        assertThat(Netif.TXF_CSUM_BLANK).isEqualTo(1);
        assertThat(Netif.TXF_DATA_VALIDATED).isEqualTo(2);
        assertThat(Netif.RXF_DATA_VALIDATED).isEqualTo(1);
        assertThat(Netif.RXF_CSUM_BLANK).isEqualTo(2);
        assertThat(Netif.TXF_MORE_DATA).isEqualTo(Netif.RXF_MORE_DATA).isEqualTo(4);
        assertThat(Netif.TXF_EXTRA_INFO).isEqualTo(Netif.RXF_EXTRA_INFO).isEqualTo(8);
        assertThat(Netif.RXF_GSO_PREFIX).isEqualTo(16);
        assertThat(new short[] {Netif.RSP_DROPPED, Netif.RSP_ERROR, Netif.RSP_OKAY, Netif.RSP_NULL})
                .containsExactly(-2, -1, 0, 1);
    }

    @Test
    void ringSizesForOnePage() {
        assertThat(SharedRingLayout.slots(4096, Netif.TX_ENTRY_SIZE)).isEqualTo(Netif.TX_RING_SIZE).isEqualTo(256);
        assertThat(SharedRingLayout.slots(4096, Netif.RX_ENTRY_SIZE)).isEqualTo(Netif.RX_RING_SIZE).isEqualTo(256);
        assertThat(SharedRingLayout.slots(4096, Netif.CTRL_ENTRY_SIZE)).isEqualTo(Netif.CTRL_RING_SIZE).isEqualTo(128);
    }

    /** Entries sit at 64 + i * entry size: tx slot 255 ends at byte 64 + 3072, rx slot 255 at 64 + 2048. */
    @Test
    void entriesAtXensOffsetsThroughTheRings() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment page = a.allocate(4096, 4096);
            FrontRing front = new FrontRing(new SharedRingLayout(page, Netif.TX_ENTRY_SIZE)).init();
            for (int i = 0; i < 255; i++) front.nextRequest();
            new NetifTxRequest().wrap(front.nextRequest()).set(0x11223344, 0, 0, 255, 60);
            assertThat(front.pushRequestsAndCheckNotify()).isTrue();
            assertThat(hex(page.asSlice(64 + 255 * 12), 12)).isEqualTo("44332211" + "0000" + "0000" + "ff00" + "3c00");
            assertThat(page.get(ValueLayout.JAVA_INT_UNALIGNED, 0)).isEqualTo(256); // req_prod
            BackRing back = new BackRing(new SharedRingLayout(page, Netif.TX_ENTRY_SIZE)).attach(0);
            MemorySegment copy = MemorySegment.ofArray(new byte[12]);
            for (int i = 0; i < 256; i++) assertThat(back.copyNextRequest(copy)).isTrue();
            assertThat(new NetifTxRequest().wrap(copy).id()).isEqualTo(255);

            MemorySegment rx = a.allocate(4096, 4096);
            FrontRing rxFront = new FrontRing(new SharedRingLayout(rx, Netif.RX_ENTRY_SIZE)).init();
            assertThat(rxFront.size()).isEqualTo(256);
            for (int i = 0; i < 256; i++) new NetifRxRequest().wrap(rxFront.nextRequest()).set(i, 1000 + i);
            rxFront.pushRequestsAndCheckNotify();
            assertThat(hex(rx.asSlice(64 + 255 * 8), 8)).isEqualTo("ff00" + "0000" + "e7040000");
        }
    }
}
