package org.jxen.cli.xenstore;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The quoting Xen's xenstore tools apply to possibly-binary values: sanitise_value() for what read and ls
 * print, unsanitise_value() for what write stores.
 */
final class ValueEscaping {
    private ValueEscaping() {}

    /** Printable ASCII but backslash as is; \t \n \r \\; other bytes below 010 as 3-digit octal, the rest as xNN. */
    static byte[] sanitise(byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(value.length + 8);
        for (byte b : value) {
            int c = b & 0xff;
            if (c >= ' ' && c <= '~' && c != '\\') {
                out.write(c);
                continue;
            }
            out.write('\\');
            String esc = switch (c) {
                case '\t' -> "t";
                case '\n' -> "n";
                case '\r' -> "r";
                case '\\' -> "\\";
                default -> c < 8 ? String.format("%03o", c) : String.format("x%02x", c);
            };
            out.writeBytes(esc.getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /**
     * The inverse, with the C code's leniency: an unknown escape yields the character itself, {@code \x}
     * without hex digits yields 'x', octal takes up to three digits (keeping the low byte), and a trailing
     * backslash stores a NUL.
     */
    static byte[] unsanitise(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length);
        int i = 0;
        while (i < in.length && in[i] != 0) {
            int c = in[i++] & 0xff;
            if (c == '\\') {
                c = i < in.length ? in[i++] & 0xff : 0;
                switch (c) {
                    case 't' -> c = '\t';
                    case 'n' -> c = '\n';
                    case 'r' -> c = '\r';
                    case 'x' -> {
                        // sscanf("%2x") skips white space, then reads up to two hex digits.
                        int j = i;
                        while (j < in.length && isSpace(in[j])) j++;
                        int v = 0, digits = 0;
                        while (digits < 2 && j < in.length && Character.digit(in[j], 16) >= 0) {
                            v = v * 16 + Character.digit(in[j++], 16);
                            digits++;
                        }
                        if (digits > 0) {
                            c = v;
                            i = j;
                        }
                    }
                    case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                        int v = c - '0', digits = 1;
                        while (digits < 3 && i < in.length && in[i] >= '0' && in[i] <= '7') {
                            v = v * 8 + (in[i++] - '0');
                            digits++;
                        }
                        c = v & 0xff;
                    }
                    case 0 -> i = in.length; // the string ended right after the backslash
                    default -> { }
                }
            }
            out.write(c);
        }
        return out.toByteArray();
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || (b >= '\t' && b <= '\r');
    }
}
