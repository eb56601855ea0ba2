package org.jxen.toolstack;

import java.util.List;

/**
 * A guest that died (or never finished) booting: xl create's error, with the guest's last console lines, which
 * the control socket sends ahead of its ERROR reply so that xl prints them.
 */
public final class BootFailedException extends Exception {
    private final List<String> lastLines;

    public BootFailedException(String message, List<String> lastLines) {
        super(message);
        this.lastLines = List.copyOf(lastLines);
    }

    public List<String> lastLines() {
        return lastLines;
    }
}
