package org.jxen.toolstack.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The save image's bytes as SaveFormat lays them out, a round trip, and every way a bad image is refused. */
class SaveImageTest {
    private static final String CONFIG = "name = 'g1'\nmemory = 16\n";

    private static MemorySegment page(int fill) {
        byte[] b = new byte[4096];
        Arrays.fill(b, (byte) fill);
        b[0] = (byte) (fill + 1);
        return MemorySegment.ofArray(b);
    }

    /** An image of {@code pages} pages (pfn i filled with i), and a kernel record. */
    private static byte[] image(int pages) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SaveWriter w = new SaveWriter(out, CONFIG);
        for (int i = 0; i < pages; i++) w.page(i + 2, page(i));
        w.kernel("modules=blkfront\n".getBytes(StandardCharsets.UTF_8));
        w.finish();
        assertThat(w.pagesWritten()).isEqualTo(pages);
        return out.toByteArray();
    }

    private static List<SaveReader.Record> readAll(byte[] image) throws IOException {
        SaveReader r = new SaveReader(new ByteArrayInputStream(image));
        List<SaveReader.Record> all = new ArrayList<>();
        while (true) {
            SaveReader.Record rec = r.next();
            // A batch's pages are the reader's until the next record: kept, they are copied.
            all.add(rec instanceof SaveReader.Record.Pages p
                    ? new SaveReader.Record.Pages(p.pfns(), java.util.Arrays.copyOf(p.data(), p.pfns().length * 4096)) : rec);
            if (rec instanceof SaveReader.Record.End) return all;
        }
    }

    @Test
    void theHeadersAreXlsLibxlsAndLibxcsBytes() throws Exception {
        byte[] img = image(1);
        HexFormat hex = HexFormat.of();
        assertThat(new String(img, 0, 32, StandardCharsets.ISO_8859_1)).isEqualTo("Xen saved domain, xl format\n \0 \r");
        int cfgLen = CONFIG.length();
        assertThat(hex.formatHex(img, 32, 52)).isEqualTo("04030201" + "02000000" + "00000000"
                + hex.formatHex(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(cfgLen + 4).array())
                + hex.formatHex(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(cfgLen).array()));
        int p = 52 + cfgLen;
        assertThat(new String(img, 52, cfgLen, StandardCharsets.UTF_8)).isEqualTo(CONFIG);
        assertThat(hex.formatHex(img, p, p + 16)).isEqualTo("4c6962786c466d74" + "00000002" + "00000000");
        assertThat(hex.formatHex(img, p + 16, p + 24)).as("LIBXC_CONTEXT, empty").isEqualTo("0100000000000000");
        assertThat(hex.formatHex(img, p + 24, p + 48)).isEqualTo("ffffffffffffffff" + "58454e46" + "00000003" + "0000"
                + "000000000000");
        assertThat(hex.formatHex(img, p + 48, p + 60)).isEqualTo("4e45584a" + "0c00" + "0000" + "0400" + "1100");
        // PAGE_DATA: type 1, length 8 + 8 + 4096, count 1, reserved, pfn 2 type 0, the page.
        assertThat(hex.formatHex(img, p + 60, p + 84)).isEqualTo("01000000" + "10100000" + "01000000" + "00000000"
                + "0200000000000000");
        assertThat(img[p + 84]).isEqualTo((byte) 1);
        // The last 8 bytes: libxl's END.
        assertThat(hex.formatHex(img, img.length - 8, img.length)).isEqualTo("0000000000000000");
    }

    @Test
    void pagesConfigAndKernelRecordComeBackInBatchesOfAtMost1024() throws Exception {
        byte[] img = image(2500);
        SaveReader r = new SaveReader(new ByteArrayInputStream(img));
        assertThat(r.config()).isEqualTo(CONFIG);
        List<SaveReader.Record> all = readAll(img);
        List<Integer> batches = new ArrayList<>();
        long expectPfn = 2;
        for (SaveReader.Record rec : all) {
            if (rec instanceof SaveReader.Record.Pages pg) {
                batches.add(pg.pfns().length);
                for (int i = 0; i < pg.pfns().length; i++) {
                    assertThat(pg.pfns()[i]).isEqualTo(expectPfn);
                    int fill = (int) (expectPfn - 2);
                    assertThat(pg.data()[i * 4096]).isEqualTo((byte) (fill + 1));
                    assertThat(pg.data()[i * 4096 + 4095]).isEqualTo((byte) fill);
                    expectPfn++;
                }
            }
        }
        assertThat(batches).containsExactly(1024, 1024, 452);
        assertThat(all.get(3)).isInstanceOfSatisfying(SaveReader.Record.Kernel.class,
                k -> assertThat(new String(k.record(), StandardCharsets.UTF_8)).isEqualTo("modules=blkfront\n"));
        assertThat(all.getLast()).isInstanceOf(SaveReader.Record.End.class);
    }

    @Test
    void anImageCutAtAnyByteIsRefusedAsTruncated() throws Exception {
        byte[] img = image(3);
        for (int cut = 0; cut < img.length; cut++) {
            byte[] part = Arrays.copyOf(img, cut);
            SaveImageException e = catchThrowableOfType(SaveImageException.class, () -> readAll(part));
            assertThat(e).as("cut at %d of %d", cut, img.length).isNotNull();
            assertThat(e.getMessage()).as("cut at %d", cut).startsWith("truncated: the stream ends inside ");
        }
    }

    @Test
    void aFlippedByteInAPageOrRecordIsACorruptStream() throws Exception {
        byte[] img = image(3);
        int firstPage = 52 + CONFIG.length() + 84;
        for (int at : new int[] {firstPage, firstPage + 4095, firstPage + 4096 + 8 + 100}) {
            byte[] bad = img.clone();
            bad[at] ^= 0x40;
            SaveImageException e = catchThrowableOfType(SaveImageException.class, () -> readAll(bad));
            assertThat(e.getMessage()).as("byte %d", at).matches("corrupt: checksum [0-9a-f]{8}, computed [0-9a-f]{8}");
        }
    }

    @Test
    void foreignOrNewerImagesAreRefusedSayingWhy() throws Exception {
        byte[] img = image(1);
        int p = 52 + CONFIG.length();
        assertThat(refusal(patch(img, 0, (byte) 'Y'))).isEqualTo("not a saved domain (bad magic)");
        assertThat(refusal(patch(img, 36, (byte) 3))).isEqualTo(
                "unsupported mandatory flags 0x3 (a JSON config: saved by Xen's xl, not jxen)");
        assertThat(refusal(patch(img, p + 11, (byte) 3))).isEqualTo("unsupported libxl stream version 3 (jxen reads 2)");
        assertThat(refusal(patch(img, p + 39, (byte) 2))).isEqualTo("unsupported libxc stream version 2 (jxen reads 3)");
        assertThat(refusal(patch(img, p + 48, (byte) 1))).isEqualTo("domain type 0x4a584501 is not a jxen guest");
        assertThat(refusal(patch(img, p + 60, (byte) 9))).isEqualTo("unknown mandatory record type 0x9");
        assertThat(refusal(patch(img, p + 67, (byte) 0x7f))).isEqualTo("record type 0x1 claims 2130710544 bytes");
        assertThat(refusal(new byte[0])).isEqualTo("truncated: the stream ends inside the xl header (at byte 0)");
    }

    private static byte[] patch(byte[] img, int at, byte value) {
        byte[] b = img.clone();
        b[at] = value;
        return b;
    }

    private static String refusal(byte[] img) {
        SaveImageException e = catchThrowableOfType(SaveImageException.class, () -> readAll(img));
        assertThat(e).isNotNull();
        return e.getMessage();
    }
}
