package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.xenstored.engine.EngineHarness.repeat;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.EngineHarness.Client;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The Xen security advisories of the reference that can be exercised over a socket or in-process connection.
 * XSA-38 (ring indices out of range) concerns the guest shared ring and is not covered here. XSA-420 (bogus
 * frame lengths) needs a real Unix socket: {@code org.jxen.xenstored.SocketSecurityAdvisoryTest}.
 */
class SecurityAdvisoryTest {
    private EngineHarness h;
    private Client d0;
    private Client g;

    @BeforeEach
    void setUp() {
        h = new EngineHarness();
        d0 = h.dom0();
        g = h.guest(d0, 5);
    }

    /** The daemon still serves {@code c} after whatever happened. */
    private void stillServed(Client c) {
        assertThat(h.get(c, XsType.GET_DOMAIN_PATH, "5\0")).isEqualTo("/local/domain/5\0");
    }

    @Test
    @DisplayName("XSA-72: a reply over 4096 bytes is E2BIG, the connection lives on")
    void xsa72() {
        for (int i = 0; i < 41; i++) h.ok(d0, XsType.MKDIR, "/big/" + String.format("%03d", i) + repeat('n', 97) + "\0");
        h.err(d0, XsType.DIRECTORY, "/big\0", XsError.E2BIG);
        h.setPerms(d0, "/big", "r0");
        h.err(g, XsType.DIRECTORY, "/big\0", XsError.E2BIG);
        // A guest cannot build such a list itself: its node-size quota (2048) stops the parent first.
        for (int i = 0; i < 41; i++) {
            var r = h.req(g, XsType.MKDIR, "g" + String.format("%03d", i) + repeat('n', 96) + "\0");
            if (i < 20) EngineHarness.assertReply(r, XsType.MKDIR, "OK\0");
            else EngineHarness.assertError(r, XsError.ENOSPC);
        }
        stillServed(d0);
        stillServed(g);
    }

    @Test
    @DisplayName("XSA-115: no events for unreadable nodes, special watches privileged only")
    void xsa115() {
        h.ok(d0, XsType.MKDIR, "/priv\0");
        h.watch(g, "/priv", "t");
        h.watch(g, "@introduceDomain", "i");
        h.watch(g, "@releaseDomain", "r");
        h.write(d0, "/priv/key", "secret");
        h.ok(d0, XsType.RM, "/priv/key\0");
        h.ok(d0, XsType.INTRODUCE, "9\0" + "1\0" + "1\0");
        h.ok(d0, XsType.RELEASE, "9\0");
        assertThat(h.events(g)).isEmpty();
        assertThat(h.perms(d0, "@introduceDomain")).isEqualTo("n0\0");
    }

    @Test
    @DisplayName("XSA-206: a storm of unrelated writes does not starve a transaction")
    void xsa206() {
        Client other = h.dom0();
        h.ok(d0, XsType.MKDIR, "/storm\0");
        int t = h.txStart(g);
        h.write(g, t, "txnode", "1");
        for (int i = 0; i < 500; i++) h.write(other, "/storm/k" + (i % 7), Integer.toString(i));
        h.commit(g, t);
        assertThat(h.read(g, "txnode")).isEqualTo("1");
        // A conflicting storm makes the commit fail with EAGAIN, and the retry then succeeds.
        int t2 = h.txStart(g);
        assertThat(h.read(g, t2, "txnode")).isEqualTo("1");
        h.write(d0, "/local/domain/5/txnode", "outside");
        h.write(g, t2, "txnode", "2");
        h.err(g, XsType.TRANSACTION_END, t2, "T\0", XsError.EAGAIN);
        int t3 = h.txStart(g);
        h.write(g, t3, "txnode", "3");
        h.commit(g, t3);
        assertThat(h.read(g, "txnode")).isEqualTo("3");
    }

