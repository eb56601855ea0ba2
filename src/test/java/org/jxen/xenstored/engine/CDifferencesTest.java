package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.xenstored.engine.EngineHarness.assertReply;
import static org.jxen.xenstored.engine.EngineHarness.repeat;

import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.EngineHarness.Client;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The differences a differential run against C xenstored 4.17 found (issue 17), each as the frames sent and
 * the reply bytes C gives, checked against xenstored_core.c, xenstored_watch.c, xenstored_domain.c and
 * xenstored_control.c of Xen 4.17. docs/xenstored.md lists where we follow C and why.
 */
class CDifferencesTest {
    private EngineHarness h;
    private Client d0;
    /** Guest domain 5: introduced, owns /local/domain/5, unprivileged. */
    private Client g;

    @BeforeEach
    void setUp() {
        h = new EngineHarness();
        d0 = h.dom0();
        g = h.guest(d0, 5);
    }

    @Test
    @DisplayName("WATCH /t|t\\xff|: a token that is not UTF-8 comes back in its events byte for byte")
    void nonUtf8TokenIsKeptAsBytes() {
        h.ok(d0, XsType.WATCH, "/t\0t\u00ff\0");
        assertThat(h.events(d0)).containsExactly("/t\0t\u00ff\0");
        h.write(d0, "/t", "\u00fe\u0080");
        assertThat(h.events(d0)).containsExactly("/t\0t\u00ff\0");
        assertReply(h.req(d0, XsType.READ, "/t\0"), XsType.READ, "\u00fe\u0080");
        // The same bytes name the watch for UNWATCH; a token spelt in UTF-8 (c3 bf) is another token.
        h.err(d0, XsType.UNWATCH, "/t\0t\u00c3\u00bf\0", XsError.ENOENT);
        h.ok(d0, XsType.UNWATCH, "/t\0t\u00ff\0");
        // A non-ASCII byte in a path is an invalid path, not a replacement character.
        h.err(d0, XsType.WRITE, "/t\u00ff\0x", XsError.EINVAL);
    }

    @Test
    @DisplayName("WRITE /t/<2046 chars>|x is EINVAL for dom0 too (path-max covers every caller)")
    void pathMaxHoldsForDom0() {
        h.err(d0, XsType.WRITE, "/t/" + repeat('a', 2046) + "\0x", XsError.EINVAL);
        h.write(d0, "/t/" + repeat('a', 2045), "x");
        h.write(d0, "/local/domain/0/" + repeat('b', 2040), "x");
        h.err(d0, XsType.READ, "/local/domain/0/" + repeat('b', 2049) + "\0", XsError.EINVAL);
        h.err(d0, XsType.WATCH, "/t/" + repeat('a', 2046) + "\0tok\0", XsError.EINVAL);
    }

    @Test
    @DisplayName("WRITE/MKDIR/READ/RM/DIRECTORY @other| are EINVAL: @ names are only for watches and permissions")
    void atNamesOnlyForWatchesAndPermissions() {
        h.err(d0, XsType.WRITE, "@other\0", XsError.EINVAL);
        h.err(d0, XsType.MKDIR, "@other\0", XsError.EINVAL);
        h.err(d0, XsType.READ, "@other\0", XsError.EINVAL);
        h.err(d0, XsType.RM, "@other\0", XsError.EINVAL);
        h.err(d0, XsType.DIRECTORY, "@other\0", XsError.EINVAL);
        h.err(d0, XsType.DIRECTORY_PART, "@other\0" + "0\0", XsError.EINVAL);
        h.err(g, XsType.WRITE, "@introduceDomain\0x", XsError.EINVAL);
        // Nothing was made below the domain's home either.
        h.err(d0, XsType.READ, "/local/domain/0/@other\0", XsError.ENOENT);
        // Where they belong they still work.
        h.ok(d0, XsType.WATCH, "@other\0tok\0");
        assertReply(h.req(d0, XsType.GET_PERMS, "@releaseDomain\0"), XsType.GET_PERMS, "n0\0");
    }

