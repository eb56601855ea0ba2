package org.jxen.toolstack;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The syntax of xl.cfg (libxlu's cfg grammar): settings {@code NAME = VALUE} ended by a newline or ';', values
 * that are numbers (decimal or 0x hex), strings in single quotes (taken literally) or double quotes (C escapes),
 * or lists {@code [v, v, ...]} of those atoms, which may span lines and end with a comma; {@code NAME += [..]}
 * appends to a list; {@code #} comments to the end of the line. A setting given twice keeps the last value,
 * as xl does. What the settings mean is {@link DomainConfig}'s business.
 */
public final class XlCfg {
    /** A parsed value; lists hold atoms only. */
    public sealed interface Value permits Str, Num, Lst {
        int line();
    }

    public record Str(String value, int line) implements Value {}

    public record Num(long value, int line) implements Value {}

    public record Lst(List<Value> items, int line) implements Value {}

    private final Map<String, Value> settings;

    private XlCfg(Map<String, Value> settings) {
        this.settings = Collections.unmodifiableMap(settings);
    }

    public Map<String, Value> settings() {
        return settings;
    }

    public static XlCfg parse(String text) throws XlCfgException {
        return new XlCfg(new Parser(text).file());
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
                out.put(name, v);
                skipSpaces();
                char c = peek();
                if (c == ';' || c == '\n') {
                    pos++;
                    if (c == '\n') line++;
                } else if (c != 0) {
                    throw error("unexpected " + describe(c) + " after the value of " + name);
                }
            }
        }

        private Value appended(String name, Value old, Value add, int at) throws XlCfgException {
            if (!(add instanceof Lst more)) throw new XlCfgException(at, "'+=' needs a list for " + name);
            if (old == null) return add;
            if (!(old instanceof Lst base)) throw new XlCfgException(at, "'+=' on " + name + ", which is not a list");
            List<Value> all = new ArrayList<>(base.items());
            all.addAll(more.items());
            return new Lst(List.copyOf(all), base.line());
        }

        private String identifier() throws XlCfgException {
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) pos++;
            if (pos == start || Character.isDigit(s.charAt(start))) {
                throw error("expected a setting name, found " + describe(peekAt(start)));
            }
            return s.substring(start, pos);
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
            throw error(c == 0 || c == '\n' || c == ';' ? "missing value" : "unexpected " + describe(c));
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

        private String string(char quote) throws XlCfgException {
            int at = line;
            pos++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length() || s.charAt(pos) == '\n') throw new XlCfgException(at, "unterminated string");
                char c = s.charAt(pos++);
                if (c == quote) return b.toString();
                if (c == '\\' && quote == '"') {
                    if (pos >= s.length()) throw new XlCfgException(at, "unterminated string");
                    char e = s.charAt(pos++);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case '\\', '"', '\'' -> b.append(e);
                        default -> throw error("unknown escape \\" + e + " in string");
                    }
                } else {
                    b.append(c);
                }
            }
        }

        private Num number() throws XlCfgException {
            int at = line;
            int start = pos;
            while (pos < s.length() && Character.isLetterOrDigit(s.charAt(pos))) pos++;
            String t = s.substring(start, pos);
            try {
                long v = t.startsWith("0x") || t.startsWith("0X") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
                return new Num(v, at);
            } catch (NumberFormatException e) {
                throw new XlCfgException(at, "bad number " + t);
            }
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
