package org.jxen.toolstack;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON as libxl's yajl generator writes it beautified (what {@code xl list -l} prints): four spaces per level,
 * {@code "key": value}, one member or element per line. Values are maps (insertion order kept), lists, strings,
 * numbers and booleans; libxl writes its booleans as 1/0 or "True"/"False" itself, so callers pass those.
 */
final class YajlJson {
    private YajlJson() {}

    static String write(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value, 0);
        return b.append('\n').toString();
    }

    private static void write(StringBuilder b, Object v, int depth) {
        switch (v) {
            case Map<?, ?> m -> {
                b.append('{');
                List<Map.Entry<?, ?>> es = new ArrayList<>(m.entrySet());
                for (int i = 0; i < es.size(); i++) {
                    b.append(i == 0 ? "\n" : ",\n");
                    indent(b, depth + 1);
                    string(b, es.get(i).getKey().toString());
                    b.append(": ");
                    write(b, es.get(i).getValue(), depth + 1);
                }
                b.append('\n');
                indent(b, depth);
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    b.append(i == 0 ? "\n" : ",\n");
                    indent(b, depth + 1);
                    write(b, l.get(i), depth + 1);
                }
                b.append('\n');
                indent(b, depth);
                b.append(']');
            }
            case String s -> string(b, s);
            case Number n -> b.append(n);
            case Boolean x -> b.append(x);
            default -> throw new IllegalArgumentException("no JSON for " + v.getClass());
        }
    }

    private static void indent(StringBuilder b, int depth) {
        b.append("    ".repeat(depth));
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