    @Test
    @DisplayName("XSA-322/417: permissions naming a released domain do not pass to a new domain with its id")
    void xsa322And417() {
        h.write(d0, "/grant", "v");
        h.setPerms(d0, "/grant", "n0", "r5");
        assertThat(h.read(g, "/grant")).isEqualTo("v");
        h.ok(d0, XsType.RELEASE, "5\0");
        assertThat(h.perms(d0, "/grant")).isEqualTo("n0\0");
        Client reused = h.guest(d0, 5);
        h.err(reused, XsType.READ, "/grant\0", XsError.EACCES);
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-322/417: permissions of special watch paths naming a released domain are dropped too")
    void xsa322And417SpecialPaths() {
        Client g6 = h.guest(d0, 6);
        h.setPerms(d0, "@releaseDomain", "n0", "r6");
        h.setPerms(d0, "@introduceDomain", "n0", "r5", "r6");
        assertThat(h.perms(g6, "@releaseDomain")).isEqualTo("n0\0r6\0");
        h.ok(d0, XsType.RELEASE, "6\0");
        assertThat(h.perms(d0, "@releaseDomain")).isEqualTo("n0\0");
        assertThat(h.perms(d0, "@introduceDomain")).isEqualTo("n0\0r5\0");
        Client reused = h.guest(d0, 6);
        h.err(reused, XsType.GET_PERMS, "@releaseDomain\0", XsError.EACCES);
        h.ok(reused, XsType.WATCH, "@releaseDomain\0r\0");
        reused.events.clear();
        h.ok(d0, XsType.RELEASE, "5\0");
        assertThat(h.events(reused)).isEmpty();
    }

    @Test
    @DisplayName("XSA-323: path lengths are checked everywhere")
    void xsa323() {
        String tooLong = "/" + repeat('a', 3072);
        h.err(d0, XsType.WRITE, tooLong + "\0v", XsError.EINVAL);
        h.err(d0, XsType.WATCH, tooLong + "\0t\0", XsError.EINVAL);
        h.err(d0, XsType.WATCH, "@" + repeat('a', 2048) + "\0t\0", XsError.EINVAL);
        h.err(g, XsType.WRITE, repeat('a', 60) + "/" + repeat('b', 1988) + "\0v", XsError.EINVAL);
        h.err(g, XsType.WATCH, "/local/domain/5/" + repeat('a', 2049) + "\0t\0", XsError.EINVAL);
        h.err(g, XsType.WATCH, "/" + repeat('a', 2048) + "\0t\0", XsError.EINVAL);
        assertThat(g.conn.watchCount()).isZero();
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-324: a huge watch token only loses events that would not fit")
    void xsa324() {
        String token = repeat('t', 4090);
        h.watch(d0, "/a", token);
        h.write(d0, "/a/bbbb", "v");
        assertThat(h.events(d0)).isEmpty();
        assertThat(d0.conn.droppedEvents()).isEqualTo(1);
        h.write(d0, "/a", "v");
        assertThat(h.events(d0)).containsExactly("/a\0" + token + "\0");
        stillServed(d0);
    }

    @Test
    @DisplayName("XSA-325: dropping a misbehaving guest connection does not fire @releaseDomain")
    void xsa325() {
        h.watch(d0, "@releaseDomain", "r");
        h.engine.disconnect(g.conn);
        assertThat(h.events(d0)).isEmpty();
        assertThat(h.get(d0, XsType.IS_DOMAIN_INTRODUCED, "5\0")).isEqualTo("T\0");
        h.engine.releaseDomain(5);
        assertThat(h.events(d0)).containsExactly("@releaseDomain\0r\0");
    }

    @Test
    @DisplayName("XSA-326: unread replies stop input, event floods are bounded")
    void xsa326Backlog() {
        int limit = Quota.OUTSTANDING.defaultValue;
        int sent = 0;
        while (h.engine.canAcceptInput(g.conn)) h.send(g, XsType.READ.code, sent++, 0, EngineHarness.bytes("x\0"));
        assertThat(sent).isEqualTo(limit);
        assertThat(h.drain(g)).hasSize(limit);
        assertThat(h.engine.canAcceptInput(g.conn)).isTrue();

        h.ok(d0, XsType.MKDIR, "/flood\0");
        h.setPerms(d0, "/flood", "r0");
        h.watch(g, "/flood", "t");
        // Distinct nodes: an event identical to one still queued is dropped as a duplicate (as C does), so
        // only different events can fill the queue.
        for (int i = 0; i < 20_000; i++) h.write(d0, "/flood/k" + i, repeat('v', i % 50));
        long queuedBytes = g.conn.queuedEventBytes;
        assertThat(queuedBytes).isLessThanOrEqualTo(XenStoreEngine.EVENT_QUEUE_LIMIT_UNPRIVILEGED);
        assertThat(g.conn.droppedEvents()).isPositive();
        List<String> got = h.events(g);
        assertThat(got).isNotEmpty().allMatch(e -> e.matches("/flood/k[0-9]+\0t\0"));
        h.write(d0, "/flood/k", "after");
        assertThat(h.events(g)).containsExactly("/flood/k\0t\0");
    }

    @Test
    @DisplayName("XSA-326: big nodes in transactions are held to the memory quota")
    void xsa326Transactions() {
        h.quota(d0, 5, "memory", 20_000);
        int t = h.txStart(g);
        XsError last = null;
        for (int i = 0; i < 20 && last == null; i++) {
            var r = h.req(g, XsType.WRITE, t, "n" + i + "\0" + repeat('v', 1900));
            if (r.type() == XsType.ERROR.code) last = XsError.fromPayload(r.payload());
        }
        assertThat(last).isEqualTo(XsError.ENOSPC);
        h.ok(g, XsType.TRANSACTION_END, t, "F\0");
        assertThat(h.usage(5, Quota.MEMORY)).isLessThan(20_000);
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(1);
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-330: RESET_WATCHES gives the watch quota back")
    void xsa330() {
        h.quota(d0, 5, "watches", 2);
        h.watch(g, "a", "1");
        h.watch(g, "b", "1");
        h.ok(g, XsType.RESET_WATCHES, "");
        assertThat(h.usage(5, Quota.WATCHES)).isZero();
        h.watch(g, "c", "1");
        h.watch(g, "d", "1");
        h.err(g, XsType.WATCH, "e\0" + "1\0", XsError.ENOSPC);
        assertThat(h.usage(5, Quota.WATCHES)).isEqualTo(2);
    }

    @Test
    @DisplayName("XSA-352: only dom0 may change a node's owner")
    void xsa352() {
        h.write(g, "mine", "v");
        h.err(g, XsType.SET_PERMS, "mine\0n0\0", XsError.EPERM);
        h.err(g, XsType.SET_PERMS, "mine\0b6\0r5\0", XsError.EPERM);
        assertThat(h.perms(g, "mine")).isEqualTo("n5\0");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(2);
    }

    @Test
    @DisplayName("XSA-353: permission checks apply to /")
    void xsa353() {
        for (XsType t : List.of(XsType.READ, XsType.DIRECTORY, XsType.GET_PERMS, XsType.RM, XsType.MKDIR)) {
            h.err(g, t, "/\0", XsError.EACCES);
        }
        h.err(g, XsType.WRITE, "/\0v", XsError.EACCES);
        h.err(g, XsType.WRITE, "/new\0v", XsError.EACCES);
        h.err(g, XsType.SET_PERMS, "/\0b5\0", XsError.EACCES);
        h.err(g, XsType.SET_PERMS, "/\0n0\0b5\0", XsError.EACCES);
        assertThat(h.perms(d0, "/")).isEqualTo("n0\0");
        h.err(d0, XsType.RM, "/\0", XsError.EINVAL);
    }

    @Test
    @DisplayName("XSA-414/415: a failed creation leaves nothing behind, also in a transaction")
    void xsa414And415() {
        h.quota(d0, 5, "nodes", 3);
        h.err(g, XsType.WRITE, "a/b/c\0v", XsError.ENOSPC);
        h.err(g, XsType.READ, "a\0", XsError.ENOENT);
        assertThat(h.get(g, XsType.DIRECTORY, "/local/domain/5\0")).isEmpty();
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(1);

        int t = h.txStart(g);
        h.err(g, XsType.WRITE, t, "a/b/c\0v", XsError.ENOSPC);
        h.err(g, XsType.READ, t, "a\0", XsError.ENOENT);
        h.commit(g, t);
        h.err(g, XsType.READ, "a\0", XsError.ENOENT);

        // Node size: the parent's child list would grow past the quota.
        h.quota(d0, 5, "nodes", 100);
        h.quota(d0, 5, "node-size", 100);
        h.write(g, "p/" + repeat('x', 80), "");
        h.err(g, XsType.WRITE, "p/" + repeat('y', 80) + "/z\0v", XsError.ENOSPC);
        assertThat(h.get(g, XsType.DIRECTORY, "p\0")).isEqualTo(repeat('x', 80) + "\0");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(3);
        h.assertConsistent();
    }

    /** Runs {@code r} on a thread with a small stack, so deep recursion in the engine would overflow it. */
    private static void onSmallStack(Runnable r) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                r.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "small-stack", 160 * 1024);
        t.start();
        t.join();
        assertThat(failure.get()).isNull();
    }

    @Test
    @DisplayName("XSA-418: the deepest tree a path allows (1027 levels) is created, walked and removed without recursion")
    void xsa418() throws InterruptedException {
        // 2000 levels cannot be expressed: path-max (2048 after /local/domain/<id>/, for dom0 too) allows
        // "/a" 1024 times below a domain's home.
        StringBuilder deep = new StringBuilder();
        for (int i = 0; i < 1024; i++) deep.append("/a");
        String path = deep.toString();
        onSmallStack(() -> {
            h.write(d0, "/local/domain/0" + path, "bottom");
            assertThat(h.read(d0, "/local/domain/0" + path)).isEqualTo("bottom");
            h.assertConsistent();
            int t = h.txStart(d0);
            h.ok(d0, XsType.RM, t, "/local/domain/0/a\0");
            h.commit(d0, t);
            h.err(d0, XsType.READ, "/local/domain/0/a\0", XsError.ENOENT);
            // A deep tree owned by a guest goes when the guest does.
            h.ok(d0, XsType.MKDIR, "/g\0");
            h.setPerms(d0, "/g", "b0");
            // Within the guest's path-max (2048) and nodes (1000) quotas: 950 levels.
            h.write(g, "/g" + path.substring(0, 1900), "x");
            h.ok(d0, XsType.RELEASE, "5\0");
            assertThat(h.get(d0, XsType.DIRECTORY, "/g\0")).isEmpty();
            h.assertConsistent();
        });
    }

    @Test
    @DisplayName("XSA-419: nodes of a dead domain are removed wherever they are")
    void xsa419() {
        h.ok(d0, XsType.MKDIR, "/pub\0");
        h.setPerms(d0, "/pub", "b0");
        h.write(g, "/pub/leak/a", "v");
        h.write(g, "home", "v");
        h.write(d0, "/pub/dom0", "v");
        h.engine.releaseDomain(5); // the hypervisor reported the domain dead
        assertThat(h.get(d0, XsType.DIRECTORY, "/pub\0")).isEqualTo("dom0\0");
        h.err(d0, XsType.READ, "/local/domain/5\0", XsError.ENOENT);
        assertThat(h.usage(5, Quota.NODES)).isZero();
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-421: create-then-delete in one transaction keeps accounting right")
    void xsa421() {
        h.quota(d0, 5, "nodes", 4);
        for (int round = 0; round < 5; round++) {
            int t = h.txStart(g);
            h.write(g, t, "a/b/c", "v");
            h.ok(g, XsType.RM, t, "a\0");
            h.write(g, t, "x", "v");
            h.ok(g, XsType.RM, t, "x\0");
            h.commit(g, t);
            assertThat(h.usage(5, Quota.NODES)).isEqualTo(1);
        }
        h.write(g, "a/b/c", "v");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(4);
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-425: RELEASE twice is ENOENT, and a second death report is harmless")
    void xsa425() {
        h.write(g, "x", "v");
        h.watch(d0, "@releaseDomain", "r");
        h.ok(d0, XsType.RELEASE, "5\0");
        h.err(d0, XsType.RELEASE, "5\0", XsError.ENOENT);
        h.engine.releaseDomain(5);
        assertThat(h.events(d0)).containsExactly("@releaseDomain\0r\0");
        h.assertConsistent();
        stillServed(d0);
    }

    @Test
    @DisplayName("XSA-440: a conflicting transaction charges nothing")
    void xsa440() {
        h.quota(d0, 5, "nodes", 4);
        for (int round = 0; round < 5; round++) {
            int t = h.txStart(g);
            h.write(g, t, "a/b", "v");
            h.write(d0, "/local/domain/5/c" + round, "sibling");
            h.err(g, XsType.TRANSACTION_END, t, "T\0", XsError.EAGAIN);
            h.ok(d0, XsType.RM, "/local/domain/5/c" + round + "\0");
            assertThat(h.usage(5, Quota.NODES)).isEqualTo(1);
        }
        h.write(g, "a/b", "v");
        h.write(g, "c", "v");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(4);
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-481: /local/domain/ and the empty path are invalid")
    void xsa481() {
        for (Client c : List.of(d0, g)) {
            h.err(c, XsType.READ, "/local/domain/\0", XsError.EINVAL);
            h.err(c, XsType.WRITE, "/local/domain/\0v", XsError.EINVAL);
            h.err(c, XsType.WATCH, "/local/domain/\0t\0", XsError.EINVAL);
            h.err(c, XsType.READ, "\0", XsError.EINVAL);
            h.err(c, XsType.WRITE, "\0v", XsError.EINVAL);
            h.err(c, XsType.MKDIR, "\0", XsError.EINVAL);
        }
        h.err(g, XsType.WRITE, "/local/domain/\0v", XsError.EINVAL);
        h.assertConsistent();
    }

    @Test
    @DisplayName("XSA-484: RESET_WATCHES with a tx_id inside a transaction ends it safely")
    void xsa484() {
        h.watch(g, "w", "t");
        int t = h.txStart(g);
        h.write(g, t, "inside", "v");
        h.ok(g, XsType.RESET_WATCHES, t, "");
        h.err(g, XsType.READ, t, "inside\0", XsError.ENOENT);
        h.err(g, XsType.TRANSACTION_END, t, "T\0", XsError.ENOENT);
        h.err(g, XsType.READ, "inside\0", XsError.ENOENT);
        assertThat(g.conn.watchCount()).isZero();
        assertThat(g.conn.transactionCount()).isZero();
        assertThat(h.usage(5, Quota.TRANSACTIONS)).isZero();
        assertThat(h.txStart(g)).isEqualTo(2);
        h.assertConsistent();
    }
}
