package org.jxen.cli.xenstore;

/** C library number parsing where the tools' results depend on its exact leniency. */
final class CNumbers {
    private CNumbers() {}

    /**
     * atoi(): (int) strtol(s, NULL, 10) on LP64. Leading white space and a sign are accepted, parsing stops at
     * the first non-digit, an overflowing value saturates at LONG_MIN/LONG_MAX before the cast to int.
     */
    static int atoi(String s) {
        int i = 0, n = s.length();
        while (i < n && (s.charAt(i) == ' ' || (s.charAt(i) >= '\t' && s.charAt(i) <= '\r'))) i++;
        boolean negative = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) negative = s.charAt(i++) == '-';
        long v = 0;
        boolean overflow = false;
        for (; i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++) {
            int d = s.charAt(i) - '0';
            if (!overflow && v > (Long.MAX_VALUE - d) / 10) overflow = true;
            if (!overflow) v = v * 10 + d;
        }
        if (overflow) v = negative ? Long.MIN_VALUE : Long.MAX_VALUE;
        else if (negative) v = -v;
        return (int) v;
    }
}
