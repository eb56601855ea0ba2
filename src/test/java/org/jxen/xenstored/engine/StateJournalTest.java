package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.state.Journal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The journal and snapshot of the engine's state: every kind of change comes back after a restart, a journal
 * torn at any byte offset or corrupted anywhere in its last batch recovers exactly the whole batches before
 * the damage, and a guest's watches and open transactions come back with its ring.
 */
class StateJournalTest {
    @TempDir
    Path dir;

    private static final class Io implements ConnectionIo {
        final List<XsMessage> got = new ArrayList<>();
        Connection conn;

        @Override
        public void outputReady(Connection c) {}

        @Override
        public void close(Connection c) {}
    }

    private static XsMessage req(XenStoreEngine e, Io io, XsType type, int tx, String payload) {
        e.handle(io.conn, XsMessage.of(type, 9, tx, payload.getBytes(StandardCharsets.ISO_8859_1)));
        XsMessage reply = null;
        XsMessage m;
        while ((m = e.nextOutput(io.conn)) != null) {
            if (m.type() == XsType.WATCH_EVENT.code) io.got.add(m);
            else reply = m;
        }
        return reply;
    }

    private static String ok(XenStoreEngine e, Io io, XsType type, int tx, String payload) {
        XsMessage r = req(e, io, type, tx, payload);
        assertThat(r.type()).as("%s %s: %s", type, payload, new String(r.payload(), StandardCharsets.ISO_8859_1))
                .isEqualTo(type.code);
        return new String(r.payload(), StandardCharsets.ISO_8859_1);
    }

    private static Io dom0(XenStoreEngine e) {
        Io io = new Io();
        io.conn = e.connect(io, 0, true, "test");
        return io;
    }

    /** Every node (path, perms, value, children in order), the accounting, the settings. */
    private static String dump(XenStoreEngine e) {
        StringBuilder sb = new StringBuilder();
        e.tree().walk(n -> sb.append(n.path()).append(' ').append(n.perms()).append(' ')
                .append(HexFormat.of().formatHex(n.value())).append(' ').append(n.children()).append('\n'));
        assertThat(e.check()).as("tree and accounting sound").isEmpty();
        for (int d : new int[] {0, 3, 4}) {
            sb.append("dom").append(d).append(" nodes=").append(e.usage(d, Quota.NODES))
                    .append(" memory=").append(e.usage(d, Quota.MEMORY)).append('\n');
        }
        sb.append(new StateLog(e, e.tree(), null).settingsText());
        return sb.toString();
    }

    private static XenStoreEngine open(Path state) throws IOException {
        XenStoreEngine e = new XenStoreEngine();
        e.openState(state, false);
        return e;
    }

    private static XenStoreEngine open(Path state, Journal.Io io) throws IOException {
        XenStoreEngine e = new XenStoreEngine();
        e.openState(state, false, io);
        return e;
    }

