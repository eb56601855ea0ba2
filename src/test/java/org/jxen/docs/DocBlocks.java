package org.jxen.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Markdown document cut into its fenced code blocks, each with the section it is in and the docs-test
 * directives written before it (the convention is described in {@link DocsTest} and docs/docs-tests.md).
 *
 * @param name     how failure messages name the document: its path relative to the project, e.g. {@code README.md}
 * @param docLevel the directives that belong to the whole document ({@code on})
 */
record DocBlocks(String name, List<Block> blocks, Map<String, String> docLevel) {

    /** Directives that may stand before a block, and the one that stands anywhere else. */
    static final Set<String> BLOCK_DIRECTIVES = Set.of("group", "compile-only", "parse-only", "file");
    static final Set<String> DOC_DIRECTIVES = Set.of("on");
    static final Set<String> SHELL_LANGS = Set.of("", "sh", "bash", "shell");

    private static final Pattern FENCE = Pattern.compile("^( {0,3})(`{3,}|~{3,})\\s*([^`\\s]*)[^`]*$");
    private static final Pattern DIRECTIVE = Pattern.compile("^\\s*<!--\\s*docs-test:\\s*([\\w-]+)\\s*(.*?)\\s*-->\\s*$");
    private static final Pattern HEADING = Pattern.compile("^ {0,3}#{1,6}\\s+(.*?)\\s*#*\\s*$");

    /**
     * One fenced block.
     *
     * @param fenceLine  the line of its opening fence (1-based), which failure messages cite
     * @param lang       the info string's first word ({@code java}, {@code sh}, or empty)
     * @param heading    the heading of the section it is in ("" before the first heading)
     * @param directives name to argument (the argument may be empty) of the directives written before it
     * @param lead       the text between the previous block (or the start) and this one, which tells the reader
     *                   what the block is
     */
    record Block(String doc, int fenceLine, String lang, String heading, List<String> lines,
                 Map<String, String> directives, String lead) {
        /** The document line of the block's {@code i}-th line (0-based). */
        int docLine(int i) {
            return fenceLine + 1 + i;
        }

        boolean isJava() {
            return lang.equals("java");
        }

        boolean isShell() {
            return SHELL_LANGS.contains(lang);
        }

        String where() {
            return doc + ":" + fenceLine;
        }

        String text() {
            return String.join("\n", lines) + "\n";
        }

        /** The path the reader saves this block as ({@code file} directive), or null. */
        String file() {
            return directives.get("file");
        }
    }

    static DocBlocks read(Path root, Path file) {
        try {
            return parse(root.relativize(file).toString(), Files.readAllLines(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Cuts {@code lines} into blocks; an unknown or misplaced directive is an error naming its line. */
    static DocBlocks parse(String name, List<String> lines) {
        List<Block> blocks = new ArrayList<>();
        Map<String, String> docLevel = new LinkedHashMap<>();
        Map<String, String> pending = new LinkedHashMap<>();
        int pendingLine = 0;
        String heading = "";
        StringBuilder lead = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher d = DIRECTIVE.matcher(line);
            if (d.matches()) {
                String dname = d.group(1);
                if (DOC_DIRECTIVES.contains(dname)) {
                    docLevel.put(dname, d.group(2));
                } else if (BLOCK_DIRECTIVES.contains(dname)) {
                    pending.put(dname, d.group(2));
                    pendingLine = i + 1;
                } else {
                    throw new IllegalArgumentException(name + ":" + (i + 1) + ": unknown docs-test directive '" + dname
                            + "' (known: " + BLOCK_DIRECTIVES + " before a block, " + DOC_DIRECTIVES + " anywhere)");
                }
                continue;
            }
            Matcher f = FENCE.matcher(line);
            if (f.matches()) {
                String fence = f.group(2);
                int open = i;
                List<String> body = new ArrayList<>();
                String indent = f.group(1);
                for (i++; i < lines.size(); i++) {
                    String l = lines.get(i);
                    String t = l.stripLeading();
                    if (t.startsWith(fence) && t.substring(fence.length()).isBlank() && l.length() - t.length() <= 3) break;
                    body.add(l.startsWith(indent) ? l.substring(indent.length()) : l.stripLeading());
                }
                if (i == lines.size()) {
                    throw new IllegalArgumentException(name + ":" + (open + 1) + ": code block is never closed");
                }
                blocks.add(new Block(name, open + 1, f.group(3).toLowerCase(java.util.Locale.ROOT), heading,
                        List.copyOf(body), Map.copyOf(pending), lead.toString()));
                pending.clear();
                lead.setLength(0);
                continue;
            }
            if (line.isBlank()) continue;
            lead.append(line).append('\n');
            if (!pending.isEmpty()) {
                throw new IllegalArgumentException(name + ":" + pendingLine + ": docs-test directive " + pending.keySet()
                        + " is not followed by a code block (only blank lines may come between)");
            }
            Matcher h = HEADING.matcher(line);
            if (h.matches()) heading = h.group(1);
        }
        if (!pending.isEmpty()) {
            throw new IllegalArgumentException(name + ":" + pendingLine + ": docs-test directive " + pending.keySet()
                    + " is not followed by a code block");
        }
        for (Block b : blocks) {
            for (String dname : b.directives().keySet()) {
                boolean fits = switch (dname) {
                    case "group", "compile-only" -> b.isJava();
                    case "parse-only" -> b.isShell();
                    case "file" -> !b.isShell();
                    default -> false;
                };
                if (!fits) {
                    throw new IllegalArgumentException(b.where() + ": docs-test directive '" + dname
                            + "' does not apply to a ```" + b.lang() + " block");
                }
                if (b.directives().get(dname).isBlank()) {
                    throw new IllegalArgumentException(b.where() + ": docs-test directive '" + dname + "' needs "
                            + switch (dname) {
                                case "group" -> "a group name, e.g. <!-- docs-test: group first-try -->";
                                case "file" -> "a path, e.g. <!-- docs-test: file /tmp/echo/src/Echo.java -->";
                                default -> "a reason, e.g. <!-- docs-test: " + dname + " serves until stopped -->";
                            });
                }
                // The reader is told where to save the block, in the text just before it: the same path.
                if (dname.equals("file") && !b.lead().contains(b.file())) {
                    throw new IllegalArgumentException(b.where() + ": the block is saved as " + b.file()
                            + " (docs-test directive 'file'), but the text before it does not say so: write the path"
                            + " there as the reader should type it");
                }
            }
        }
        return new DocBlocks(name, List.copyOf(blocks), Map.copyOf(docLevel));
    }

    List<Block> java() {
        return blocks.stream().filter(Block::isJava).toList();
    }

    List<Block> shell() {
        return blocks.stream().filter(Block::isShell).toList();
    }
}
