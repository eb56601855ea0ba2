package org.jxen.kernel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A domain kernel's log (printk / dmesg): the last {@link #CAPACITY} lines, plus sinks that see every line as
 * it is printed (a guest's console ring, the demo's event diagram, tests).
 */
public final class KernelLog {
    public static final int CAPACITY = 4096;

    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final List<Consumer<String>> sinks = new CopyOnWriteArrayList<>();

    public void printk(String line) {
        synchronized (lines) {
            if (lines.size() == CAPACITY) lines.removeFirst();
            lines.addLast(line);
        }
        for (Consumer<String> s : sinks) s.accept(line);
    }

    /**
     * Puts back the lines a suspended kernel recorded (KernelRecord), before anything this kernel printed, as a
     * restored Linux guest's log buffer still holds what it printed before; no sink sees them again.
     */
    public void restore(List<String> earlier) {
        synchronized (lines) {
            List<String> now = new ArrayList<>(lines);
            lines.clear();
            for (String l : earlier) lines.addLast(l);
            for (String l : now) lines.addLast(l);
            while (lines.size() > CAPACITY) lines.removeFirst();
        }
    }

    /** The lines still held, oldest first. */
    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /** The lines still held, oldest first, and none held after (xl dmesg -c). */
    public List<String> drain() {
        synchronized (lines) {
            List<String> out = new ArrayList<>(lines);
            lines.clear();
            return out;
        }
    }

    public void addSink(Consumer<String> sink) {
        sinks.add(sink);
    }

    public void removeSink(Consumer<String> sink) {
        sinks.remove(sink);
    }
}