    @Test
    void everyKindOfChangeComesBack() throws IOException {
        XenStoreEngine e = open(dir);
        Io d0 = dom0(e);
        ok(e, d0, XsType.INTRODUCE, 0, "3\0" + "1003\0" + "7\0");
        ok(e, d0, XsType.WRITE, 0, "/local/domain/3/a/b\0v\0with NUL");
        ok(e, d0, XsType.MKDIR, 0, "/local/domain/3/dir\0");
        ok(e, d0, XsType.WRITE, 0, "/x/1\0one");
        ok(e, d0, XsType.WRITE, 0, "/x/2\0two");
        ok(e, d0, XsType.WRITE, 0, "/x/3\0three");
        ok(e, d0, XsType.RM, 0, "/x/2\0");
        ok(e, d0, XsType.SET_PERMS, 0, "/local/domain/3\0n3\0r4\0");
        ok(e, d0, XsType.SET_PERMS, 0, "/x/3\0b0\0r1215752191\0");
        ok(e, d0, XsType.SET_PERMS, 0, "@releaseDomain\0n0\0r3\0");
        ok(e, d0, XsType.SET_QUOTA, 0, "nodes\0" + "500\0");
        ok(e, d0, XsType.SET_QUOTA, 0, "3\0watches\0" + "7\0");
        ok(e, d0, XsType.SET_FEATURE, 0, "3\0" + "1\0");
        int tx = Integer.parseInt(ok(e, d0, XsType.TRANSACTION_START, 0, "\0").trim().replace("\0", ""));
        ok(e, d0, XsType.RM, tx, "/x/1\0");
        ok(e, d0, XsType.WRITE, tx, "/x/1\0again");
        ok(e, d0, XsType.WRITE, tx, "/x/4/deep/er\0");
        ok(e, d0, XsType.TRANSACTION_END, tx, "T\0");
        ok(e, d0, XsType.INTRODUCE, 0, "4\0" + "1004\0" + "8\0");
        ok(e, d0, XsType.WRITE, 0, "/local/domain/4/gone\0soon");
        ok(e, d0, XsType.SET_PERMS, 0, "/local/domain/4\0n4\0");
        ok(e, d0, XsType.RELEASE, 0, "4\0");
        e.flushState();
        String before = dump(e);
        assertThat(before).contains("/x/3 b0 r1215752191").contains("[3, 1, 4]").contains("domain 3 introduced=1 gfn=1003 port=7")
                .contains("quota.watches=7").contains("features=1").contains("special @releaseDomain n0 r3")
                .doesNotContain("/local/domain/4/gone");

        XenStoreEngine again = open(dir);
        assertThat(dump(again)).isEqualTo(before);
        assertThat(again.introducedDomains()).containsExactly(3);
    }

    @Test
    void snapshotThenJournalComesBack() throws IOException {
        XenStoreEngine e = open(dir);
        Io d0 = dom0(e);
        for (int i = 0; i < 50; i++) ok(e, d0, XsType.WRITE, 0, "/s/" + i + "\0" + "v" + i);
        e.flushState();
        e.snapshotState();
        assertThat(e.journal().size()).isEqualTo(16);
        ok(e, d0, XsType.RM, 0, "/tool\0");
        for (int i = 0; i < 50; i += 3) ok(e, d0, XsType.RM, 0, "/s/" + i + "\0");
        ok(e, d0, XsType.WRITE, 0, "/s/new\0after the snapshot");
        e.flushState();
        String before = dump(e);
        assertThat(before).doesNotContain("/tool");
        assertThat(dump(open(dir))).isEqualTo(before);
        // And once more: recovery itself changes nothing.
        assertThat(dump(open(dir))).isEqualTo(before);
    }

    /** One request per batch: states.get(k) is the store after k batches, sizes.get(k) the journal's size then. */
    private void writeBatches(Path state, List<String> states, List<Long> sizes, Journal.Io io) throws IOException {
        XenStoreEngine e = open(state, io);
        Io d0 = dom0(e);
        states.add(dump(e));
        sizes.add(e.journal().size());
        String[][] steps = {
                {"WRITE", "/a/b\0hello"}, {"WRITE", "/a/c\0" + "x".repeat(300)}, {"MKDIR", "/a/d\0"},
                {"SET_PERMS", "/a\0n0\0r5\0"}, {"RM", "/a/b\0"}, {"WRITE", "/a/b\0back"},
                {"INTRODUCE", "5\0" + "1005\0" + "9\0"}, {"WRITE", "/local/domain/5/k\0v"}, {"RM", "/a\0"},
        };
        for (String[] s : steps) {
            ok(e, d0, XsType.valueOf(s[0]), 0, s[1]);
            e.flushState();
            states.add(dump(e));
            sizes.add(e.journal().size());
        }
        e.journal().close();
    }

