package org.jxen.toolstack;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The syntax of xl.cfg as libxlu reads it (tools/libs/util/libxlu_cfg_l.l, libxlu_cfg_y.y): settings
 * {@code name = VALUE} ended by a newline or ';' (the last one may lack it); names are {@code [a-z][._0-9a-z]*};
 * a value is an atom or a list {@code [atom, ...]} of atoms, which may span lines and end with a comma. Atoms are
 * numbers ({@code [0-9][0-9a-fx]*}, read as C's strtol with base 0 reads them: 0x hex, leading-0 octal) or
 * strings in single or double quotes, both with C's escapes ({@code \n \t \x41 \101 ...}). libxlu keeps every
 * atom as text, so a quoted "64" is as good a number as 64, and a number is as good a string; {@link Str} and
 * {@link Num} only remember how it was written. {@code name += VALUE} appends a list to a list or a string to a
 * string. {@code #} comments to the end of the line. A setting given twice keeps the last value. There is no
 * backslash line continuation in xl.cfg: a list may span lines, a string may not. What the settings mean is
 * {@link DomainConfig}'s business.
 */
public final class XlCfg {
    /** A parsed value: an atom (its text) or a list of atoms. */
    public sealed interface Value permits Str, Num, Lst {
        int line();
    }

    /** An atom written as a quoted string. */
    public record Str(String value, int line) implements Value {}

    /** An atom written as a number: its text, as libxlu keeps it. */
    public record Num(String text, int line) implements Value {}

    public record Lst(List<Value> items, int line) implements Value {}

    private final Map<String, Value> settings;

    private XlCfg(Map<String, Value> settings) {
        this.settings = Collections.unmodifiableMap(settings);
    }

    public Map<String, Value> settings() {
        return settings;
    }

    public static XlCfg parse(String text) throws XlCfgException {
        // A file saved by an editor that marks UTF-8 with a byte-order mark is still the same config.
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        return new XlCfg(new Parser(text).file());
    }

    /** The text of an atom, or null for a list (libxlu's xlu_cfg_get_string accepts any atom). */
    public static String atom(Value v) {
        return switch (v) {
            case Str s -> s.value();
            case Num n -> n.text();
            case Lst l -> null;
        };
    }

    /**
     * An atom as C's strtol(text, &end, 0) reads it, refusing what xlu_cfg_get_long refuses: anything but one
     * whole number (with an optional sign, 0x for hex, a leading 0 for octal), and values beyond a C long.
     */
    public static long number(String text) throws NumberFormatException {
        String t = text.strip();
        boolean neg = t.startsWith("-");
        if (neg || t.startsWith("+")) t = t.substring(1);
        int radix = 10;
        if (t.length() > 1 && (t.startsWith("0x") || t.startsWith("0X"))) {
            radix = 16;
            t = t.substring(2);
        } else if (t.length() > 1 && t.startsWith("0")) {
            radix = 8;
            t = t.substring(1);
        }
        if (t.isEmpty() || t.startsWith("+") || t.startsWith("-")) throw new NumberFormatException("not a number");
        return Long.parseLong(neg ? "-" + t : t, radix);
    }

    /** A recursive-descent parser over the text; {@code line} follows the cursor. */
    private static final class Parser {
        private final String s;
        private int pos;
        private int line = 1;

        Parser(String s) {
            this.s = s;
        }

        Map<String, Value> file() throws XlCfgException {
            Map<String, Value> out = new LinkedHashMap<>();
            while (true) {
                skipBlankAndEnds();
                if (pos >= s.length()) return out;
                int at = line;
                String name = identifier();
                skipSpaces();
                boolean append = s.startsWith("+=", pos);
                if (append) {
                    pos += 2;
                } else if (peek() == '=') {
                    pos++;
                } else {
                    throw error("expected '=' after " + name);
                }
                skipSpaces();
                Value v = value(true);
                if (append) v = appended(name, out.get(name), v, at);
                out.remove(name); // a repeated setting moves to where it was last given
                out.put(name, v);
                skipSpaces();
                char c = peek();
                if (c == ';' || c == '\n') {
                    pos++;
                    if (c == '\n') line++;
                } else if (c == '\\') {
                    throw continuation();
                } else if (c != 0) {
                    throw error("unexpected " + describe(c) + " after the value of " + name);
                }
            }
        }

        /** libxlu's xlu__cfg_concat_vals: list += list, string += string. */
        private static Value appended(String name, Value old, Value add, int at) throws XlCfgException {
            if (old == null) return add;
            if (old instanceof Lst base && add instanceof Lst more) {
                List<Value> all = new ArrayList<>(base.items());
                all.addAll(more.items());
                return new Lst(List.copyOf(all), base.line());
            }
            if (!(old instanceof Lst) && !(add instanceof Lst)) return new Str(atom(old) + atom(add), at);
            throw new XlCfgException(at, "can't add [list] to \"string\" or vice versa (" + name + " +=)");
        }

        private String identifier() throws XlCfgException {
            int start = pos;
            char first = peek();
            if (first < 'a' || first > 'z') {
                if (Character.isLetter(first)) {
                    int end = start;
                    while (end < s.length() && (Character.isLetterOrDigit(s.charAt(end)) || s.charAt(end) == '_')) end++;
                    throw error("setting names are lower case: " + s.substring(start, end));
                }
                throw error("expected a setting name, found " + describe(first));
            }
            while (pos < s.length() && isNameChar(s.charAt(pos))) pos++;
            return s.substring(start, pos);
        }

        private static boolean isNameChar(char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        }

        private Value value(boolean listAllowed) throws XlCfgException {
            char c = peek();
            int at = line;
            if (c == '\'' || c == '"') return new Str(string(c), at);
            if (c >= '0' && c <= '9') return number();
            if (c == '[') {
                if (!listAllowed) throw error("lists cannot be nested");
                return list();
            }
            if (c == '\\') throw continuation();
            if (c == 0 || c == '\n' || c == ';') throw error("missing value");
            if (c == '-' && Character.isDigit(peekAt(pos + 1))) {
                throw error("a negative number is not xl.cfg syntax (quoted, '-1' is read as one)");
            }
            if (c == '-' || c == '+' || c == '(' || c == ')' || c == '.' || c == ':' || Character.isLetter(c)) {
                throw error("unexpected " + describe(c) + ": values are numbers, quoted strings or [lists]"
                        + " (xl.cfg is not Python)");
            }
            throw error("unexpected " + describe(c));
        }

        private Lst list() throws XlCfgException {
            int at = line;
            pos++;
            List<Value> items = new ArrayList<>();
            while (true) {
                skipBlank();
                if (peek() == ']') {
                    pos++;
                    return new Lst(List.copyOf(items), at);
                }
                if (peek() == 0) throw new XlCfgException(at, "list is not closed with ']'");
                items.add(value(false));
                skipBlank();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c != ']') {
                    if (c == 0) throw new XlCfgException(at, "list is not closed with ']'");
                    throw error("expected ',' or ']' in list, found " + describe(c));
                }
            }
        }

        /** A quoted string with libxlu's escapes (xlu__cfgl_dequote), the same in both kinds of quotes. */
        private String string(char quote) throws XlCfgException {
            int at = line;
            pos++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length() || s.charAt(pos) == '\n') throw new XlCfgException(at, "unterminated string");
                char c = s.charAt(pos++);
                if (c == quote) return b.toString();
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (pos >= s.length() || s.charAt(pos) == '\n') throw new XlCfgException(at, "unterminated string");
                char e = s.charAt(pos++);
                switch (e) {
                    case '"', '\'', '\\' -> b.append(e);
                    case 'a' -> b.append('\007');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'v' -> b.append('\013');
                    case 'x' -> b.append((char) digits(16, 2, 2, "hex"));
                    default -> {
                        if (e < '0' || e > '7') throw error("invalid character after backslash in quoted string: \\" + e);
                        pos--;
                        b.append((char) digits(8, 1, 3, "octal"));
                    }
                }
            }
        }

        private int digits(int radix, int min, int max, String what) throws XlCfgException {
            int start = pos;
            while (pos < s.length() && pos - start < max && Character.digit(s.charAt(pos), radix) >= 0) pos++;
            if (pos - start < min) throw error("invalid digit after backslash " + what + " numerical character escape in quoted string");
            return Integer.parseInt(s.substring(start, pos), radix);
        }

        /** libxlu's NUMBER token, kept as text: its meaning is decided by whoever reads it as a number. */
        private Num number() throws XlCfgException {
            int at = line;
            int start = pos;
            while (pos < s.length() && Character.isLetterOrDigit(s.charAt(pos))) pos++;
            String t = s.substring(start, pos);
            if (!t.matches("[0-9][0-9a-fx]*")) {
                throw new XlCfgException(at, "bad number " + t + (t.matches("[0-9]+[A-Za-z]+") ? " (xl.cfg numbers have no units)" : ""));
            }
            return new Num(t, at);
        }

        private void skipSpaces() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\r') {
                    pos++;
                } else if (c == '#') {
                    while (pos < s.length() && s.charAt(pos) != '\n') pos++;
                } else {
                    return;
                }
            }
        }

        /** Spaces, comments and newlines (inside lists). */
        private void skipBlank() {
            while (true) {
                skipSpaces();
                if (peek() != '\n') return;
                pos++;
                line++;
            }
        }

        private void skipBlankAndEnds() {
            while (true) {
                skipBlank();
                if (peek() != ';') return;
                pos++;
            }
        }

        private char peek() {
            return peekAt(pos);
        }

        private char peekAt(int i) {
            return i < s.length() ? s.charAt(i) : 0;
        }

        private XlCfgException continuation() {
            return error("'\\' does not continue a line in xl.cfg: a [list] may span lines, a string may not");
        }

        private static String describe(char c) {
            if (c == 0) return "end of file";
            if (c == '\n') return "end of line";
            return "'" + c + "'";
        }

        private XlCfgException error(String msg) {
            return new XlCfgException(line, msg);
        }
    }
}
