package org.jxen.xenstore;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Building and splitting the NUL-separated payloads of xs_wire requests and replies. */
public final class Payloads {
    public static final byte[] OK = {'O', 'K', 0};
    public static final byte[] EMPTY = {};

    private Payloads() {}

    /** Each string followed by a NUL: {@code "a|b|"}. */
    public static byte[] strings(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String p : parts) {
            out.writeBytes(p.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** {@code path|value} with the value's bytes as given (WRITE). */
    public static byte[] pathAndValue(String path, byte[] value) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[p.length + 1 + value.length];
        System.arraycopy(p, 0, out, 0, p.length);
        System.arraycopy(value, 0, out, p.length + 1, value.length);
        return out;
    }

    /**
     * Splits a payload into its NUL-terminated strings. A trailing part without a NUL is returned too
     * (callers that require termination check {@link #endsWithNul}).
     */
    public static List<String> split(byte[] payload) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                parts.add(new String(payload, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < payload.length) parts.add(new String(payload, start, payload.length - start, StandardCharsets.UTF_8));
        return parts;
    }

    /**
     * Splits like {@link #split}, but each byte becomes one char (ISO-8859-1), so that nothing is decoded:
     * a token or argument that is not UTF-8 comes back byte for byte through {@link #raw}. The daemon
     * keeps every payload this way, as C xenstored keeps C strings.
     */
    public static List<String> splitRaw(byte[] payload) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                parts.add(new String(payload, start, i - start, StandardCharsets.ISO_8859_1));
                start = i + 1;
            }
        }
        if (start < payload.length) parts.add(new String(payload, start, payload.length - start, StandardCharsets.ISO_8859_1));
        return parts;
    }

    /** Each byte-string ({@link #splitRaw}'s chars 0..255) followed by a NUL, with no encoding. */
    public static byte[] raw(String... parts) {
        int n = 0;
        for (String p : parts) n += p.length() + 1;
        byte[] out = new byte[n];
        int at = 0;
        for (String p : parts) {
            for (int i = 0; i < p.length(); i++) out[at++] = (byte) p.charAt(i);
            out[at++] = 0;
        }
        return out;
    }

    public static boolean endsWithNul(byte[] payload) {
        return payload.length > 0 && payload[payload.length - 1] == 0;
    }

    public static int countNuls(byte[] payload) {
        int n = 0;
        for (byte b : payload) if (b == 0) n++;
        return n;
    }

    /** Index of the first NUL, or -1. */
    public static int firstNul(byte[] payload) {
        for (int i = 0; i < payload.length; i++) if (payload[i] == 0) return i;
        return -1;
    }

    public static String text(byte[] payload) {
        return new String(payload, StandardCharsets.UTF_8);
    }

    /** Text up to the first NUL (or the whole payload). */
    public static String cString(byte[] payload) {
        int n = firstNul(payload);
        return new String(payload, 0, n < 0 ? payload.length : n, StandardCharsets.UTF_8);
    }

    /** NUL as '|', other control and non-ASCII bytes as \xNN, for one-line logs. */
    public static String printable(byte[] payload) {
        StringBuilder sb = new StringBuilder(payload.length);
        for (byte b : payload) {
            int c = b & 0xff;
            if (c == 0) sb.append('|');
            else if (c == '\\') sb.append("\\\\");
            else if (c >= 0x20 && c < 0x7f) sb.append((char) c);
            else sb.append(String.format("\\x%02x", c));
        }
        return sb.toString();
    }
}