    /** Both ways of writing: a mapped journal (the default) and write(2); each reopened the same way. */
    @ParameterizedTest
    @EnumSource(Journal.Io.class)
    void journalTornAtEveryByteOffsetKeepsTheWholeBatchesBeforeIt(Journal.Io io) throws IOException {
        Path state = dir.resolve("orig");
        List<String> states = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        writeBatches(state, states, sizes, io);
        byte[] journal = Files.readAllBytes(state.resolve(Journal.JOURNAL));
        assertThat((long) journal.length).isEqualTo(sizes.getLast());
        for (int cut = 0; cut <= journal.length; cut++) {
            Path d = Files.createDirectories(dir.resolve("cut" + cut));
            Files.write(d.resolve(Journal.JOURNAL), java.util.Arrays.copyOf(journal, cut));
            int k = 0;
            while (k + 1 < sizes.size() && sizes.get(k + 1) <= cut) k++;
            XenStoreEngine e = open(d, io);
            assertThat(dump(e)).as("journal torn at %d of %d bytes: the %d whole batches", cut, journal.length, k)
                    .isEqualTo(states.get(k));
            long expectedSize = cut < 16 ? 16 : sizes.get(k);
            assertThat(Files.size(d.resolve(Journal.JOURNAL))).as("cut at the last whole batch").isEqualTo(expectedSize);
            e.journal().close();
            // The cut journal takes new batches, which a further restart finds.
            XenStoreEngine again = open(d, io);
            Io d0 = dom0(again);
            ok(again, d0, XsType.WRITE, 0, "/after\0cut");
            again.flushState();
            again.journal().close();
            assertThat(dump(open(d, io))).contains("/after");
        }
    }

    /**
     * What a kill -9 in the middle of a round's copy into a mapped journal leaves: the batches before it, a
     * prefix of the round's bytes, then the zeros the file was allocated with. At every byte offset, recovery
     * keeps exactly the whole batches, and the journal goes on from there.
     */
    @Test
    void mappedJournalTornAtEveryByteOffsetBeforeItsAllocatedZeros() throws IOException {
        Path state = dir.resolve("orig");
        List<String> states = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        writeBatches(state, states, sizes, Journal.Io.MMAP);
        byte[] journal = Files.readAllBytes(state.resolve(Journal.JOURNAL));
        int allocated = 16 * 1024;
        for (int cut = 16; cut <= journal.length; cut++) {
            Path d = Files.createDirectories(dir.resolve("torn" + cut));
            byte[] file = new byte[journal.length + allocated];
            System.arraycopy(journal, 0, file, 0, cut);
            Files.write(d.resolve(Journal.JOURNAL), file);
            // A batch is whole once its last non-zero byte is there: its zero bytes after that (record padding) are
            // what the allocated file holds anyway, and its checksum covers them.
            int k = 0;
            while (k + 1 < sizes.size() && nonZeroEnd(journal, sizes.get(k), sizes.get(k + 1)) <= cut) k++;
            XenStoreEngine e = open(d, Journal.Io.MMAP);
            assertThat(dump(e)).as("torn at %d of %d bytes: the %d whole batches", cut, journal.length, k).isEqualTo(states.get(k));
            assertThat(e.journal().size()).as("appends after the last whole batch").isEqualTo(sizes.get(k));
            Io d0 = dom0(e);
            ok(e, d0, XsType.WRITE, 0, "/after\0torn");
            e.flushState();
            String live = dump(e);
            // Not closed (a crash): the file still has its allocated zeros behind the new batch.
            XenStoreEngine again = open(d, Journal.Io.MMAP);
            assertThat(dump(again)).as("torn at %d, then one more batch", cut).isEqualTo(live).contains("/after");
            again.journal().close();
            e.journal().close();
        }
    }

    /** One past the last non-zero byte of the batch in [start, end). */
    private static long nonZeroEnd(byte[] journal, long start, long end) {
        long i = end;
        while (i > start && journal[(int) i - 1] == 0) i--;
        return i;
    }

    /** A mapped journal longer than its mapping window and than one allocation comes back whole. */
    @Test
    void aMappedJournalPastItsWindowAndItsAllocationComesBack() throws IOException {
        XenStoreEngine e = open(dir, Journal.Io.MMAP);
        Io d0 = dom0(e);
        String value = "v".repeat(4000);
        // 18 MiB of batches: past the 1 MiB window many times and past the first 16 MiB allocation.
        for (int i = 0; i < 4700; i++) {
            ok(e, d0, XsType.WRITE, 0, "/big/" + (i % 50) + "\0" + i + value);
            if (i % 7 == 0) e.flushState();
        }
        e.flushState();
        assertThat(e.journal().size()).isGreaterThan(17L << 20);
        String before = dump(e);
        XenStoreEngine again = open(dir, Journal.Io.MMAP);
        assertThat(dump(again)).isEqualTo(before);
        assertThat(again.journal().size()).isEqualTo(e.journal().size());
        e.journal().close();
        again.journal().close();
    }

