package org.jxen.cli.xenstore;

import java.io.File;
import java.util.concurrent.TimeUnit;

/** The terminal width xenstore-ls asks TIOCGWINSZ for; Java has no ioctl, so stty answers. */
final class TerminalWidth {
    private TerminalWidth() {}

    /** Columns of the terminal stdout is on, or null when stdout is not a terminal. */
    static Integer stdoutColumns() {
        java.io.Console console = System.console();
        if (console == null || !console.isTerminal()) return null;
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String answer = new String(p.getInputStream().readAllBytes()).trim();
            if (!p.waitFor(2, TimeUnit.SECONDS) || p.exitValue() != 0) return null;
            String[] rowsCols = answer.split("\\s+");
            return rowsCols.length == 2 ? Integer.parseInt(rowsCols[1]) : null;
        } catch (Exception e) {
            return null;
        }
    }
}
