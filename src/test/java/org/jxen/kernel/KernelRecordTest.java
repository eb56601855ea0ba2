package org.jxen.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kernel record's bytes in a page of memory, its round trip, and damage refused. */
class KernelRecordTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void sectionsRoundTripInOrderAtTheDocumentedOffsets() {
        MemorySegment area = Arena.ofAuto().allocate(4096);
        Map<String, byte[]> in = new LinkedHashMap<>();
        in.put("log", b("Booting\nHello World!\n"));
        in.put("modules", b("mydevicefront\n"));
        in.put("empty", new byte[0]);
        KernelRecord.write(area, in);
        HexFormat hex = HexFormat.of();
        assertThat(hex.formatHex(area.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE))).isEqualTo("4a584b5201000000");
        // The first section: u16 name length 3, "log", u32 length 21.
        assertThat(hex.formatHex(area.asSlice(16, 9).toArray(ValueLayout.JAVA_BYTE))).isEqualTo("03006c6f6715000000");
        Map<String, byte[]> out = KernelRecord.read(area);
        assertThat(out.keySet()).containsExactly("log", "modules", "empty");
        assertThat(out.get("log")).isEqualTo(in.get("log"));
        assertThat(out.get("empty")).isEmpty();
        KernelRecord.clear(area);
        assertThat(KernelRecord.read(area)).as("cleared: a fresh boot").isNull();
    }

    @Test
    void aRecordTooLargeForItsAreaIsRefusedBeforeAnythingIsWritten() {
        MemorySegment area = Arena.ofAuto().allocate(64);
        assertThatIllegalArgumentException().isThrownBy(() -> KernelRecord.write(area, Map.of("x", new byte[100])))
                .withMessage("kernel record of 123 bytes does not fit in 64");
        assertThat(KernelRecord.read(area)).isNull();
    }

    @Test
    void damageIsNamed() {
        MemorySegment area = Arena.ofAuto().allocate(4096);
        KernelRecord.write(area, Map.of("log", b("a line")));
        area.set(ValueLayout.JAVA_BYTE, 20, (byte) 'X');
        assertThatIllegalStateException().isThrownBy(() -> KernelRecord.read(area)).withMessage("kernel record checksum mismatch");
        KernelRecord.write(area, Map.of("log", b("a line")));
        area.set(ValueLayout.JAVA_BYTE, 4, (byte) 2);
        assertThatIllegalStateException().isThrownBy(() -> KernelRecord.read(area))
                .withMessage("kernel record version 2 (this kernel reads 1)");
        KernelRecord.write(area, Map.of("log", b("a line")));
        area.set(ValueLayout.JAVA_BYTE, 11, (byte) 0x7f);
        assertThatIllegalStateException().isThrownBy(() -> KernelRecord.read(area))
                .withMessage("kernel record length 2130706447 past its area");
    }
}
