package org.jxen.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel command line (xl.cfg's {@code extra}, with jxen's {@code drivers} list as {@code modules_load=}):
 * words separated by blanks, of three kinds.
 * <ul>
 * <li>{@code NAME.KEY=VALUE} (or a bare {@code NAME.KEY}): a parameter of module NAME, given to it when it is
 * built in or loaded at boot, as Linux's parse_args and modprobe do.</li>
 * <li>{@code modules_load=A,B}: modules to load at boot, after the built-in ones (systemd-modules-load's
 * option; may be repeated).</li>
 * <li>anything else: not the kernel's; reported at boot as Linux does and otherwise ignored.</li>
 * </ul>
 */
public final class CommandLine {
    public static final String MODULES_LOAD = "modules_load=";
    public static final CommandLine EMPTY = new CommandLine(List.of());

    /** One {@code NAME.KEY=VALUE} word; value null for a bare {@code NAME.KEY}. */
    public record Parameter(String module, String key, String value) {
        @Override
        public String toString() {
            return module + "." + key + (value == null ? "" : "=" + value);
        }
    }

    private final List<String> words;
    private final List<String> modulesLoad = new ArrayList<>();
    private final List<Parameter> parameters = new ArrayList<>();
    private final List<String> unknown = new ArrayList<>();

    private CommandLine(List<String> words) {
        this.words = List.copyOf(words);
        for (String w : this.words) {
            if (w.startsWith(MODULES_LOAD)) {
                for (String m : w.substring(MODULES_LOAD.length()).split(",")) if (!m.isEmpty()) modulesLoad.add(m);
                continue;
            }
            int eq = w.indexOf('=');
            String key = eq < 0 ? w : w.substring(0, eq);
            int dot = key.indexOf('.');
            if (dot > 0 && dot < key.length() - 1) {
                parameters.add(new Parameter(key.substring(0, dot), key.substring(dot + 1), eq < 0 ? null : w.substring(eq + 1)));
            } else {
                unknown.add(w);
            }
        }
    }

    private static final java.util.regex.Pattern BLANKS = java.util.regex.Pattern.compile("\\s+");

    /** The words of {@code args}, each split at blanks (a kernel's argument vector or one command-line string). */
    public static CommandLine of(List<String> args) {
        List<String> words = new ArrayList<>();
        for (String a : args) {
            for (String w : BLANKS.split(a.strip())) if (!w.isEmpty()) words.add(w);
        }
        return new CommandLine(words);
    }

    public static CommandLine parse(String line) {
        return of(List.of(line));
    }

    public List<String> words() {
        return words;
    }

    /** The modules of every {@code modules_load=}, in order. */
    public List<String> modulesLoad() {
        return List.copyOf(modulesLoad);
    }

    /** The parameters given to {@code module}, in order (each is set in turn, so a later one of a key wins). */
    public List<Parameter> parametersOf(String module) {
        return parameters.stream().filter(p -> p.module().equals(module)).toList();
    }

    /** Every {@code NAME.KEY=VALUE} word, in order. */
    public List<Parameter> parameters() {
        return List.copyOf(parameters);
    }

    /** The words that are neither module parameters nor {@code modules_load=}. */
    public List<String> unknown() {
        return List.copyOf(unknown);
    }

    @Override
    public String toString() {
        return String.join(" ", words);
    }
}
