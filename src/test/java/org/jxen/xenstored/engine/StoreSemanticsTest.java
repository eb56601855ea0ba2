package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.xenstored.engine.EngineHarness.assertError;
import static org.jxen.xenstored.engine.EngineHarness.assertReply;
import static org.jxen.xenstored.engine.EngineHarness.repeat;

import java.util.List;
import java.util.stream.Stream;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstored.engine.EngineHarness.Client;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The rules of the reference (xenstore.md), request by request, with exact reply types and payload bytes. */
class StoreSemanticsTest {
    private EngineHarness h;
    private Client d0;
    /** Guest domain 5: introduced, owns /local/domain/5 ("n5"), unprivileged. */
    private Client g;

    @BeforeEach
    void setUp() {
        h = new EngineHarness();
        d0 = h.dom0();
        g = h.guest(d0, 5);
        // Domain 7 exists (permission entries below name it) but has no connection.
        h.ok(d0, XsType.INTRODUCE, "7\0" + "1007\0" + "7\0");
    }

    /** A relative path of exactly {@code len} characters made of short components (no node-size trouble). */
    static String relPath(int len) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < len) {
            if (!sb.isEmpty()) sb.append('/');
            sb.append(repeat('x', Math.min(60, Math.max(1, len - sb.length()))));
        }
        assertThat(sb.length()).isEqualTo(len);
        return sb.toString();
    }

    // ---- paths -------------------------------------------------------------------------------------------

    static Stream<Arguments> invalidPaths() {
        return Stream.of(
                Arguments.of("space", "/a b"),
                Arguments.of("dot", "/a.b"),
                Arguments.of("non-ascii", "/a\u00e9"),
                Arguments.of("double slash", "/a//b"),
                Arguments.of("trailing slash", "/a/"),
                Arguments.of("empty", ""),
                Arguments.of("absolute 3073", "/" + repeat('a', 3072)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidPaths")
    void invalidPathsAreEinvalForEveryPathRequest(String name, String path) {
        for (XsType t : List.of(XsType.READ, XsType.MKDIR, XsType.RM, XsType.DIRECTORY, XsType.GET_PERMS)) {
            h.err(d0, t, path + "\0", XsError.EINVAL);
        }
        h.err(d0, XsType.WRITE, path + "\0v", XsError.EINVAL);
        h.err(d0, XsType.SET_PERMS, path + "\0n0\0", XsError.EINVAL);
        h.err(d0, XsType.WATCH, path + "\0t\0", XsError.EINVAL);
        h.err(d0, XsType.DIRECTORY_PART, path + "\0" + "0\0", XsError.EINVAL);
    }

    @Test
    void rootAndLongestPathsAreValid() {
        assertThat(h.get(d0, XsType.DIRECTORY, "/\0")).isEqualTo("tool\0local\0");
        String p = "/" + repeat('a', 2047);
        h.write(d0, p, "v");
        assertThat(h.read(d0, p)).isEqualTo("v");
        // Below a domain's home 2048 characters may follow the prefix: 2064 in all.
        String home = "/local/domain/0/" + repeat('b', 2048);
        h.write(d0, home, "w");
        assertThat(h.read(d0, home)).isEqualTo("w");
    }

    @Test
    void atSignNamesAreSpecialOnlyForWatchAndPermissionRequests() {
        // Elsewhere C xenstored's canonicalize leaves "@x" as it is and is_valid_nodename refuses it.
        h.err(d0, XsType.READ, "@releaseDomain\0", XsError.EINVAL);
        h.err(d0, XsType.WRITE, "@introduceDomain\0x", XsError.EINVAL);
        h.err(d0, XsType.READ, "/local/domain/0/@introduceDomain\0", XsError.ENOENT);
        assertThat(h.perms(d0, "@introduceDomain")).isEqualTo("n0\0");
    }

    @Test
    void relativePathsResolveToTheDomainHome() {
        h.write(g, "rel/x", "gv");
        assertThat(h.read(d0, "/local/domain/5/rel/x")).isEqualTo("gv");
        assertThat(h.read(g, "/local/domain/5/rel/x")).isEqualTo("gv");
        h.write(d0, "mine", "0v");
        assertThat(h.read(d0, "/local/domain/0/mine")).isEqualTo("0v");
    }

    @Test
    void unprivilegedRelativePathMaxIs2048() {
        h.write(g, relPath(2048), "ok");
        h.err(g, XsType.WRITE, relPath(2049) + "\0v", XsError.EINVAL);
        h.err(g, XsType.READ, relPath(2049) + "\0", XsError.EINVAL);
        // dom0 too (C's is_valid_nodename checks every caller).
        h.err(d0, XsType.WRITE, "/local/domain/5/" + relPath(2049) + "\0dom0", XsError.EINVAL);
        h.write(d0, "/local/domain/5/" + relPath(2048), "dom0");
    }

    // ---- READ / WRITE / MKDIR / RM ------------------------------------------------------------------------

    @Test
    void valuesAreBinaryAndReadBackExactly() {
        h.write(d0, "/bin", "x\0y\0\u00ff\u0001");
        assertReply(h.req(d0, XsType.READ, "/bin\0"), XsType.READ, "x\0y\0\u00ff\u0001");
        h.write(d0, "/empty", "");
        assertReply(h.req(d0, XsType.READ, "/empty\0"), XsType.READ, "");
    }

    @Test
    void writeWithoutNulIsEinval() {
        h.err(d0, XsType.WRITE, "/nonul", XsError.EINVAL);
        h.err(d0, XsType.READ, "/nonul\0", XsError.ENOENT);
    }

    @Test
    void singleArgumentRequestsNeedExactlyOneTrailingNul() {
        h.write(d0, "/one", "v");
        h.err(d0, XsType.READ, "/one", XsError.EINVAL);
        h.err(d0, XsType.READ, "/one\0\0", XsError.EINVAL);
        h.err(d0, XsType.READ, "/one\0x", XsError.EINVAL);
        h.err(d0, XsType.READ, "", XsError.EINVAL);
    }

    @Test
    void writeCreatesParentsWithEmptyValues() {
        h.write(d0, "/p/q/r", "leaf");
        assertReply(h.req(d0, XsType.READ, "/p/q\0"), XsType.READ, "");
        assertReply(h.req(d0, XsType.READ, "/p\0"), XsType.READ, "");
        assertReply(h.req(d0, XsType.DIRECTORY, "/p\0"), XsType.DIRECTORY, "q\0");
        assertThat(h.perms(d0, "/p/q")).isEqualTo("n0\0");
    }

    @Test
    void mkdirCreatesEmptyNodeAndLeavesExistingOnesAlone() {
        h.ok(d0, XsType.MKDIR, "/m/n\0");
        assertThat(h.read(d0, "/m/n")).isEmpty();
        h.write(d0, "/m/n", "kept");
        h.ok(d0, XsType.MKDIR, "/m/n\0");
        assertThat(h.read(d0, "/m/n")).isEqualTo("kept");
    }

    @Test
    void rmRemovesTheSubtree() {
        h.write(d0, "/r/a/b", "1");
        h.write(d0, "/r/c", "2");
        h.ok(d0, XsType.RM, "/r/a\0");
        h.err(d0, XsType.READ, "/r/a/b\0", XsError.ENOENT);
        h.err(d0, XsType.READ, "/r/a\0", XsError.ENOENT);
        assertThat(h.get(d0, XsType.DIRECTORY, "/r\0")).isEqualTo("c\0");
        h.assertConsistent();
    }

    @Test
    void rmOfMissingNodeIsOkOnlyWhenTheParentExists() {
        h.ok(d0, XsType.MKDIR, "/rp\0");
        h.ok(d0, XsType.RM, "/rp/missing\0");
        h.err(d0, XsType.RM, "/nothere/missing\0", XsError.ENOENT);
    }

    @Test
    void rmOfRootIsEinval() {
        h.err(d0, XsType.RM, "/\0", XsError.EINVAL);
        assertThat(h.get(d0, XsType.DIRECTORY, "/\0")).isEqualTo("tool\0local\0");
    }

    @Test
    void missingNodeIsEnoent() {
        h.err(d0, XsType.READ, "/missing\0", XsError.ENOENT);
        h.err(d0, XsType.DIRECTORY, "/missing\0", XsError.ENOENT);
        h.err(d0, XsType.GET_PERMS, "/missing\0", XsError.ENOENT);
        h.err(d0, XsType.SET_PERMS, "/missing\0n0\0", XsError.ENOENT);
    }

    // ---- DIRECTORY / DIRECTORY_PART -------------------------------------------------------------------------

    @Test
    void directoryListsChildrenInCreationOrder() {
        h.write(d0, "/d/zeta", "");
        h.write(d0, "/d/alpha", "");
        h.write(d0, "/d/mid", "");
        assertReply(h.req(d0, XsType.DIRECTORY, "/d\0"), XsType.DIRECTORY, "zeta\0alpha\0mid\0");
        h.ok(d0, XsType.RM, "/d/alpha\0");
        h.write(d0, "/d/alpha", "");
        assertReply(h.req(d0, XsType.DIRECTORY, "/d\0"), XsType.DIRECTORY, "zeta\0mid\0alpha\0");
        assertReply(h.req(d0, XsType.DIRECTORY, "/d/mid\0"), XsType.DIRECTORY, "");
    }

    /** 41 children of 100 characters: a 4141-byte list. */
    private String bigDirectory(String dir) {
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 41; i++) {
            String name = String.format("%03d", i) + repeat('n', 97);
            h.ok(d0, XsType.MKDIR, dir + "/" + name + "\0");
            all.append(name).append('\0');
        }
        return all.toString();
    }

    @Test
    void directoryOver4096BytesIsE2big() {
        bigDirectory("/big");
        h.err(d0, XsType.DIRECTORY, "/big\0", XsError.E2BIG);
        assertThat(h.read(d0, "/big")).isEmpty();
    }

    @Test
    void directoryPartPagesTheListBehindTheGeneration() {
        String all = bigDirectory("/big");
        String first = h.get(d0, XsType.DIRECTORY_PART, "/big\0" + "0\0");
        String gen = first.substring(0, first.indexOf('\0') + 1);
        assertThat(gen).matches("[0-9]+\0");
        String part1 = first.substring(gen.length());
        assertThat(first.length()).isLessThanOrEqualTo(4096);
        assertThat(part1).endsWith("\0").doesNotEndWith("\0\0");
        assertThat(all).startsWith(part1);
        String second = h.get(d0, XsType.DIRECTORY_PART, "/big\0" + part1.length() + "\0");
        assertThat(second).startsWith(gen).endsWith("\0\0");
        String part2 = second.substring(gen.length(), second.length() - 1);
        assertThat(part1 + part2).isEqualTo(all);
        // Past the end: just the generation and the terminating empty string.
        assertThat(h.get(d0, XsType.DIRECTORY_PART, "/big\0" + all.length() + "\0")).isEqualTo(gen + "\0");
    }

    @Test
    void directoryPartOfSmallDirectoryIsCompleteAndGenerationMoves() {
        h.write(d0, "/s/a", "");
        h.write(d0, "/s/b", "");
        String r = h.get(d0, XsType.DIRECTORY_PART, "/s\0" + "0\0");
        assertThat(r).matches("[0-9]+\0a\0b\0\0");
        h.write(d0, "/s/c", "");
        String r2 = h.get(d0, XsType.DIRECTORY_PART, "/s\0" + "0\0");
        assertThat(r2).matches("[0-9]+\0a\0b\0c\0\0");
        assertThat(r2.substring(0, r2.indexOf('\0'))).isNotEqualTo(r.substring(0, r.indexOf('\0')));
        h.err(d0, XsType.DIRECTORY_PART, "/s\0", XsError.EINVAL);
    }

    // ---- permissions -------------------------------------------------------------------------------------

    @Test
    void defaultLetterAppliesToUnlistedDomainsAndOverridesWin() {
        h.write(d0, "/perm", "v");
        assertThat(h.perms(d0, "/perm")).isEqualTo("n0\0");
        h.err(g, XsType.READ, "/perm\0", XsError.EACCES);
        h.setPerms(d0, "/perm", "r0");
        assertThat(h.read(g, "/perm")).isEqualTo("v");
        h.err(g, XsType.WRITE, "/perm\0x", XsError.EACCES);
        h.setPerms(d0, "/perm", "r0", "n5");
        h.err(g, XsType.READ, "/perm\0", XsError.EACCES);
        h.setPerms(d0, "/perm", "n0", "b5");
        h.write(g, "/perm", "guest");
        assertThat(h.read(d0, "/perm")).isEqualTo("guest");
    }

    @Test
    void ownerHasFullAccessWhateverTheLetter() {
        h.write(g, "mine", "v");
        assertThat(h.perms(g, "mine")).isEqualTo("n5\0");
        assertThat(h.read(g, "mine")).isEqualTo("v");
    }

    @Test
    void newNodesInheritParentPermsWithUnprivilegedCreatorAsOwner() {
        h.ok(d0, XsType.MKDIR, "/shared\0");
        h.setPerms(d0, "/shared", "b0", "r7");
        h.write(g, "/shared/x/y", "v");
        assertThat(h.perms(d0, "/shared/x")).isEqualTo("b5\0r7\0");
        assertThat(h.perms(d0, "/shared/x/y")).isEqualTo("b5\0r7\0");
        // dom0 creating below keeps the parent's list as it is.
        h.write(d0, "/shared/x/z", "v");
        assertThat(h.perms(d0, "/shared/x/z")).isEqualTo("b5\0r7\0");
    }

    @Test
    void missingNodeUnderUnreadableParentIsEaccesNotEnoent() {
        h.ok(d0, XsType.MKDIR, "/secret\0");
        h.err(g, XsType.READ, "/secret/missing\0", XsError.EACCES);
        h.err(g, XsType.READ, "/secret/missing/deeper\0", XsError.EACCES);
        h.ok(d0, XsType.MKDIR, "/open\0");
        h.setPerms(d0, "/open", "r0");
        h.err(g, XsType.READ, "/open/missing\0", XsError.ENOENT);
        h.err(g, XsType.WRITE, "/open/new\0v", XsError.EACCES);
    }

    @Test
    void onlyPrivilegedCallersChangeTheOwner() {
        h.write(g, "x", "v");
        h.err(g, XsType.SET_PERMS, "x\0n7\0", XsError.EPERM);
        assertThat(h.perms(g, "x")).isEqualTo("n5\0");
        h.setPerms(g, "x", "n5", "r7");
        assertThat(h.perms(g, "x")).isEqualTo("n5\0r7\0");
        h.setPerms(d0, "/local/domain/5/x", "n7");
        assertThat(h.perms(d0, "/local/domain/5/x")).isEqualTo("n7\0");
    }

    @Test
    void writeAccessDoesNotAllowSetPerms() {
        h.write(d0, "/w", "v");
        h.setPerms(d0, "/w", "n0", "b5");
        h.write(g, "/w", "guest");
        h.err(g, XsType.SET_PERMS, "/w\0n0\0", XsError.EACCES);
        assertThat(h.perms(d0, "/w")).isEqualTo("n0\0b5\0");
    }

    static Stream<String> badPermLists() {
        // As C's xs_strings_to_perms (strtol base 0): big or signed ids are accepted (CDifferencesTest).
        return Stream.of("x5\0", "r\0", "rabc\0", "r5 \0", "r0x\0", "n0\0bb\0", "", "R0\0");
    }

    @ParameterizedTest(name = "SET_PERMS \"{0}\" -> EINVAL")
    @MethodSource("badPermLists")
    void badPermissionStringsAreEinval(String perms) {
        h.write(d0, "/bp", "v");
        h.err(d0, XsType.SET_PERMS, "/bp\0" + perms, XsError.EINVAL);
        assertThat(h.perms(d0, "/bp")).isEqualTo("n0\0");
    }

    @Test
    void specialPathsHavePermissionsToo() {
        assertReply(h.req(d0, XsType.GET_PERMS, "@releaseDomain\0"), XsType.GET_PERMS, "n0\0");
        h.err(g, XsType.GET_PERMS, "@releaseDomain\0", XsError.EACCES);
        h.setPerms(d0, "@releaseDomain", "n0", "r5");
        assertThat(h.perms(d0, "@releaseDomain")).isEqualTo("n0\0r5\0");
        assertThat(h.perms(g, "@releaseDomain")).isEqualTo("n0\0r5\0");
        h.err(g, XsType.SET_PERMS, "@releaseDomain\0n0\0b5\0", XsError.EACCES);
        h.err(d0, XsType.GET_PERMS, "@other\0", XsError.ENOENT);
        h.err(d0, XsType.SET_PERMS, "@other\0n0\0", XsError.ENOENT);
    }

    // ---- watches -----------------------------------------------------------------------------------------

    @Test
    void watchRepliesOkThenFiresOnceEvenForAMissingPath() {
        h.send(d0, XsType.WATCH.code, 3, 0, EngineHarness.bytes("/nowhere\0tok\0"));
        List<XsMessage> out = h.drain(d0);
        assertThat(out).hasSize(2);
        assertReply(out.get(0), XsType.WATCH, "OK\0");
        assertReply(out.get(1), XsType.WATCH_EVENT, "/nowhere\0tok\0");
        assertThat(out.get(1).reqId()).isZero();
    }

    @Test
    void watchFiresForTheSubtreeOnly() {
        h.watch(d0, "/w", "t");
        h.write(d0, "/w/x/y", "v");
        h.write(d0, "/wx", "v");
        h.write(d0, "/w", "v");
        assertThat(h.events(d0)).containsExactly("/w/x/y\0t\0", "/w\0t\0");
        h.setPerms(d0, "/w", "r0");
        assertThat(h.events(d0)).containsExactly("/w\0t\0");
    }

    @Test
    void txIdOfWatchIsIgnored() {
        h.ok(d0, XsType.WATCH, 1234, "/tw\0t\0");
        assertThat(h.events(d0)).containsExactly("/tw\0t\0");
        h.ok(d0, XsType.UNWATCH, 99, "/tw\0t\0");
    }

    @Test
    void relativeWatchesGetRelativeEvents() {
        h.watch(g, "rel", "t");
        h.write(g, "rel/x", "v");
        assertThat(h.events(g)).containsExactly("rel/x\0t\0");
        h.write(d0, "/local/domain/5/rel", "v");
        assertThat(h.events(g)).containsExactly("rel\0t\0");
    }

    @Test
    void removingAnAncestorFiresWithTheWatchedPath() {
        h.write(d0, "/anc/b/c/d", "v");
        h.watch(d0, "/anc/b/c", "t");
        h.ok(d0, XsType.RM, "/anc\0");
        assertThat(h.events(d0)).containsExactly("/anc/b/c\0t\0");
    }

    @Test
    void removalIsReportedToAWatcherThatCouldReadTheNode() {
        h.write(g, "gone/child", "v");
        h.watch(g, "gone/child", "t");
        h.ok(d0, XsType.RM, "/local/domain/5/gone\0");
        assertThat(h.events(g)).containsExactly("gone/child\0t\0");
        h.ok(d0, XsType.RM, "/local/domain/5/gone\0");
        assertThat(h.events(g)).isEmpty();
    }

    @Test
    void transactionalRemovalFiresAtCommitForWatchesBelow() {
        h.write(d0, "/tr/a/b", "v");
        h.watch(d0, "/tr/a/b", "deep");
        int t = h.txStart(d0);
        h.ok(d0, XsType.RM, t, "/tr\0");
        h.err(d0, XsType.READ, t, "/tr/a\0", XsError.ENOENT);
        assertThat(h.read(d0, "/tr/a/b")).isEqualTo("v");
        assertThat(h.events(d0)).isEmpty();
        h.commit(d0, t);
        assertThat(h.events(d0)).containsExactly("/tr/a/b\0deep\0");
        h.assertConsistent();
    }

    @Test
    void permissionChangeIsReportedToWatchersThatLoseAccess() {
        h.write(d0, "/pc", "v");
        h.setPerms(d0, "/pc", "n0", "r5");
        h.watch(g, "/pc", "t");
        h.setPerms(d0, "/pc", "n0");
        assertThat(h.events(g)).containsExactly("/pc\0t\0");
        h.write(d0, "/pc", "hidden now");
        assertThat(h.events(g)).isEmpty();
    }

    @Test
    void relativeAndAbsoluteFormsOfAWatchAreTheSameWatch() {
        h.watch(g, "same", "t");
        h.err(g, XsType.WATCH, "/local/domain/5/same\0t\0", XsError.EEXIST);
        h.ok(g, XsType.UNWATCH, "/local/domain/5/same\0t\0");
        assertThat(g.conn.watchCount()).isZero();
    }

    @Test
    void duplicateWatchIsEexistAndUnknownUnwatchIsEnoent() {
        h.watch(d0, "/dup", "t");
        h.err(d0, XsType.WATCH, "/dup\0t\0", XsError.EEXIST);
        h.watch(d0, "/dup", "other");
        h.ok(d0, XsType.UNWATCH, "/dup\0t\0");
        h.err(d0, XsType.UNWATCH, "/dup\0t\0", XsError.ENOENT);
        h.err(d0, XsType.UNWATCH, "/never\0t\0", XsError.ENOENT);
        h.write(d0, "/dup", "v");
        assertThat(h.events(d0)).containsExactly("/dup\0other\0");
    }

    @Test
    void eventsForUnreadableNodesAreNotSentToUnprivilegedWatchers() {
        h.ok(d0, XsType.MKDIR, "/filt\0");
        h.watch(g, "/filt", "t");
        h.write(d0, "/filt/hidden", "v");
        assertThat(h.events(g)).isEmpty();
        h.setPerms(d0, "/filt", "n0", "r5");
        assertThat(h.events(g)).containsExactly("/filt\0t\0");
        h.write(d0, "/filt/seen", "v");
        assertThat(h.events(g)).containsExactly("/filt/seen\0t\0");
    }

    @Test
    void introduceAndReleaseFireSpecialWatchesForPrivilegedOrPermittedWatchers() {
        Client g6 = h.guest(d0, 6);
        h.watch(d0, "@introduceDomain", "i");
        h.watch(d0, "@releaseDomain", "r");
        h.watch(g, "@introduceDomain", "gi");
        h.watch(g6, "@releaseDomain", "gr");
        h.setPerms(d0, "@releaseDomain", "n0", "r6");
        h.ok(d0, XsType.INTRODUCE, "9\0" + "1\0" + "2\0");
        assertThat(h.events(d0)).containsExactly("@introduceDomain\0i\0");
        assertThat(h.events(g)).isEmpty();
        h.ok(d0, XsType.RELEASE, "9\0");
        assertThat(h.events(d0)).containsExactly("@releaseDomain\0r\0");
        assertThat(h.events(g6)).containsExactly("@releaseDomain\0gr\0");
        assertThat(h.events(g)).isEmpty();
    }

    @Test
    void eventsOver4096BytesAreDropped() {
        String token = repeat('t', 4000);
        h.watch(d0, "/e", token);
        h.write(d0, "/e/" + repeat('p', 200), "v");
        h.write(d0, "/e/s", "v");
        assertThat(h.events(d0)).containsExactly("/e/s\0" + token + "\0");
        assertThat(d0.conn.droppedEvents()).isEqualTo(1);
    }

    // ---- transactions ------------------------------------------------------------------------------------

    @Test
    void transactionIdsCountFromOnePerConnection() {
        assertReply(h.req(d0, XsType.TRANSACTION_START, "\0"), XsType.TRANSACTION_START, "1\0");
        assertReply(h.req(d0, XsType.TRANSACTION_START, "\0"), XsType.TRANSACTION_START, "2\0");
        assertReply(h.req(g, XsType.TRANSACTION_START, "\0"), XsType.TRANSACTION_START, "1\0");
    }

    @Test
    void transactionsAreIsolatedUntilCommit() {
        h.ok(d0, XsType.MKDIR, "/iso\0");
        h.ok(d0, XsType.MKDIR, "/out\0");
        int t = h.txStart(d0);
        h.write(d0, t, "/iso/a", "in");
        assertThat(h.read(d0, t, "/iso/a")).isEqualTo("in");
        h.err(d0, XsType.READ, "/iso/a\0", XsError.ENOENT);
        h.write(d0, "/out/x", "out");
        assertThat(h.read(d0, t, "/out/x")).isEqualTo("out");
        h.commit(d0, t);
        assertThat(h.read(d0, "/iso/a")).isEqualTo("in");
        h.err(d0, XsType.READ, t, "/iso/a\0", XsError.ENOENT);
    }

    @Test
    void conflictingWriteIsEagain() {
        h.write(d0, "/c", "0");
        int t = h.txStart(d0);
        assertThat(h.read(d0, t, "/c")).isEqualTo("0");
        h.write(g, "/local/domain/5/unrelated", "x");
        h.write(d0, "/c", "outside");
        h.write(d0, t, "/c", "inside");
        h.err(d0, XsType.TRANSACTION_END, t, "T\0", XsError.EAGAIN);
        assertThat(h.read(d0, "/c")).isEqualTo("outside");
        h.err(d0, XsType.READ, t, "/c\0", XsError.ENOENT);
    }

    @Test
    void readOfMissingNodeConflictsWithItsCreation() {
        int t = h.txStart(d0);
        h.err(d0, XsType.READ, t, "/later\0", XsError.ENOENT);
        h.write(d0, "/later", "x");
        h.err(d0, XsType.TRANSACTION_END, t, "T\0", XsError.EAGAIN);
    }

    @Test
    void unrelatedWritesDoNotConflict() {
        h.ok(d0, XsType.MKDIR, "/p1\0");
        h.ok(d0, XsType.MKDIR, "/p2\0");
        int t = h.txStart(d0);
        h.write(d0, t, "/p1/x", "in");
        h.write(d0, "/p2/y", "out");
        h.write(d0, "/p2", "changed");
        h.commit(d0, t);
        assertThat(h.read(d0, "/p1/x")).isEqualTo("in");
    }

    @Test
    void outsideSiblingCreationConflictsWithCreationInTransaction() {
        h.ok(d0, XsType.MKDIR, "/sib\0");
        int t = h.txStart(d0);
        h.write(d0, t, "/sib/new", "in");
        h.write(d0, "/sib/other", "out");
        h.err(d0, XsType.TRANSACTION_END, t, "T\0", XsError.EAGAIN);
        h.err(d0, XsType.READ, "/sib/new\0", XsError.ENOENT);
    }

    @Test
    void eventsOnlyAtCommitAndNeverOnAbort() {
        h.watch(d0, "/ev", "t");
        int t = h.txStart(d0);
        h.write(d0, t, "/ev/a", "v");
        assertThat(h.events(d0)).isEmpty();
        h.commit(d0, t);
        assertThat(h.events(d0)).containsExactly("/ev/a\0t\0");
        int t2 = h.txStart(d0);
        h.write(d0, t2, "/ev/b", "v");
        h.ok(d0, XsType.TRANSACTION_END, t2, "F\0");
        assertThat(h.events(d0)).isEmpty();
        h.err(d0, XsType.READ, "/ev/b\0", XsError.ENOENT);
    }

    @Test
    void transactionSeesItsOwnTreeShape() {
        int t = h.txStart(d0);
        h.ok(d0, XsType.MKDIR, t, "/shape/a\0");
        h.write(d0, t, "/shape/b", "v");
        assertReply(h.req(d0, XsType.DIRECTORY, t, "/shape\0"), XsType.DIRECTORY, "a\0b\0");
        assertThat(h.get(d0, XsType.GET_PERMS, t, "/shape/b\0")).isEqualTo("n0\0");
        h.ok(d0, XsType.RM, t, "/shape/a\0");
        assertReply(h.req(d0, XsType.DIRECTORY, t, "/shape\0"), XsType.DIRECTORY, "b\0");
        h.err(d0, XsType.DIRECTORY, "/shape\0", XsError.ENOENT);
        h.commit(d0, t);
        assertReply(h.req(d0, XsType.DIRECTORY, "/shape\0"), XsType.DIRECTORY, "b\0");
        h.assertConsistent();
    }

    @Test
    void abortAlwaysSucceedsAndPermissionChangesConflict() {
        h.write(d0, "/ab", "v");
        int t = h.txStart(d0);
        h.write(d0, t, "/ab", "in");
        h.setPerms(d0, "/ab", "r0");
        h.ok(d0, XsType.TRANSACTION_END, t, "F\0");
        int t2 = h.txStart(d0);
        h.write(d0, t2, "/ab", "in");
        h.setPerms(d0, "/ab", "b0");
        h.err(d0, XsType.TRANSACTION_END, t2, "T\0", XsError.EAGAIN);
        assertThat(h.read(d0, "/ab")).isEqualTo("v");
    }

    @Test
    void twoTransactionsOnOneConnectionAreIndependent() {
        h.ok(d0, XsType.MKDIR, "/t1\0");
        h.ok(d0, XsType.MKDIR, "/t2\0");
        int a = h.txStart(d0);
        int b = h.txStart(d0);
        h.write(d0, a, "/t1/x", "a");
        h.write(d0, b, "/t2/x", "b");
        h.err(d0, XsType.READ, b, "/t1/x\0", XsError.ENOENT);
        h.commit(d0, b);
        h.commit(d0, a);
        assertThat(h.read(d0, "/t1/x") + h.read(d0, "/t2/x")).isEqualTo("ab");
    }

    @Test
    void nodeQuotaCountsPendingTransactionChanges() {
        h.quota(d0, 5, "nodes", 3);
        h.write(g, "old", "");
        int t = h.txStart(g);
        h.write(g, t, "a", "");
        h.err(g, XsType.WRITE, t, "b\0", XsError.ENOSPC);
        h.ok(g, XsType.RM, t, "old\0");
        h.write(g, t, "b", "");
        h.commit(g, t);
        assertThat(h.get(g, XsType.DIRECTORY, "/local/domain/5\0")).isEqualTo("a\0b\0");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(3);
        h.assertConsistent();
    }

    @Test
    void nestedStartIsEbusyUnknownIdIsEnoentBadEndArgIsEinval() {
        int t = h.txStart(d0);
        h.err(d0, XsType.TRANSACTION_START, t, "\0", XsError.EBUSY);
        h.err(d0, XsType.READ, 99, "/\0", XsError.ENOENT);
        h.err(d0, XsType.TRANSACTION_END, 99, "T\0", XsError.ENOENT);
        h.err(d0, XsType.TRANSACTION_END, t, "X\0", XsError.EINVAL);
        h.err(d0, XsType.TRANSACTION_END, t, "T", XsError.EINVAL);
        h.commit(d0, t);
        h.err(d0, XsType.TRANSACTION_END, t, "T\0", XsError.ENOENT);
    }

    // ---- quotas ------------------------------------------------------------------------------------------

    @Test
    void nodesQuota() {
        h.quota(d0, 5, "nodes", 3); // the home node counts
        h.write(g, "a", "");
        h.write(g, "b", "");
        h.err(g, XsType.WRITE, "c\0", XsError.ENOSPC);
        h.err(g, XsType.MKDIR, "c\0", XsError.ENOSPC);
        h.write(g, "a", "rewrite is fine");
        assertThat(h.usage(5, Quota.NODES)).isEqualTo(3);
        h.write(d0, "/local/domain/5/c", "dom0 is not limited");
    }

    @Test
    void watchesQuota() {
        h.quota(d0, 5, "watches", 2);
        h.watch(g, "a", "1");
        h.watch(g, "b", "1");
        h.err(g, XsType.WATCH, "c\0" + "1\0", XsError.ENOSPC);
        h.ok(g, XsType.UNWATCH, "a\0" + "1\0");
        h.watch(g, "c", "1");
    }

    @Test
    void outstandingQuotaPausesInputUntilRepliesAreRead() {
        h.quota(d0, 5, "outstanding", 3);
        for (int i = 0; i < 3; i++) {
            assertThat(h.engine.canAcceptInput(g.conn)).isTrue();
            h.send(g, XsType.READ.code, i, 0, EngineHarness.bytes("a\0"));
        }
        assertThat(h.engine.canAcceptInput(g.conn)).isFalse();
        assertThat(h.usage(5, Quota.OUTSTANDING)).isEqualTo(3);
        assertError(h.engine.nextOutput(g.conn), XsError.ENOENT);
        assertThat(h.engine.canAcceptInput(g.conn)).isTrue();
        // dom0 is not held to it.
        for (int i = 0; i < 30; i++) h.send(d0, XsType.READ.code, i, 0, EngineHarness.bytes("/\0"));
        assertThat(h.engine.canAcceptInput(d0.conn)).isTrue();
    }

    @Test
    void memoryQuota() {
        h.quota(d0, 5, "memory", 400);
        h.write(g, "a", repeat('v', 200));
        h.err(g, XsType.WRITE, "b\0" + repeat('v', 200), XsError.ENOSPC);
        h.err(g, XsType.READ, "b\0", XsError.ENOENT);
        h.err(g, XsType.WATCH, repeat('w', 150) + "\0" + repeat('t', 150) + "\0", XsError.ENOSPC);
    }

    @Test
    void transactionsQuota() {
        h.quota(d0, 5, "transactions", 2);
        h.txStart(g);
        int t2 = h.txStart(g);
        h.err(g, XsType.TRANSACTION_START, "\0", XsError.ENOSPC);
        h.ok(g, XsType.TRANSACTION_END, t2, "F\0");
        h.txStart(g);
    }

    @Test
    void transactionNodesQuota() {
        h.quota(d0, 5, "transaction-nodes", 3);
        int t = h.txStart(g);
        h.err(g, XsType.READ, t, "a\0", XsError.ENOENT); // a and the home it falls back to
        h.err(g, XsType.READ, t, "b\0", XsError.ENOENT);
        h.err(g, XsType.READ, t, "c\0", XsError.ENOSPC);
    }

    @Test
    void nodePermissionsQuota() {
        h.quota(d0, 5, "node-permissions", 2);
        h.write(g, "a", "");
        h.setPerms(g, "a", "n5", "r7");
        h.err(g, XsType.SET_PERMS, "a\0n5\0r7\0r0\0", XsError.ENOSPC);
        assertThat(h.perms(g, "a")).isEqualTo("n5\0r7\0");
    }

    @Test
    void pathMaxQuota() {
        h.quota(d0, 5, "path-max", 10);
        h.write(g, "abcdefghij", "");
        h.err(g, XsType.WRITE, "abcdefghijk\0", XsError.EINVAL);
        h.err(g, XsType.WATCH, "abcdefghijk\0t\0", XsError.EINVAL);
    }

    @Test
    void nodeSizeQuota() {
        h.quota(d0, 5, "node-size", 100);
        h.write(g, "a", repeat('v', 90));
        h.err(g, XsType.WRITE, "a\0" + repeat('v', 100), XsError.ENOSPC);
        assertThat(h.read(g, "a")).isEqualTo(repeat('v', 90));
        h.write(g, "/local/domain/5/a", repeat('v', 92));
    }

    @Test
    void getQuotaNamesAndGlobalAndPerDomainValues() {
        assertReply(h.req(d0, XsType.GET_QUOTA, ""), XsType.GET_QUOTA,
                "nodes watches outstanding memory soft-memory transactions transaction-nodes node-permissions path-max node-size\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "nodes\0"), XsType.GET_QUOTA, "1000\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "memory\0"), XsType.GET_QUOTA, "2621440\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "soft-memory\0"), XsType.GET_QUOTA, "2097152\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "5\0watches\0"), XsType.GET_QUOTA, "128\0");
        h.ok(d0, XsType.SET_QUOTA, "watches\0" + "64\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "watches\0"), XsType.GET_QUOTA, "64\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "5\0watches\0"), XsType.GET_QUOTA, "64\0");
        h.quota(d0, 5, "watches", 7);
        assertReply(h.req(d0, XsType.GET_QUOTA, "5\0watches\0"), XsType.GET_QUOTA, "7\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "watches\0"), XsType.GET_QUOTA, "64\0");
        h.err(d0, XsType.GET_QUOTA, "bogus\0", XsError.EINVAL);
        h.err(d0, XsType.SET_QUOTA, "bogus\0" + "1\0", XsError.EINVAL);
        h.err(d0, XsType.GET_QUOTA, "77\0nodes\0", XsError.ENOENT);
        h.err(d0, XsType.SET_QUOTA, "nodes\0", XsError.EINVAL);
        h.err(g, XsType.GET_QUOTA, "nodes\0", XsError.EACCES);
        h.err(g, XsType.SET_QUOTA, "nodes\0" + "1\0", XsError.EACCES);
    }

    // ---- domains -----------------------------------------------------------------------------------------

    @Test
    void introduceQueryAndReleaseADomain() {
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "5\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "6\0"), XsType.IS_DOMAIN_INTRODUCED, "F\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "0\0"), XsType.IS_DOMAIN_INTRODUCED, "T\0");
        h.write(g, "data", "v");
        h.watch(g, "data", "gt");
        h.ok(d0, XsType.MKDIR, "/granted\0");
        h.setPerms(d0, "/granted", "n0", "r5", "b6");
        h.watch(d0, "@releaseDomain", "r");

        h.watch(d0, "/local/domain/5", "home");
        h.ok(d0, XsType.RELEASE, "5\0");

        assertThat(h.events(d0)).containsExactly("/local/domain/5\0home\0", "@releaseDomain\0r\0");
        assertThat(g.closedByEngine).isTrue();
        assertThat(g.conn.watchCount()).isZero();
        h.err(d0, XsType.READ, "/local/domain/5\0", XsError.ENOENT);
        assertThat(h.perms(d0, "/granted")).isEqualTo("n0\0b6\0");
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "5\0"), XsType.IS_DOMAIN_INTRODUCED, "F\0");
        h.err(d0, XsType.RELEASE, "5\0", XsError.ENOENT);
        assertThat(h.usage(5, Quota.NODES)).isZero();
        assertThat(h.usage(5, Quota.WATCHES)).isZero();
        h.assertConsistent();
    }

    @Test
    void domainArgumentsAreChecked() {
        h.err(d0, XsType.INTRODUCE, "0\0" + "1\0" + "1\0", XsError.EINVAL);
        h.err(d0, XsType.INTRODUCE, "x\0" + "1\0" + "1\0", XsError.EINVAL);
        h.err(d0, XsType.INTRODUCE, "8\0" + "1\0", XsError.EINVAL);
        h.err(d0, XsType.RELEASE, "0\0", XsError.EINVAL);
        h.err(d0, XsType.RELEASE, "65535\0", XsError.EINVAL);
        h.err(d0, XsType.RELEASE, "8\0", XsError.ENOENT);
        assertReply(h.req(d0, XsType.IS_DOMAIN_INTRODUCED, "-1\0"), XsType.IS_DOMAIN_INTRODUCED, "F\0");
        h.err(d0, XsType.RESUME, "8\0", XsError.ENOENT);
        h.ok(d0, XsType.RESUME, "5\0");
    }

    @Test
    void reintroductionRebindsOnlyWithTheSamePage() {
        h.ok(d0, XsType.INTRODUCE, "5\0" + "1005\0" + "9\0");
        h.err(d0, XsType.INTRODUCE, "5\0" + "2000\0" + "9\0", XsError.EINVAL);
        h.err(d0, XsType.INTRODUCE, "7\0" + "x\0" + "9\0", XsError.EINVAL);
    }

    @Test
    void serverFeatures() {
        assertReply(h.req(d0, XsType.GET_FEATURE, ""), XsType.GET_FEATURE, "3\0");
        assertReply(h.req(d0, XsType.GET_FEATURE, "5\0"), XsType.GET_FEATURE, "3\0");
        h.ok(d0, XsType.SET_FEATURE, "5\0" + "1\0");
        assertReply(h.req(d0, XsType.GET_FEATURE, "5\0"), XsType.GET_FEATURE, "1\0");
        h.err(d0, XsType.GET_FEATURE, "77\0", XsError.ENOENT);
        h.err(d0, XsType.SET_FEATURE, "5\0", XsError.EINVAL);
    }

    @Test
    void getDomainPath() {
        assertReply(h.req(d0, XsType.GET_DOMAIN_PATH, "7\0"), XsType.GET_DOMAIN_PATH, "/local/domain/7\0");
        assertReply(h.req(g, XsType.GET_DOMAIN_PATH, "5\0"), XsType.GET_DOMAIN_PATH, "/local/domain/5\0");
        h.err(d0, XsType.GET_DOMAIN_PATH, "x\0", XsError.EINVAL);
        h.err(d0, XsType.GET_DOMAIN_PATH, "7", XsError.EINVAL);
    }

    @Test
    void setTargetGivesTheDeviceModelOwnerRights() {
        Client dm = h.guest(d0, 6);
        h.write(g, "secret", "s");
        h.err(dm, XsType.READ, "/local/domain/5/secret\0", XsError.EACCES);
        h.ok(d0, XsType.SET_TARGET, "6\0" + "5\0");
        assertThat(h.read(dm, "/local/domain/5/secret")).isEqualTo("s");
        h.write(dm, "/local/domain/5/secret", "dm");
        h.setPerms(dm, "/local/domain/5/secret", "n5", "r7");
        h.err(dm, XsType.SET_PERMS, "/local/domain/5/secret\0n6\0", XsError.EPERM);
        h.err(g, XsType.READ, "/local/domain/6\0", XsError.EACCES);
        h.err(d0, XsType.SET_TARGET, "6\0" + "8\0", XsError.ENOENT);
    }

    @Test
    void privilegedRequestsFromGuestsAreEacces() {
        h.err(g, XsType.INTRODUCE, "7\0" + "1\0" + "1\0", XsError.EACCES);
        h.err(g, XsType.RELEASE, "5\0", XsError.EACCES);
        h.err(g, XsType.SET_TARGET, "5\0" + "5\0", XsError.EACCES);
        h.err(g, XsType.IS_DOMAIN_INTRODUCED, "5\0", XsError.EACCES);
        h.err(g, XsType.CONTROL, "help\0", XsError.EACCES);
        h.err(g, XsType.GET_FEATURE, "", XsError.EACCES);
    }

    // ---- unknown requests and CONTROL --------------------------------------------------------------------

    @Test
    void unknownAndRemovedTypesAreEnosys() {
        assertError(h.req(d0, 99, 0, new byte[0]), XsError.ENOSYS);
        assertError(h.req(d0, XsType.RESTRICT.code, 0, EngineHarness.bytes("5\0")), XsError.ENOSYS);
        assertError(h.req(d0, XsType.ERROR.code, 0, new byte[0]), XsError.ENOSYS);
        assertError(h.req(d0, XsType.WATCH_EVENT.code, 0, new byte[0]), XsError.ENOSYS);
        assertError(h.req(g, 99, 0, new byte[0]), XsError.ENOSYS);
        // Every other type of xs_wire.h has its handler (the engine's table has no compiler checking it is complete):
        // with an empty payload each answers something, but never ENOSYS.
        for (XsType t : XsType.values()) {
            if (t == XsType.RESTRICT || t == XsType.ERROR || t == XsType.WATCH_EVENT) continue;
            XsMessage r = h.req(d0, t, 0, new byte[0]);
            assertThat(r.type() == XsType.ERROR.code ? Payloads.cString(r.payload()) : t.name()).as(t.name()).isNotEqualTo("ENOSYS");
        }
    }

    @Test
    void controlCommands() {
        assertReply(h.req(d0, XsType.CONTROL, "help\0"), XsType.CONTROL,
                "check\t\nlog\t[on|off]\nlive-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds.\n"
                        + "logfile\t<file>\nmemreport\t[<file>]\nprint\t<string>\n"
                        + "quota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n\0");
        h.ok(d0, XsType.CONTROL, "check\0");
        h.ok(d0, XsType.CONTROL, "print\0hello\0");
        h.err(d0, XsType.CONTROL, "print\0", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "nosuch\0", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "", XsError.EINVAL);
        h.err(d0, XsType.CONTROL, "logfile\0/nonexistent-dir/jxen/trace\0", XsError.EIO);
        String quota = h.get(d0, XsType.CONTROL, "quota\0");
        assertThat(quota).startsWith("Quota settings:\n").contains("nodes            :     1000 Nodes per domain\n").endsWith("\n\0");
        h.ok(d0, XsType.CONTROL, "quota\0set\0nodes\0" + "42\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "nodes\0"), XsType.GET_QUOTA, "42\0");
        String dom = h.get(d0, XsType.CONTROL, "quota\0" + "5\0");
        assertThat(dom).startsWith("Domain 5:\n").contains("nodes           :        1\n");
        h.err(d0, XsType.CONTROL, "quota\0" + "77\0", XsError.ENOENT);
        h.ok(d0, XsType.CONTROL, "quota-soft\0set\0memory\0" + "1000\0");
        assertReply(h.req(d0, XsType.GET_QUOTA, "soft-memory\0"), XsType.GET_QUOTA, "1000\0");
    }
}
