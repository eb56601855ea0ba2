package org.jxen.xenstored.engine;

import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;

/**
 * SET_PERMS strings as C xenstored reads them (xs_strings_to_perms): a letter, then whatever {@code strtol(p,
 * &end, 0)} takes in full, cut to the 32-bit domid. So {@code r99999999999} is accepted (as domid 1215752191,
 * printed back signed as C's {@code %i} does), {@code r0x10} is domid 16 and {@code r010} domid 8, while
 * {@code r}, {@code rx} or {@code r5 } are EINVAL. The client library's {@link XsPerm#parse} stays strict.
 */
final class PermStrings {
    private PermStrings() {}

    /** The list, or null if any string is malformed. */
    static XsPerms parse(List<String> strings) {
        if (strings.isEmpty()) return null;
        List<XsPerm> list = new ArrayList<>(strings.size());
        for (String s : strings) {
            if (s.isEmpty() || "nrwb".indexOf(s.charAt(0)) < 0) return null;
            Long id = strtolWhole(s.substring(1));
            if (id == null) return null;
            list.add(XsPerm.of((int) id.longValue(), s.charAt(0)));
        }
        return new XsPerms(list);
    }

    /** strtol(s, &end, 0) when it consumes all of a non-empty s; null otherwise. */
    static Long strtolWhole(String s) {
        int n = s.length(), i = 0;
        if (n == 0) return null;
        while (i < n && isSpace(s.charAt(i))) i++;
        boolean neg = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) neg = s.charAt(i++) == '-';
        int base = 10;
        if (i + 1 < n && s.charAt(i) == '0' && (s.charAt(i + 1) | 0x20) == 'x' && i + 2 < n && digit(s.charAt(i + 2), 16) >= 0) {
            base = 16;
            i += 2;
        } else if (i < n && s.charAt(i) == '0') {
            base = 8;
        }
        int start = i;
        long v = 0;
        boolean overflow = false;
        for (; i < n; i++) {
            int d = digit(s.charAt(i), base);
            if (d < 0) break;
            if (v > (Long.MAX_VALUE - d) / base) overflow = true;
            else v = v * base + d;
        }
        if (i == start || i != n) return null;
        if (overflow) return neg ? Long.MIN_VALUE : Long.MAX_VALUE;
        return neg ? -v : v;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private static int digit(char c, int base) {
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : -1;
        return d >= 0 && d < base ? d : -1;
    }
}
