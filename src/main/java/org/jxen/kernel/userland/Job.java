package org.jxen.kernel.userland;

import java.util.function.Supplier;

/**
 * What a utility run by {@code xl exec} sees of the freezer: a safe point between units of work where it may be
 * frozen for a suspend (Linux's try_to_freeze), and the progress a restored kernel gave it. A utility that calls
 * {@link #safePoint} after each acknowledged unit and starts from {@link #resumed} survives a save, restore and
 * migration: it goes on where it stopped. {@link #NONE} is for commands run outside xl exec (the console shell,
 * dom0's userland), which are never frozen. The same three calls serve every freezable utility (dd, sha256sum,
 * blkbench): each encodes its own progress bytes, which the exec agent carries in the kernel record unread.
 */
interface Job {
    Job NONE = new Job() {
        @Override
        public void safePoint(Supplier<byte[]> progress) {}

        @Override
        public byte[] resumed() {
            return null;
        }

        @Override
        public boolean freezing() {
            return false;
        }

        @Override
        public void account(long read, long written) {}
    };

    /**
     * Parks while the kernel is frozen, {@code progress} (asked only then) being what a restored kernel continues
     * from; {@link Abandoned} when the domain went away meanwhile (saved or migrated: the command goes on elsewhere).
     */
    void safePoint(Supplier<byte[]> progress) throws InterruptedException;

    /** The progress recorded at the suspend this command resumes from, or null for a fresh start. */
    byte[] resumed();

    /**
     * Whether a freeze is waiting for this command: one with requests in flight (blkbench) quiesces before its
     * {@link #safePoint}, so that its progress is whole.
     */
    boolean freezing();

    /** Bytes it read and wrote since the last call: its {@code /proc/<n>/io} ({@code rchar}, {@code wchar}). */
    void account(long read, long written);

    /** The domain is gone while the command was frozen: it ends without a word, its copy continues elsewhere. */
    final class Abandoned extends RuntimeException {
        Abandoned() {
            super("the domain went away while the command was frozen", null, false, false);
        }
    }
}
