package org.jxen.toolstack;

/**
 * A vif's {@code rate=RATE/s[@INTERVAL]} (xl-network-configuration(5)), parsed as libxlu_vif.c's
 * xlu_vif_parse_rate does: RATE is a number ({@code strtoull} base 0: a leading 0 reads octal) with an optional
 * {@code G}, {@code M} or {@code K} (powers of 1000) and {@code B} (bytes) or {@code b} (bits, divided by 8),
 * then {@code /s}; INTERVAL a number with {@code s} (or nothing), {@code ms} or {@code us}, default 50 ms. libxl
 * writes it into the backend directory as {@code rate = "<bytes per interval>,<interval in us>"}, which netback's
 * credit scheduler reads (xen_net_read_rate).
 *
 * @param bytesPerInterval the credit netback adds each interval
 * @param intervalUsecs    the interval
 */
public record VifRate(long bytesPerInterval, long intervalUsecs) {
    private static final long UINT32_MAX = 0xFFFF_FFFFL;

    /** The value libxl writes: {@code "%PRIu64,%PRIu32"}. */
    public String xenstoreValue() {
        return Long.toUnsignedString(bytesPerInterval) + "," + intervalUsecs;
    }

    /** Parses {@code rate}; IllegalArgumentException with libxlu's words for what it refuses. */
    public static VifRate parse(String rate) {
        int at = rate.indexOf('@');
        String r = at < 0 ? rate : rate.substring(0, at);
        if (r.isEmpty()) throw err("no rate specified", rate);
        long bytesPerSec = bytesPerSec(r);
        long usecs = 50_000;
        if (at >= 0) usecs = intervalUsecs(rate.substring(at + 1));
        if (bytesPerSec > Long.divideUnsigned(-1L, usecs)) throw err("rate overflow", rate);
        return new VifRate(Long.divideUnsigned(bytesPerSec * usecs, 1_000_000L), usecs);
    }

    private static long bytesPerSec(String s) {
        if (!s.matches("[0-9]+[GMK]?[Bb]/s")) throw err("invalid rate", s);
        int[] end = new int[1];
        long v = strtoull(s, end);
        if (v == 0 || v > UINT32_MAX) throw err("rate overflow", s);
        char c = s.charAt(end[0]);
        if (c == 'G') v *= 1_000_000_000L;
        else if (c == 'M') v *= 1_000_000L;
        else if (c == 'K') v *= 1_000L;
        if (c == 'b' || s.charAt(end[0] + 1) == 'b') v /= 8;
        return v;
    }

    private static long intervalUsecs(String s) {
        if (!s.matches("[0-9]+[mu]?s?")) throw err("invalid replenishment interval", s);
        int[] end = new int[1];
        long v = strtoull(s, end);
        if (v == 0 || v > UINT32_MAX) throw err("replenishment interval overflow", s);
        char c = end[0] < s.length() ? s.charAt(end[0]) : '\0';
        if (c == 's' || c == '\0') v *= 1_000_000L;
        else if (c == 'm') v *= 1_000L;
        if (v > UINT32_MAX) throw err("replenishment interval overflow", s);
        return v;
    }

    /** strtoull(s, &end, 0) over the digits the patterns allow: octal after a leading 0, else decimal. */
    private static long strtoull(String s, int[] end) {
        int radix = s.length() > 1 && s.charAt(0) == '0' ? 8 : 10;
        long v = 0;
        int i = 0;
        while (i < s.length() && Character.digit(s.charAt(i), radix) >= 0) {
            v = v * radix + Character.digit(s.charAt(i), radix);
            if (v > UINT32_MAX) v = UINT32_MAX + 1; // overflow is refused by the caller either way
            i++;
        }
        end[0] = i;
        return v;
    }

    private static IllegalArgumentException err(String msg, String what) {
        return new IllegalArgumentException("config parsing error in vif: " + msg + " in `" + what + "'");
    }
}
