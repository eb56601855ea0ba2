package org.jxen.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Locale;

/** {@code xl block-resize}'s SIZE and the resize of the image file itself. */
final class DiskSize {
    private static final long SECTOR = 512;

    private DiskSize() {}

    /** Bytes, or a number with K, M, G or T (powers of 1024, as truncate's); a positive multiple of 512. */
    static long parse(String text) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> { }
            }
        }
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid size " + text + " (bytes, or a number with K, M, G or T)");
        }
        if (n <= 0 || n > (Long.MAX_VALUE >> shift)) throw new IllegalArgumentException("invalid size " + text);
        long bytes = n << shift;
        if (bytes % SECTOR != 0) throw new IllegalArgumentException("size " + text + " is not a multiple of 512 bytes");
        return bytes;
    }

    /** Sets the image's length; the reason as one line if it cannot or must not, null when done. */
    static String resizeImage(Path image, long bytes, boolean shrink) {
        if (!Files.isRegularFile(image, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(image)) {
            return image + " is not an image file (only image files can be resized here)";
        }
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            long now = f.length();
            if (bytes < now && !shrink) {
                return "shrinking " + image + " from " + now + " to " + bytes + " bytes loses what lies past it;"
                        + " add --shrink to do so";
            }
            if (bytes != now) f.setLength(bytes);
            return null;
        } catch (IOException e) {
            return "resizing " + image + ": " + e.getMessage();
        }
    }
}
