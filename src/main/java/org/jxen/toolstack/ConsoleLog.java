package org.jxen.toolstack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One guest's console output as xenconsoled keeps it: the last {@link #CAPACITY} lines in memory for
 * {@code xl dmesg}/{@code xl console}, every byte appended to its log file ({@code console/guest-<name>.log}),
 * and followers that see each new line until the domain dies. Bytes are split into lines on '\n' and decoded
 * as UTF-8 only once a line is complete, so a character split across two reads survives.
 */
public final class ConsoleLog {
    public static final int CAPACITY = 4096;

    /** A follower of the log; {@code ended} runs once, when the domain's console goes away. */
    public record Follower(Consumer<String> line, Runnable ended) {}

    /** A follower of the bytes as they come, partial lines (a prompt, an echoed key) included: xl console. */
    public record ByteFollower(Consumer<byte[]> bytes, Runnable ended) {}

    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private final List<Follower> followers = new ArrayList<>();
    private final List<ByteFollower> byteFollowers = new ArrayList<>();
    /** Where the bytes go; null: memory only. */
    private final Path path;
    /** Opened by {@link #create} or with the first bytes; null until then. */
    private OutputStream file;
    /** An open or a write failed (said once): nothing more goes to the file. */
    private boolean fileFailed;
    private boolean ended;

    /** {@code file} may be null (memory only); it is made by {@link #create} or with the first bytes. */
    public ConsoleLog(Path file) {
        this.path = file;
    }

    /** Makes the log file now if it is not made yet (a failure is said once, as a write's). */
    public synchronized void create() {
        if (path == null || fileFailed || file != null || ended) return;
        writeFile(new byte[0], 0, 0);
    }

    /** What xenconsoled read from the ring. */
    public synchronized void append(byte[] bytes, int off, int len) {
        if (ended) return;
        writeFile(bytes, off, len);
        if (!byteFollowers.isEmpty()) {
            byte[] copy = java.util.Arrays.copyOfRange(bytes, off, off + len);
            for (ByteFollower f : byteFollowers) f.bytes().accept(copy);
        }
        for (int i = off; i < off + len; i++) {
            if (bytes[i] == '\n') {
                completeLine();
            } else {
                partial.write(bytes[i]);
            }
        }
    }

    private void completeLine() {
        String line = partial.toString(StandardCharsets.UTF_8);
        partial.reset();
        if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
        if (lines.size() == CAPACITY) lines.removeFirst();
        lines.addLast(line);
        for (Follower f : followers) f.line().accept(line);
    }

    private void writeFile(byte[] bytes, int off, int len) {
        if (path == null || fileFailed) return;
        try {
            if (file == null) {
                Files.createDirectories(path.getParent());
                file = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            file.write(bytes, off, len);
            file.flush();
        } catch (IOException e) {
            // Said once: the lines are still kept in memory for xl console and xl dmesg.
            fileFailed = true;
            System.getLogger("jxen.console").log(Level.WARNING, "console log " + path + ": " + e);
        }
    }

    /** The lines held, oldest first (a trailing line without '\n' is not included until it is complete). */
    public synchronized List<String> lines() {
        return new ArrayList<>(lines);
    }

    /** The lines held, and none held after (xl dmesg -c); the log file keeps them. */
    public synchronized List<String> drain() {
        List<String> out = new ArrayList<>(lines);
        lines.clear();
        return out;
    }

    /**
     * Registers a follower and returns the lines so far, atomically, so that no line is missed or seen twice.
     * A log that already ended calls {@code ended} at once.
     */
    public synchronized List<String> follow(Follower f) {
        if (ended) {
            f.ended().run();
        } else {
            followers.add(f);
        }
        return new ArrayList<>(lines);
    }

    public synchronized void unfollow(Follower f) {
        followers.remove(f);
    }

    /**
     * Registers a byte follower and returns, atomically with it, what the console showed so far: the lines held,
     * each with its '\n', and the line not yet ended (a shell's prompt).
     */
    public synchronized byte[] follow(ByteFollower f) {
        if (ended) {
            f.ended().run();
        } else {
            byteFollowers.add(f);
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String l : lines) b.writeBytes((l + "\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(partial.toByteArray());
        return b.toByteArray();
    }

    public synchronized void unfollow(ByteFollower f) {
        byteFollowers.remove(f);
    }

    /** How many follow the log now (an {@code xl console} each). */
    public synchronized int followers() {
        return followers.size() + byteFollowers.size();
    }

    public synchronized boolean ended() {
        return ended;
    }

    /** The domain is gone: a last incomplete line is kept, followers are told, the file is closed. */
    public synchronized void end() {
        if (ended) return;
        if (partial.size() > 0) completeLine();
        ended = true;
        for (Follower f : followers) f.ended().run();
        followers.clear();
        for (ByteFollower f : byteFollowers) f.ended().run();
        byteFollowers.clear();
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                System.getLogger("jxen.console").log(Level.DEBUG, "closing console log: " + e);
            }
        }
    }
}
