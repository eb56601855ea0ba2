package org.jxen.cli.demo;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Draws a split-driver handshake the way the 2005 xen-devel mail "Architecture for Split Drivers Within Xen"
 * does: a column each for the hotplug scripts, the backend and the frontend, a line per event, and an arrow
 * from whoever changed state to the side that reacts to it; and, left of them, a column for the toolstack's own
 * writes (xl/libxl), so that every line stands where its writer is.
 */
final class HandshakeDiagram {
    /** The toolstack, and the three actors of the mail's diagrams. */
    public enum Column {
        TOOLSTACK(10), HOTPLUG(32), BACKEND(54), FRONTEND(86);

        final int at;

        Column(int at) {
            this.at = at;
        }
    }

    static final int WIDTH = 98;
    private final PrintStream out;

    public HandshakeDiagram(PrintStream out) {
        this.out = out;
    }

    public void header(String backendDomain, String frontendDomain) {
        out.println(line(new String[] {"xl/libxl", "", "Xenbus", "Xenbus"}));
        out.println(line(new String[] {"Toolstack", "Hotplug", "Backend (" + backendDomain + ")",
            "Frontend (" + frontendDomain + ")"}));
        out.println(line(new String[] {"---------", "-------", "-------", "--------"}));
    }

    private String line(String[] labels) {
        char[] row = blank(false);
        for (Column c : Column.values()) put(row, c.at, labels[c.ordinal()]);
        return trim(row);
    }

    /** A state (or other event) shown in its column, with an arrow to the column that reacts, if any. */
    public void event(Column from, String label, Column to) {
        out.println(trim(blank(true)));
        char[] row = blank(true);
        if (to != null && to != from) arrow(row, from, to, label.length());
        put(row, from.at, label);
        out.println(trim(row));
    }

    /** A note in a column (a store write, an action), stacked in short centred lines as the mail does. */
    public void note(Column at, String text) {
        for (String part : wrap(text, NOTE_WIDTH)) {
            char[] row = blank(true);
            put(row, at.at, part);
            out.println(trim(row));
        }
    }

    static final int NOTE_WIDTH = 20;

    private static java.util.List<String> wrap(String text, int width) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String word : splitLong(text.split(" "), width)) {
            if (!cur.isEmpty() && cur.length() + 1 + word.length() > width) {
                lines.add(cur.toString());
                cur.setLength(0);
            }
            if (!cur.isEmpty()) cur.append(' ');
            cur.append(word);
        }
        if (!cur.isEmpty()) lines.add(cur.toString());
        return lines;
    }

    /** Free text across the whole width (ring messages, section breaks). */
    public void banner(String text) {
        out.println();
        out.println(text);
        out.println();
    }

    /** Words longer than a line (store paths) are cut after a '/' or '=' so they still fit the column. */
    private static java.util.List<String> splitLong(String[] words, int width) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String w : words) {
            while (w.length() > width) {
                int cut = Math.max(w.lastIndexOf('/', width - 1), w.lastIndexOf('=', width - 1)) + 1;
                if (cut <= 0) cut = width;
                out.add(w.substring(0, cut));
                w = w.substring(cut);
            }
            out.add(w);
        }
        return out;
    }

    private static char[] blank(boolean pipes) {
        char[] row = new char[WIDTH];
        Arrays.fill(row, ' ');
        if (pipes) row[Column.BACKEND.at] = row[Column.FRONTEND.at] = '|';
        return row;
    }

    private static void put(char[] row, int center, String label) {
        int start = Math.max(0, Math.min(center - label.length() / 2, WIDTH - label.length()));
        for (int i = 0; i < label.length(); i++) row[start + i] = label.charAt(i);
    }

    private static void arrow(char[] row, Column from, Column to, int labelLength) {
        boolean right = to.at > from.at;
        int half = labelLength / 2 + 1;
        int a = right ? from.at + half : to.at + 1;
        int b = right ? to.at - 1 : from.at - half;
        for (int i = a; i <= b; i++) row[i] = '-';
        if (right) row[b] = '>';
        else row[a] = '<';
    }

    private static String trim(char[] row) {
        int n = row.length;
        while (n > 0 && row[n - 1] == ' ') n--;
        return new String(row, 0, n);
    }
}
