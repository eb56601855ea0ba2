package org.jxen.docs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One command of a shell block, as a reader types it: a line, with its {@code \} continuation lines and
 * here-document. {@link #words} are the command's words after the shell's quote removal; a line is
 * {@link #simple} when those words are all there is to it (no expansions, pipes, redirections or lists), so it
 * can be run without a shell. {@code [OPTIONS]} in square brackets (a word opening with {@code [} to one
 * closing with {@code ]}) are optional: {@link #words} has them without the brackets,
 * {@link #wordsWithoutOptional} leaves them out.
 *
 * @param line  the document line the command starts on
 * @param text  the command as written, without its trailing comment: what expectations name
 * @param code  what a shell runs: {@code text} without a trailing {@code &}
 * @param env   the {@code NAME=value} assignments before the command
 */
record ShellLine(String doc, int line, String text, String code, List<String> words, List<String> wordsWithoutOptional,
                 Map<String, String> env, boolean background, boolean simple) {

    private static final Pattern ASSIGNMENT = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*=.*", Pattern.DOTALL);

    String where() {
        return doc + ":" + line;
    }

    boolean isJxen() {
        return !words.isEmpty() && (words.getFirst().equals("./jxen") || words.getFirst().equals("jxen"));
    }

    /** The arguments after {@code ./jxen}. */
    List<String> jxenArgs() {
        return words.subList(1, words.size());
    }

    List<String> jxenArgsWithoutOptional() {
        return wordsWithoutOptional.subList(1, wordsWithoutOptional.size());
    }

    String command() {
        return words.isEmpty() ? "" : words.getFirst();
    }

    /** The commands of a shell block, in order; blank and comment lines are none. */
    static List<ShellLine> of(DocBlocks.Block b) {
        List<ShellLine> out = new ArrayList<>();
        List<String> lines = b.lines();
        for (int i = 0; i < lines.size(); i++) {
            int start = i;
            StringBuilder raw = new StringBuilder(lines.get(i));
            while (raw.toString().endsWith("\\") && i + 1 < lines.size()) {
                raw.setLength(raw.length() - 1);
                raw.append(lines.get(++i));
            }
            Parsed p;
            try {
                p = tokenize(raw.toString());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(b.doc() + ":" + b.docLine(start) + ": " + e.getMessage()
                        + " (in a shell block; a block of output or other text needs a language, e.g. ```text)", e);
            }
            if (p.heredoc != null) {
                StringBuilder body = new StringBuilder();
                while (++i < lines.size()) {
                    String l = lines.get(i);
                    body.append('\n').append(l);
                    if ((p.heredocTabs ? l.stripLeading() : l).equals(p.heredoc)) break;
                }
                p.code += body;
            }
            if (p.words.isEmpty() && p.code.isBlank()) continue;
            out.add(p.toLine(b.doc(), b.docLine(start)));
        }
        return out;
    }

    /** What the tokenizer found in one logical line. */
    private static final class Parsed {
        final List<String> words = new ArrayList<>();
        final List<Boolean> optional = new ArrayList<>();
        String code;
        boolean background;
        boolean simple = true;
        String heredoc;
        boolean heredocTabs;

        ShellLine toLine(String doc, int line) {
            Map<String, String> env = new LinkedHashMap<>();
            List<String> w = new ArrayList<>(words);
            List<Boolean> opt = new ArrayList<>(optional);
            while (!w.isEmpty() && ASSIGNMENT.matcher(w.getFirst()).matches() && !opt.getFirst()) {
                String a = w.removeFirst();
                opt.removeFirst();
                env.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
            }
            List<String> without = new ArrayList<>();
            for (int i = 0; i < w.size(); i++) if (!opt.get(i)) without.add(w.get(i));
            String text = code.strip() + (background ? " &" : "");
            return new ShellLine(doc, line, text, code.strip(), List.copyOf(w), List.copyOf(without), Map.copyOf(env),
                    background, simple);
        }
    }

    /** POSIX shell quoting, comments, {@code &} at the end, and square-bracketed optional words. */
    private static Parsed tokenize(String s) {
        Parsed p = new Parsed();
        StringBuilder word = null;
        boolean inOptional = false;
        boolean wordOptional = false;
        boolean closesOptional = false;
        int end = s.length();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t') {
                if (word != null) {
                    p.words.add(word.toString());
                    p.optional.add(wordOptional);
                    if (closesOptional) inOptional = false;
                    word = null;
                    closesOptional = false;
                }
                i++;
                continue;
            }
            if (word == null) {
                if (c == '#') {
                    end = i;
                    break;
                }
                word = new StringBuilder();
                wordOptional = inOptional;
                if (c == '[' && !inOptional) {
                    inOptional = true;
                    wordOptional = true;
                    i++;
                    continue;
                }
            }
            switch (c) {
                case '\'' -> {
                    int close = s.indexOf('\'', i + 1);
                    if (close < 0) throw new IllegalArgumentException("unterminated ' in: " + s);
                    word.append(s, i + 1, close);
                    i = close + 1;
                }
                case '"' -> {
                    i++;
                    while (i < s.length() && s.charAt(i) != '"') {
                        char d = s.charAt(i);
                        if (d == '\\' && i + 1 < s.length() && "$`\"\\".indexOf(s.charAt(i + 1)) >= 0) {
                            word.append(s.charAt(i + 1));
                            i += 2;
                            continue;
                        }
                        if (d == '$' || d == '`') p.simple = false;
                        word.append(d);
                        i++;
                    }
                    if (i >= s.length()) throw new IllegalArgumentException("unterminated \" in: " + s);
                    i++;
                }
                case '\\' -> {
                    if (i + 1 < s.length()) word.append(s.charAt(i + 1));
                    i += 2;
                }
                case '&' -> {
                    if (s.startsWith("&&", i)) {
                        p.simple = false;
                        word.append("&&");
                        i += 2;
                    } else if (s.substring(i + 1).strip().isEmpty() || s.substring(i + 1).strip().startsWith("#")) {
                        p.background = true;
                        if (word.isEmpty()) word = null;
                        end = i;
                        i = s.length();
                    } else {
                        p.simple = false;
                        word.append(c);
                        i++;
                    }
                }
                case '<' -> {
                    p.simple = false;
                    if (s.startsWith("<<", i) && !s.startsWith("<<<", i)) {
                        int j = i + 2;
                        boolean tabs = j < s.length() && s.charAt(j) == '-';
                        if (tabs) j++;
                        while (j < s.length() && s.charAt(j) == ' ') j++;
                        int k = j;
                        while (k < s.length() && " \t;&|<>".indexOf(s.charAt(k)) < 0) k++;
                        p.heredoc = s.substring(j, k).replace("'", "").replace("\"", "").replace("\\", "");
                        p.heredocTabs = tabs;
                    }
                    word.append(c);
                    i++;
                }
                case ']' -> {
                    boolean last = i + 1 == s.length() || s.charAt(i + 1) == ' ' || s.charAt(i + 1) == '\t';
                    if (inOptional && last) closesOptional = true;
                    else word.append(c);
                    i++;
                }
                default -> {
                    if ("|;>()$`*?".indexOf(c) >= 0) p.simple = false;
                    word.append(c);
                    i++;
                }
            }
        }
        if (word != null) {
            p.words.add(word.toString());
            p.optional.add(wordOptional);
            if (closesOptional) inOptional = false;
        }
        if (inOptional) throw new IllegalArgumentException("unclosed [ in: " + s);
        p.code = s.substring(0, end);
        return p;
    }
}
