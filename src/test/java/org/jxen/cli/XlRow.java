package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;

/**
 * One row of {@code xl list}, read back by its columns; {@link #parse} checks that the row is exactly what
 * xl_info.c's {@code "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f"} makes of those values, so a test that reads
 * a row also asserts its bytes.
 */
record XlRow(String name, int id, long mem, int vcpus, String state, double time) {
    static XlRow parse(String line) {
        String name = line.substring(0, 40).strip();
        String[] f = line.substring(40).strip().split(" +");
        XlRow r = new XlRow(name, Integer.parseInt(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2]), f[3],
                Double.parseDouble(f[4]));
        assertThat(String.format(Locale.ROOT, "%-40s %5d %5d %5d     %s  %8.1f", r.name, r.id, r.mem, r.vcpus, r.state,
                r.time)).as("xl list's row format").isEqualTo(line);
        return r;
    }

    /** The row of {@code name} in an xl list output. */
    static XlRow of(String listing, String name) {
        for (String l : listing.split("\n")) {
            if (l.startsWith(name + " ")) return parse(l);
        }
        throw new AssertionError("no row for " + name + " in\n" + listing);
    }

    /** r or b: the domain runs; which one is a snapshot of its vCPU. */
    boolean runningOrBlocked() {
        return state.equals("r-----") || state.equals("-b----");
    }
}