    @Test
    @DisplayName("IS_DOMAIN_INTRODUCED 32752| (DOMID_SELF) is T; its argument is read with atoi")
    void isDomainIntroducedOfDomidSelf() {
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "32752\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "5\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "6\0"), XsType.IS_DOMAIN_INTRODUCED, "F\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "5x\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "x\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        h.err(d0, XsType.IS_DOMAIN_INTRODUCED, "5", XsError.EINVAL);
    }

    @Test
    @DisplayName("SET_PERMS /t/a|r99999999999|: no EINVAL; such an owner is no domain (ENOENT), such an entry is kept")
    void setPermsBigDomidAndOrderOfChecks() {
        h.err(d0, XsType.SET_PERMS, "/t/a\0r99999999999\0", XsError.ENOENT);
        h.write(d0, "/t/a", "v");
        // As C on a hypervisor that knows no domain 1215752191 (and C 4.17.7 here): the owner is ignored, ENOENT.
        h.err(d0, XsType.SET_PERMS, "/t/a\0r99999999999\0", XsError.ENOENT);
        h.err(d0, XsType.SET_PERMS, "/t/a\0r-1\0", XsError.ENOENT);
        h.err(d0, XsType.SET_PERMS, "/t/a\0r32752\0", XsError.ENOENT);
        h.ok(d0, XsType.SET_PERMS, "/t/a\0r0\0r99999999999\0");
        // strtol's value cut to the 32-bit domid, printed back as C's %i.
        assertThat(h.perms(d0, "/t/a")).isEqualTo("r0\0r1215752191\0");
        // A domain that could exist is taken to exist (no hypervisor to ask; docs/xenstored.md).
        h.ok(d0, XsType.SET_PERMS, "/t/a\0r32751\0");
        h.ok(d0, XsType.SET_PERMS, "/t/a\0n0\0r0x10\0b010\0w-1\0");
        assertThat(h.perms(d0, "/t/a")).isEqualTo("n0\0r16\0b8\0w-1\0");
        // The strings are checked before the node: a bad one is EINVAL even on a missing node.
        h.err(d0, XsType.SET_PERMS, "/t/missing\0r5x\0", XsError.EINVAL);
        h.err(d0, XsType.SET_PERMS, "/t/missing\0r\0", XsError.EINVAL);
        // An unprivileged caller's count of entries is checked before anything else (ENOSPC).
        h.err(g, XsType.SET_PERMS, "/local/domain/5/missing\0n5\0r1\0r2\0r3\0r4\0r5\0", XsError.ENOSPC);
        h.err(g, XsType.SET_PERMS, "/local/domain/5/missing\0x5\0", XsError.EINVAL);
        h.err(g, XsType.SET_PERMS, "/local/domain/5/missing\0n5\0", XsError.ENOENT);
    }

    @Test
    @DisplayName("UNWATCH of a malformed path is ENOENT (only canonicalized, never validated)")
    void unwatchMalformedPathIsEnoent() {
        h.err(d0, XsType.UNWATCH, "/a//b\0tok\0", XsError.ENOENT);
        h.err(d0, XsType.UNWATCH, "/a/\0tok\0", XsError.ENOENT);
        h.err(d0, XsType.UNWATCH, "\0tok\0", XsError.ENOENT);
        h.err(d0, XsType.UNWATCH, "/x y\0tok\0", XsError.ENOENT);
        h.err(d0, XsType.UNWATCH, "/a\0", XsError.EINVAL); // fewer than two strings: get_strings
        h.watch(g, "rel", "tok");
        h.ok(g, XsType.UNWATCH, "/local/domain/5/rel\0tok\0");
    }

    @Test
    @DisplayName("RESUME: EACCES for a guest, then ENOENT for an unknown tx_id, then the argument, then the domain")
    void resumeOrderOfChecks() {
        h.err(g, XsType.RESUME, 99, "x\0", XsError.EACCES);
        h.err(d0, XsType.RESUME, 99, "x\0", XsError.ENOENT);
        h.err(d0, XsType.RESUME, 99, "5\0", XsError.ENOENT);
        h.err(d0, XsType.RESUME, "5", XsError.EINVAL);
        h.err(d0, XsType.RESUME, "0\0", XsError.EINVAL);
        h.err(d0, XsType.RESUME, "x\0", XsError.EINVAL);
        h.err(d0, XsType.RESUME, "8\0", XsError.ENOENT);
        h.err(d0, XsType.RESUME, "32752\0", XsError.ENOENT);
        h.ok(d0, XsType.RESUME, "5\0");
        // Inside a transaction it does its work; the transaction is not involved.
        int t = h.txStart(d0);
        h.ok(d0, XsType.RESUME, t, "5\0");
        h.commit(d0, t);
        // Only WATCH and UNWATCH ignore tx_id (XS_FLAG_NOTID).
        h.err(d0, XsType.GET_DOMAIN_PATH, 99, "5\0", XsError.ENOENT);
        h.err(d0, XsType.INTRODUCE, 99, "9\0" + "1\0" + "1\0", XsError.ENOENT);
        h.ok(d0, XsType.WATCH, 99, "/w\0tok\0");
    }

    @Test
    @DisplayName("CONTROL quota, quota DOMID and quota-soft answer C 4.17's text byte for byte")
    void controlQuotaLayout() {
        assertReply(h.req(d0, XsType.CONTROL, "quota\0"), XsType.CONTROL, """
                Quota settings:
                nodes            :     1000 Nodes per domain
                watches          :      128 Watches per domain
                transactions     :       10 Transactions per domain
                outstanding      :       20 Outstanding requests per domain
                transaction-nodes:     1024 Max. number of accessed nodes per transaction
                memory           :  2621440 Total Xenstore memory per domain (error level)
                node-size        :     2048 Max. size of a node
                path-max         :     2048 Max. length of a node path
                permissions      :        5 Max. number of permissions per node
                \0""");
        assertReply(h.req(d0, XsType.CONTROL, "quota-soft\0"), XsType.CONTROL, """
                Quota settings:
                memory           :  2097152 Total Xenstore memory per domain (warning level)
                \0""");
        h.watch(g, "w", "t");
        assertReply(h.req(d0, XsType.CONTROL, "quota\0" + "5\0"), XsType.CONTROL, """
                Domain 5:
                nodes           :        1
                watches         :        1
                transactions    :        0
                outstanding     :        0
                memory          : %8d
                \0""".formatted(h.usage(5, Quota.MEMORY)));
        h.ok(d0, XsType.CONTROL, "quota\0set\0permissions\0" + "7\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "node-permissions\0"), XsType.GET_QUOTA, "7\0");
        h.err(d0, XsType.CONTROL, "quota\0set\0nodes\0" + "0\0", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "quota\0set\0node-permissions\0" + "7\0", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "quota\0set\0nodes\0", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "quota\0" + "77\0", XsError.ENOENT);
        h.err(d0, XsType.CONTROL, "quota-soft\0set\0nodes\0" + "5\0", XsError.EINVAL);
    }

    @Test
    @DisplayName("RM of a subtree fires a watch below it only if the watched node existed")
    void watchBelowRemovedNode() {
        h.write(d0, "/r/a/b", "v");
        h.watch(d0, "/r/a/b", "existed");
        h.watch(d0, "/r/a/never/there", "never");
        h.watch(d0, "/r", "above");
        h.ok(d0, XsType.RM, "/r/a\0");
        assertThat(h.events(d0)).containsExactlyInAnyOrder("/r/a\0above\0", "/r/a/b\0existed\0");
    }

    @Test
    @DisplayName("Two watches with one token matching one change send one event (C drops a queued duplicate)")
    void twoWatchesSameTokenOneEvent() {
        h.watch(d0, "/d", "tok");
        h.watch(d0, "/d/e", "tok");
        h.write(d0, "/d/e", "v");
        assertThat(h.events(d0)).containsExactly("/d/e\0tok\0");
        // Different tokens are different events.
        h.watch(d0, "/d/e", "other");
        h.write(d0, "/d/e", "w");
        assertThat(h.events(d0)).containsExactly("/d/e\0tok\0", "/d/e\0other\0");
        // An identical event that has already left is not a duplicate.
        h.write(d0, "/d/e", "x");
        assertThat(h.events(d0)).containsExactly("/d/e\0tok\0", "/d/e\0other\0");
    }

    @Test
    @DisplayName("An unread identical event is not queued twice; special events always are")
    void pendingDuplicateDropped() {
        h.watch(d0, "/p", "tok");
        h.ok(d0, XsType.WATCH, "@introduceDomain\0s\0");
        h.events(d0);
        h.send(d0, XsType.WRITE.code, 1, 0, EngineHarness.bytes("/p\0a"));
        h.send(d0, XsType.WRITE.code, 2, 0, EngineHarness.bytes("/p\0b"));
        h.send(d0, XsType.INTRODUCE.code, 3, 0, EngineHarness.bytes("8\0" + "1008\0" + "8\0"));
        h.send(d0, XsType.INTRODUCE.code, 4, 0, EngineHarness.bytes("9\0" + "1009\0" + "9\0"));
        StringBuilder seen = new StringBuilder();
        for (XsMessage m : h.drain(d0)) seen.append(XsType.name(m.type())).append(' ').append(EngineHarness.str(m.payload())).append('\n');
        assertThat(seen.toString()).isEqualTo("""
                WRITE OK\0
                WATCH_EVENT /p\0tok\0
                WRITE OK\0
                INTRODUCE OK\0
                WATCH_EVENT @introduceDomain\0s\0
                INTRODUCE OK\0
                WATCH_EVENT @introduceDomain\0s\0
                """);
    }
}