    /**
     * A snapshot is written on the loop and made durable by another thread while a fresh journal takes the next
     * batches: a crash before its rename (snapshot.tmp, the old snapshot, journal.old and journal) or after it
     * (journal.old not yet removed) recovers the same store, folds journal.old away, and goes on.
     */
    @Test
    void aSnapshotInterruptedAtEitherStepRecoversTheSameStore() throws IOException {
        XenStoreEngine e = open(dir);
        Io d0 = dom0(e);
        for (int i = 0; i < 40; i++) ok(e, d0, XsType.WRITE, 0, "/f/" + i + "\0" + "v" + i);
        e.flushState();
        e.snapshotState();
        for (int i = 0; i < 40; i += 2) ok(e, d0, XsType.WRITE, 0, "/f/" + i + "\0" + "w" + i);
        ok(e, d0, XsType.RM, 0, "/f/1\0");
        e.flushState();
        byte[] oldSnapshot = Files.readAllBytes(dir.resolve(Journal.SNAPSHOT));
        byte[] oldJournal = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve(Journal.JOURNAL)), (int) e.journal().size());
        e.snapshotState();
        assertThat(dir.resolve(Journal.JOURNAL_OLD)).as("removed once the snapshot is in place").doesNotExist();
        assertThat(dir.resolve(Journal.SNAPSHOT + ".tmp")).doesNotExist();
        ok(e, d0, XsType.WRITE, 0, "/f/after\0the fold");
        e.flushState();
        String live = dump(e);
        byte[] newSnapshot = Files.readAllBytes(dir.resolve(Journal.SNAPSHOT));
        byte[] newJournal = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve(Journal.JOURNAL)), (int) e.journal().size());
        e.journal().close();

        for (boolean renamed : new boolean[] {false, true}) {
            Path d = Files.createDirectories(dir.resolve(renamed ? "renamed" : "not-renamed"));
            Files.write(d.resolve(Journal.SNAPSHOT), renamed ? newSnapshot : oldSnapshot);
            if (!renamed) Files.write(d.resolve(Journal.SNAPSHOT + ".tmp"), newSnapshot);
            Files.write(d.resolve(Journal.JOURNAL_OLD), oldJournal);
            Files.write(d.resolve(Journal.JOURNAL), newJournal);
            XenStoreEngine r = open(d);
            assertThat(dump(r)).as(renamed ? "after the rename" : "before the rename").isEqualTo(live);
            assertThat(d.resolve(Journal.JOURNAL_OLD)).as("folded at recovery").doesNotExist();
            assertThat(d.resolve(Journal.SNAPSHOT + ".tmp")).doesNotExist();
            Io d1 = dom0(r);
            ok(r, d1, XsType.WRITE, 0, "/f/then\0more");
            r.flushState();
            r.journal().close();
            assertThat(dump(open(d))).contains("/f/then").contains("/f/after");
        }
    }

    @ParameterizedTest
    @EnumSource(Journal.Io.class)
    void aCorruptByteAnywhereInTheLastBatchDropsThatBatchOnly(Journal.Io io) throws IOException {
        Path state = dir.resolve("orig");
        List<String> states = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        writeBatches(state, states, sizes, io);
        byte[] journal = Files.readAllBytes(state.resolve(Journal.JOURNAL));
        int lastStart = (int) (long) sizes.get(sizes.size() - 2);
        for (int at = lastStart; at < journal.length; at++) {
            Path d = Files.createDirectories(dir.resolve("flip" + at));
            byte[] bad = journal.clone();
            bad[at] ^= 0x40;
            Files.write(d.resolve(Journal.JOURNAL), bad);
            XenStoreEngine e = open(d, io);
            assertThat(dump(e)).as("byte %d flipped", at).isEqualTo(states.get(states.size() - 2));
            assertThat(Files.size(d.resolve(Journal.JOURNAL))).isEqualTo(lastStart);
            e.journal().close();
        }
    }

    @Test
    void aGuestsWatchesAndTransactionsComeBackWithItsRing() throws IOException {
        XenStoreEngine e = open(dir);
        Io d0 = dom0(e);
        ok(e, d0, XsType.INTRODUCE, 0, "3\0" + "1003\0" + "7\0");
        ok(e, d0, XsType.MKDIR, 0, "/local/domain/3\0");
        ok(e, d0, XsType.SET_PERMS, 0, "/local/domain/3\0n3\0");
        Io g = new Io();
        g.conn = e.connectGuestRing(g, 3, 0);
        ok(e, g, XsType.WATCH, 0, "watched\0tok\0");
        ok(e, g, XsType.WATCH, 0, "other\0gone\0");
        ok(e, g, XsType.UNWATCH, 0, "other\0gone\0");
        int tx = Integer.parseInt(ok(e, g, XsType.TRANSACTION_START, 0, "\0").replace("\0", ""));
        ok(e, g, XsType.WRITE, tx, "watched/in-tx\0x");
        // A request applied and journaled whose reply the guest has not seen consumed (req_cons not past it).
        g.conn.setRequestEnd(200);
        ok(e, g, XsType.WRITE, 0, "acked\0y");
        e.flushState();

        XenStoreEngine again = open(dir);
        Io g2 = new Io();
        g2.conn = again.connectGuestRing(g2, 3, 100);
        XsMessage ev = again.nextOutput(g2.conn);
        assertThat(ev.type()).isEqualTo(XsType.WATCH_EVENT.code);
        assertThat(new String(ev.payload(), StandardCharsets.ISO_8859_1)).isEqualTo("watched\0tok\0");
        assertThat(again.nextOutput(g2.conn)).as("the removed watch stays removed").isNull();
        // The request read again is answered from the journal, not applied a second time.
        long gen = again.tree().get("/local/domain/3/acked").generation();
        g2.conn.setRequestEnd(200);
        XsMessage replay = req(again, g2, XsType.WRITE, 0, "acked\0y");
        assertThat(replay.type()).isEqualTo(XsType.WRITE.code);
        assertThat(again.tree().get("/local/domain/3/acked").generation()).isEqualTo(gen);
        // The open transaction ends EAGAIN; a retry succeeds and its write fires the recovered watch.
        XsMessage end = req(again, g2, XsType.TRANSACTION_END, tx, "T\0");
        assertThat(XsError.fromPayload(end.payload())).isEqualTo(XsError.EAGAIN);
        int tx2 = Integer.parseInt(ok(again, g2, XsType.TRANSACTION_START, 0, "\0").replace("\0", ""));
        ok(again, g2, XsType.WRITE, tx2, "watched/in-tx\0x");
        ok(again, g2, XsType.TRANSACTION_END, tx2, "T\0");
        assertThat(g2.got).extracting(m -> new String(m.payload(), StandardCharsets.ISO_8859_1))
                .contains("watched/in-tx\0tok\0");
    }

    @Test
    void aMappedJournalComesBackAndItsUnwrittenTailIsNoDamage() throws IOException {
        XenStoreEngine e = new XenStoreEngine();
        e.openState(dir, false, Journal.Io.MMAP);
        assertThat(e.journal().io()).isEqualTo(Journal.Io.MMAP);
        Io d0 = dom0(e);
        for (int i = 0; i < 30; i++) ok(e, d0, XsType.WRITE, 0, "/m/" + i + "\0" + "v" + i);
        e.flushState();
        e.snapshotState();
        ok(e, d0, XsType.RM, 0, "/m/3\0");
        ok(e, d0, XsType.WRITE, 0, "/m/after\0snapshot");
        e.flushState();
        String before = dump(e);
        assertThat(Files.size(dir.resolve(Journal.JOURNAL))).as("preallocated").isGreaterThan(1 << 20);
        XenStoreEngine again = new XenStoreEngine();
        Journal.Recovered r = again.openState(dir, false, Journal.Io.MMAP);
        assertThat(dump(again)).isEqualTo(before);
        assertThat(r.bytesCut()).isZero();
        assertThat(r.batchesApplied()).isEqualTo(2);
        // Writing on after recovery goes where the last batch ended, and comes back too.
        Io d1 = dom0(again);
        ok(again, d1, XsType.WRITE, 0, "/m/third\0run");
        again.flushState();
        again.journal().close();
        assertThat(dump(open(dir))).contains("/m/third");
    }
}
