package org.jxen.xenstore;

/** One permission entry, {@code <letter><domid>}: {@code n} none, {@code r} read, {@code w} write, {@code b} both. */
public record XsPerm(int domid, boolean read, boolean write) {
    public static final int NONE = 0;

    public static XsPerm of(int domid, char letter) {
        return switch (letter) {
            case 'n' -> new XsPerm(domid, false, false);
            case 'r' -> new XsPerm(domid, true, false);
            case 'w' -> new XsPerm(domid, false, true);
            case 'b' -> new XsPerm(domid, true, true);
            default -> throw new IllegalArgumentException("bad permission letter " + letter);
        };
    }

    /**
     * Parses {@code b5}, {@code r0}: a letter then an unsigned decimal domid (0..65535). Returns null on any
     * syntax error (the daemon answers EINVAL).
     */
    public static XsPerm parse(String s) {
        if (s.length() < 2 || s.length() > 6) return null;
        char letter = s.charAt(0);
        if ("nrwb".indexOf(letter) < 0) return null;
        int id = 0;
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return null;
            id = id * 10 + (c - '0');
        }
        if (id > 0xffff) return null;
        return of(id, letter);
    }

    public char letter() {
        return read ? (write ? 'b' : 'r') : (write ? 'w' : 'n');
    }

    @Override
    public String toString() {
        return letter() + Integer.toString(domid);
    }
}
