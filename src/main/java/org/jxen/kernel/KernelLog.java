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

    /** The lines still held, oldest first. */
    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    public void addSink(Consumer<String> sink) {
        sinks.add(sink);
    }

    public void removeSink(Consumer<String> sink) {
        sinks.remove(sink);
    }
}
