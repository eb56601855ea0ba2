package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;

/**
 * Model-based test of the store: seeded random sequences of requests from several connections (dom0 twice,
 * dom1 twice, dom2), inside and outside transactions, are sent to the real {@link XenStoreEngine} and to a
 * small reference model written here from xenstore.md and C xenstored's rules. Every reply must match byte
 * for byte, and so must the committed tree after every request.
 *
 * <p>Transactions in the model are C xenstored's (since 4.9): a transaction copies a node into its private
 * view the first time it touches it (read or write, also a read that finds nothing) and remembers the node's
 * generation then; nodes it has not touched are read from the live store. Commit fails with EAGAIN iff any
 * touched node's generation changed since; adding or removing a child changes the parent.
 *
 * <p>Reproduce one sequence with {@code -Djxen.model.seed=<seed>}; change the amount with
 * {@code -Djxen.model.sequences=N -Djxen.model.ops=M}.
 */
class ModelBasedTest {
    static final long BASE_SEED = 0x6A78656E2026L;
    static final int SEQUENCES = Integer.getInteger("jxen.model.sequences", 300);
    static final int OPS = Integer.getInteger("jxen.model.ops", 200);

    static final int R = 1, W = 2, O = 4;
    static final long ABSENT = -1;
    static final Pattern VALID_PATH = Pattern.compile("/|(/[A-Za-z0-9_@-]+)+");
    static final Pattern VALID_PERM = Pattern.compile("[nrwb][0-9]{1,5}");

    static final String[] PATHS = {
        "/", "/a", "/a", "/a/b", "/a/b", "/a/c", "/a/b/d", "/local", "/local/domain",
        "/local/domain/1", "/local/domain/1/x", "/local/domain/1/x", "/local/domain/1/x/y", "/local/domain/1/w",
        "/local/domain/2", "/local/domain/2/z", "/local/domain/2/z", "/local/domain/2/z/q", "/tool/xenstored",
        "x", "x/y", "z", "w",
    };
    static final String[] BAD_PATHS = {"/a//b", "/a/", "", "a b", "/a.b"};
    static final byte[][] VALUES = {
        new byte[0], b("v1"), b("v2"), b("longer value 3"), {'a', 0, 'b'}, {0}, {(byte) 0xff, 1},
    };
    static final List<List<String>> PERMS = List.of(
            List.of("n0"), List.of("r0"), List.of("b0"), List.of("w0"), List.of("n0", "b1"), List.of("r0", "n1", "b2"),
            List.of("n1"), List.of("b1"), List.of("r1", "n2"), List.of("n1", "b2"), List.of("w1", "r2", "b0"),
            List.of("n2"), List.of("r2"), List.of("n2", "w1"), List.of("b2", "n1"),
            List.of("r1", "r1", "n1"), // duplicate overrides: the first one wins
            List.of("x1"), List.of("b1", "b1x"), List.of("b01")); // invalid; and a non-canonical owner spelling

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    // ---- the reference model ----------------------------------------------------------------------------

    static final class MNode {
        byte[] value;
        List<String> perms;
        final List<String> children;

        MNode(byte[] value, List<String> perms, List<String> children) {
            this.value = value;
            this.perms = perms;
            this.children = new ArrayList<>(children);
        }

        MNode copy() {
            return new MNode(value, perms, children);
        }
    }

    static final class MErr extends Exception {
        private static final long serialVersionUID = 1L;
        final String name;

        MErr(String name) {
            super(name, null, false, false);
            this.name = name;
        }
    }

    interface MView {
        MNode get(String path);

        void put(String path, MNode node);

        void delete(String path);
    }

    static final class MTx {
        final int id;
        final HashMap<String, MNode> local = new HashMap<>();
        final HashMap<String, Long> seen = new HashMap<>();
        final LinkedHashSet<String> written = new LinkedHashSet<>();

        MTx(int id) {
            this.id = id;
        }
    }

    static final class MConn {
        final String name;
        final int domid;
        final boolean priv;
        final LinkedHashMap<Integer, MTx> txs = new LinkedHashMap<>();
        int nextTx = 1;
        Connection engineConn;

        MConn(String name, int domid, boolean priv) {
            this.name = name;
            this.domid = domid;
            this.priv = priv;
        }
    }

    static final class Model {
        final TreeMap<String, MNode> committed = new TreeMap<>();
        final HashMap<String, Long> gens = new HashMap<>();
        long gen;

        Model() {
            committed.put("/", new MNode(new byte[0], List.of("n0"), List.of("tool")));
            committed.put("/tool", new MNode(new byte[0], List.of("n0"), List.of("xenstored")));
            committed.put("/tool/xenstored", new MNode(new byte[0], List.of("n0"), List.of()));
            for (String p : committed.keySet()) gens.put(p, ++gen);
        }

        MView direct() {
            return new MView() {
                public MNode get(String p) {
                    return committed.get(p);
                }

                public void put(String p, MNode n) {
                    committed.put(p, n);
                    gens.put(p, ++gen);
                }

                public void delete(String p) {
                    committed.remove(p);
                    gens.remove(p);
                }
            };
        }

        MView in(MTx tx) {
            return new MView() {
                public MNode get(String p) {
                    if (!tx.local.containsKey(p)) {
                        MNode c = committed.get(p);
                        tx.local.put(p, c == null ? null : c.copy());
                        tx.seen.put(p, c == null ? ABSENT : gens.get(p));
                    }
                    return tx.local.get(p);
                }

                public void put(String p, MNode n) {
                    get(p);
                    tx.local.put(p, n);
                    tx.written.add(p);
                }

                public void delete(String p) {
                    get(p);
                    tx.local.put(p, null);
                    tx.written.add(p);
                }
            };
        }

        void commit(MTx tx) throws MErr {
            for (Map.Entry<String, Long> e : tx.seen.entrySet()) {
                long now = committed.containsKey(e.getKey()) ? gens.get(e.getKey()) : ABSENT;
                if (now != e.getValue()) throw new MErr("EAGAIN");
            }
            for (String p : tx.written) {
                MNode after = tx.local.get(p);
                if (after == null) {
                    committed.remove(p);
                    gens.remove(p);
                } else {
                    committed.put(p, after.copy());
                    gens.put(p, ++gen);
                }
            }
        }

        static int owner(List<String> perms) {
            return Integer.parseInt(perms.getFirst().substring(1));
        }

        static int bits(String perm) {
            return switch (perm.charAt(0)) {
                case 'r' -> R;
                case 'w' -> W;
                case 'b' -> R | W;
                default -> 0;
            };
        }

        /** Privileged and owner: everything; else the first override naming the domain; else the owner's letter. */
        static int perm(MConn c, List<String> perms) {
            if (c.priv || owner(perms) == c.domid) return R | W | O;
            for (int i = 1; i < perms.size(); i++) {
                if (Integer.parseInt(perms.get(i).substring(1)) == c.domid) return bits(perms.get(i));
            }
            return bits(perms.getFirst());
        }

        static String parent(String p) {
            int i = p.lastIndexOf('/');
            return i == 0 ? "/" : p.substring(0, i);
        }

        static String base(String p) {
            return p.substring(p.lastIndexOf('/') + 1);
        }

        static String child(String p, String name) {
            return p.equals("/") ? "/" + name : p + "/" + name;
        }

        static String resolve(MConn c, String raw) throws MErr {
            String p = raw.startsWith("/") ? raw : "/local/domain/" + c.domid + "/" + raw;
            if (!VALID_PATH.matcher(p).matches()) throw new MErr("EINVAL");
            return p;
        }

        /** The node, if the caller has every bit of {@code need}; a missing node is ENOENT or EACCES by the nearest ancestor. */
        static MNode access(MView v, MConn c, String path, int need) throws MErr {
            MNode n = v.get(path);
            if (n != null) {
                if ((perm(c, n.perms) & need) == need) return n;
                throw new MErr("EACCES");
            }
            String p = path;
            MNode anc;
            do {
                p = parent(p);
                anc = v.get(p);
            } while (anc == null);
            throw new MErr((perm(c, anc.perms) & need) != 0 ? "ENOENT" : "EACCES");
        }

        static MNode existingOrCreatable(MView v, MConn c, String path) throws MErr {
            try {
                return access(v, c, path, W);
            } catch (MErr e) {
                if (e.name.equals("ENOENT")) return null;
                throw e;
            }
        }

        static void create(MView v, MConn c, String path, byte[] value) {
            ArrayDeque<String> missing = new ArrayDeque<>();
            String p = path;
            while (v.get(p) == null) {
                missing.push(p);
                p = parent(p);
            }
            String parentPath = p;
            MNode parent = v.get(p);
            for (String m : missing) {
                List<String> perms = parent.perms;
                if (!c.priv) {
                    perms = new ArrayList<>(perms);
                    perms.set(0, perms.getFirst().charAt(0) + Integer.toString(c.domid));
                    perms = List.copyOf(perms);
                }
                MNode node = new MNode(m.equals(path) ? value : new byte[0], perms, List.of());
                parent.children.add(base(m));
                v.put(parentPath, parent);
                parent = node;
                parentPath = m;
            }
            v.put(parentPath, parent);
        }

        byte[] apply(MConn c, Op op) throws MErr {
            MTx tx = null;
            if (op.txId != 0) {
                tx = c.txs.get(op.txId);
                if (tx == null) throw new MErr("ENOENT");
            }
            MView v = tx == null ? direct() : in(tx);
            switch (op.type) {
                case TRANSACTION_START -> {
                    if (tx != null) throw new MErr("EBUSY");
                    int id = c.nextTx++;
                    c.txs.put(id, new MTx(id));
                    return Payloads.strings(Integer.toString(id));
                }
                case TRANSACTION_END -> {
                    // C's do_transaction_end checks the argument before the (id 0) transaction.
                    if (!op.arg.equals("T") && !op.arg.equals("F")) throw new MErr("EINVAL");
                    if (tx == null) throw new MErr("ENOENT");
                    c.txs.remove(tx.id);
                    if (op.arg.equals("T")) commit(tx);
                    return Payloads.OK;
                }
                case READ -> {
                    return access(v, c, resolve(c, op.path), R).value.clone();
                }
                case DIRECTORY -> {
                    MNode n = access(v, c, resolve(c, op.path), R);
                    return Payloads.strings(n.children.toArray(String[]::new));
                }
                case GET_PERMS -> {
                    MNode n = access(v, c, resolve(c, op.path), R);
                    return Payloads.strings(n.perms.toArray(String[]::new));
                }
                case WRITE -> {
                    String path = resolve(c, op.path);
                    MNode n = existingOrCreatable(v, c, path);
                    if (n == null) {
                        create(v, c, path, op.value);
                    } else {
                        n.value = op.value;
                        v.put(path, n);
                    }
                    return Payloads.OK;
                }
                case MKDIR -> {
                    String path = resolve(c, op.path);
                    if (existingOrCreatable(v, c, path) == null) create(v, c, path, new byte[0]);
                    return Payloads.OK;
                }
                case RM -> {
                    String path = resolve(c, op.path);
                    MNode n;
                    try {
                        n = access(v, c, path, W);
                    } catch (MErr e) {
                        if (e.name.equals("ENOENT") && v.get(parent(path)) != null) return Payloads.OK;
                        throw e;
                    }
                    if (path.equals("/")) throw new MErr("EINVAL");
                    MNode parent = v.get(parent(path));
                    if (parent == null) throw new MErr("EINVAL"); // C's _rm: parent missing in the transaction's view
                    List<String> doomed = new ArrayList<>();
                    ArrayDeque<String> todo = new ArrayDeque<>();
                    todo.push(path);
                    while (!todo.isEmpty()) {
                        String p = todo.pop();
                        doomed.add(p);
                        for (String ch : v.get(p).children) {
                            if (v.get(child(p, ch)) != null) todo.push(child(p, ch));
                        }
                    }
                    for (String p : doomed) v.delete(p);
                    parent.children.remove(base(path));
                    v.put(parent(path), parent);
                    return Payloads.OK;
                }
                case SET_PERMS -> {
                    List<String> perms = new ArrayList<>();
                    for (String s : op.perms) {
                        if (!VALID_PERM.matcher(s).matches()) {
                            throw new MErr("EINVAL");
                        }
                        perms.add(s.charAt(0) + Integer.toString(Integer.parseInt(s.substring(1)))); // canonical form
                    }
                    String path = resolve(c, op.path);
                    MNode n = access(v, c, path, W | O);
                    if (!c.priv && owner(perms) != owner(n.perms)) throw new MErr("EPERM");
                    n.perms = List.copyOf(perms);
                    v.put(path, n);
                    return Payloads.OK;
                }
                default -> throw new IllegalArgumentException(op.type.toString());
            }
        }
    }

    // ---- operations and their generation ----------------------------------------------------------------

    record Op(int conn, XsType type, int txId, String path, byte[] value, List<String> perms, String arg) {
        byte[] payload() {
            return switch (type) {
                case WRITE -> Payloads.pathAndValue(path, value);
                case SET_PERMS -> {
                    List<String> all = new ArrayList<>();
                    all.add(path);
                    all.addAll(perms);
                    yield Payloads.strings(all.toArray(String[]::new));
                }
                case TRANSACTION_START -> Payloads.strings("");
                case TRANSACTION_END -> Payloads.strings(arg);
                default -> Payloads.strings(path);
            };
        }

        String describe(List<MConn> conns) {
            MConn c = conns.get(conn);
            StringBuilder sb = new StringBuilder(c.name).append(' ').append(type).append(" tx=").append(txId);
            switch (type) {
                case WRITE -> sb.append(' ').append(path).append(" = \"").append(Payloads.printable(value)).append('"');
                case SET_PERMS -> sb.append(' ').append(path).append(' ').append(perms);
                case TRANSACTION_START -> {}
                case TRANSACTION_END -> sb.append(' ').append(arg);
                default -> sb.append(' ').append(path);
            }
            return sb.toString();
        }
    }

    static String pick(SplittableRandom r, String[] a) {
        return a[r.nextInt(a.length)];
    }

    static Op generate(SplittableRandom r, List<MConn> conns) {
        int ci = r.nextInt(conns.size());
        MConn c = conns.get(ci);
        List<Integer> open = new ArrayList<>(c.txs.keySet());
        int tx = 0;
        int roll = r.nextInt(100);
        if (!open.isEmpty() && roll < 55) tx = open.get(r.nextInt(open.size()));
        else if (roll >= 97) tx = 1 + r.nextInt(6); // maybe not ours: ENOENT
        String path = r.nextInt(40) == 0 ? pick(r, BAD_PATHS) : pick(r, PATHS);
        int t = r.nextInt(100);
        XsType type;
        if (t < 20) type = XsType.WRITE;
        else if (t < 32) type = XsType.READ;
        else if (t < 40) type = XsType.MKDIR;
        else if (t < 50) type = XsType.RM;
        else if (t < 57) type = XsType.DIRECTORY;
        else if (t < 63) type = XsType.GET_PERMS;
        else if (t < 74) type = XsType.SET_PERMS;
        else if (t < 86) type = XsType.TRANSACTION_START;
        else type = XsType.TRANSACTION_END;
        if (type == XsType.TRANSACTION_START) {
            if (open.size() >= 3) type = XsType.TRANSACTION_END;
            else if (r.nextInt(10) != 0) tx = 0; // sometimes nested: EBUSY
        }
        String arg = null;
        if (type == XsType.TRANSACTION_END) {
            if (tx == 0 && !open.isEmpty() && r.nextInt(10) != 0) tx = open.get(r.nextInt(open.size()));
            int a = r.nextInt(100);
            arg = a < 70 ? "T" : a < 97 ? "F" : "X";
        }
        byte[] value = VALUES[r.nextInt(VALUES.length)];
        List<String> perms = PERMS.get(r.nextInt(PERMS.size()));
        return new Op(ci, type, tx, path, value, perms, arg);
    }

    // ---- driving both ---------------------------------------------------------------------------------

    static final ConnectionIo NO_IO = new ConnectionIo() {
        @Override
        public void outputReady(Connection connection) {}

        @Override
        public void close(Connection connection) {}
    };

    final Map<String, Integer> outcomes = new TreeMap<>();

    @Test
    void engineAgreesWithModel() {
        Long only = Long.getLong("jxen.model.seed");
        int sequences = only != null ? 1 : SEQUENCES;
        long totalOps = 0;
        for (int s = 0; s < sequences; s++) {
            long seed = only != null ? only : BASE_SEED + s * 0x9E3779B97F4A7C15L;
            totalOps += runSequence(seed, OPS);
        }
        System.out.printf("ModelBasedTest: base seed %#x, %d sequences, %d requests; outcomes %s%n",
                BASE_SEED, sequences, totalOps, outcomes);
        // The run must exercise what it claims to: conflicts, commits, aborts and the interesting errors.
        if (only == null && sequences >= 100) {
            for (String k : List.of("TRANSACTION_END OK", "TRANSACTION_END EAGAIN", "WRITE EACCES", "READ ENOENT",
                    "RM OK", "SET_PERMS EPERM", "TRANSACTION_START EBUSY", "MKDIR OK", "DIRECTORY OK", "RM EACCES",
                    "READ EACCES", "GET_PERMS OK", "WRITE EINVAL")) {
                assertThat(outcomes).as("outcome %s seen", k).containsKey(k);
                assertThat(outcomes.get(k)).as(k).isGreaterThan(10);
            }
        }
    }

    // ---- regressions the model found, pinned as plain examples ----------------------------------------

    private static XsMessage call(XenStoreEngine e, Connection c, XsType type, int tx, byte[] payload) {
        e.handle(c, new XsMessage(type.code, 0, tx, payload));
        XsMessage reply = e.nextOutput(c);
        assertThat(e.nextOutput(c)).isNull();
        return reply;
    }

    @Test
    void freshEngineIsConsistent() {
        assertThat(new XenStoreEngine().check()).isEmpty();
    }

    @Test
    void readsInsideTransactionAreRepeatable() {
        XenStoreEngine e = new XenStoreEngine();
        Connection a = e.connect(NO_IO, 0, true, "a");
        Connection b = e.connect(NO_IO, 0, true, "b");
        call(e, b, XsType.WRITE, 0, Payloads.pathAndValue("/k", b("v1")));
        assertThat(call(e, a, XsType.TRANSACTION_START, 0, Payloads.strings("")).payload()).containsExactly(Payloads.strings("1"));
        assertThat(call(e, a, XsType.READ, 1, Payloads.strings("/k")).payload()).containsExactly(b("v1"));
        assertThat(call(e, a, XsType.READ, 1, Payloads.strings("/gone")).payload()).containsExactly(Payloads.strings("ENOENT"));
        call(e, b, XsType.WRITE, 0, Payloads.pathAndValue("/k", b("v2")));
        call(e, b, XsType.WRITE, 0, Payloads.pathAndValue("/gone", b("now here")));
        // Still the first reads' view (C copies nodes into the transaction on first access).
        assertThat(call(e, a, XsType.READ, 1, Payloads.strings("/k")).payload()).containsExactly(b("v1"));
        assertThat(call(e, a, XsType.READ, 1, Payloads.strings("/gone")).payload()).containsExactly(Payloads.strings("ENOENT"));
        assertThat(call(e, a, XsType.READ, 0, Payloads.strings("/k")).payload()).containsExactly(b("v2"));
        XsMessage end = call(e, a, XsType.TRANSACTION_END, 1, Payloads.strings("T"));
        assertThat(end.type()).isEqualTo(XsType.ERROR.code);
        assertThat(end.payload()).containsExactly(Payloads.strings("EAGAIN"));
        assertThat(e.check()).isEmpty();
    }

    @Test
    void writeInsideTransactionJudgedByTheTransactionsView() {
        XenStoreEngine e = new XenStoreEngine();
        Connection dom0 = e.connect(NO_IO, 0, true, "dom0");
        Connection dom1 = e.connect(NO_IO, 1, false, "dom1");
        call(e, dom0, XsType.MKDIR, 0, Payloads.strings("/local/domain/1"));
        call(e, dom0, XsType.SET_PERMS, 0, Payloads.strings("/local/domain/1", "n1"));
        call(e, dom1, XsType.TRANSACTION_START, 0, Payloads.strings(""));
        assertThat(call(e, dom1, XsType.READ, 1, Payloads.strings("x")).payload()).containsExactly(Payloads.strings("ENOENT"));
        // dom0 creates x owned by dom0, unwritable for dom1; the transaction still sees it absent.
        call(e, dom0, XsType.WRITE, 0, Payloads.pathAndValue("/local/domain/1/x", b("dom0")));
        call(e, dom0, XsType.SET_PERMS, 0, Payloads.strings("/local/domain/1/x", "r0"));
        assertThat(call(e, dom1, XsType.WRITE, 0, Payloads.pathAndValue("x", b("v"))).payload())
                .containsExactly(Payloads.strings("EACCES"));
        assertThat(call(e, dom1, XsType.WRITE, 1, Payloads.pathAndValue("x", b("v"))).payload()).containsExactly(Payloads.OK);
        assertThat(call(e, dom1, XsType.TRANSACTION_END, 1, Payloads.strings("T")).payload())
                .containsExactly(Payloads.strings("EAGAIN"));
        assertThat(call(e, dom0, XsType.READ, 0, Payloads.strings("/local/domain/1/x")).payload()).containsExactly(b("dom0"));
        assertThat(e.check()).isEmpty();
    }

    @Test
    void rmInTransactionWhoseParentWasRemovedOutsideIsEinval() {
        XenStoreEngine e = new XenStoreEngine();
        Connection a = e.connect(NO_IO, 0, true, "a");
        Connection b = e.connect(NO_IO, 0, true, "b");
        call(e, b, XsType.WRITE, 0, Payloads.pathAndValue("/p/c", b("v")));
        call(e, a, XsType.TRANSACTION_START, 0, Payloads.strings(""));
        assertThat(call(e, a, XsType.WRITE, 1, Payloads.pathAndValue("/p/c", b("w"))).payload()).containsExactly(Payloads.OK);
        call(e, b, XsType.RM, 0, Payloads.strings("/p"));
        // The transaction still has /p/c, but /p is gone: C's _rm says EINVAL (jxen used to throw an NPE).
        XsMessage rm = call(e, a, XsType.RM, 1, Payloads.strings("/p/c"));
        assertThat(rm.type()).isEqualTo(XsType.ERROR.code);
        assertThat(rm.payload()).containsExactly(Payloads.strings("EINVAL"));
        assertThat(call(e, a, XsType.TRANSACTION_END, 1, Payloads.strings("T")).payload())
                .containsExactly(Payloads.strings("EAGAIN"));
        assertThat(e.check()).isEmpty();
    }

    /** One sequence: fresh engine and model, a fixed setup, then {@code ops} random requests. */
    long runSequence(long seed, int ops) {
        SplittableRandom r = new SplittableRandom(seed);
        XenStoreEngine engine = new XenStoreEngine();
        Model model = new Model();
        List<MConn> conns = List.of(new MConn("dom0a", 0, true), new MConn("dom0b", 0, true),
                new MConn("dom1a", 1, false), new MConn("dom1b", 1, false), new MConn("dom2", 2, false));
        for (MConn c : conns) c.engineConn = engine.connect(NO_IO, c.domid, c.priv, c.name);
        List<String> log = new ArrayList<>();
        int reqId = 100;
        List<Op> setup = new ArrayList<>();
        setup.add(new Op(0, XsType.MKDIR, 0, "/local/domain/1", null, null, null));
        setup.add(new Op(0, XsType.SET_PERMS, 0, "/local/domain/1", null,
                List.of(List.of("n1"), List.of("b1"), List.of("n1", "r2")).get(r.nextInt(3)), null));
        setup.add(new Op(0, XsType.MKDIR, 0, "/local/domain/2", null, null, null));
        setup.add(new Op(0, XsType.SET_PERMS, 0, "/local/domain/2", null,
                List.of(List.of("n2"), List.of("n2", "b1"), List.of("r2")).get(r.nextInt(3)), null));
        if (r.nextBoolean()) {
            setup.add(new Op(0, XsType.MKDIR, 0, "/a", null, null, null));
            setup.add(new Op(0, XsType.SET_PERMS, 0, "/a", null, PERMS.get(r.nextInt(6)), null));
        }
        int total = setup.size() + ops;
        for (int i = 0; i < total; i++) {
            Op op = i < setup.size() ? setup.get(i) : generate(r, conns);
            MConn c = conns.get(op.conn);
            XsMessage request = new XsMessage(op.type.code, reqId++, op.txId, op.payload());
            XsMessage expected;
            String outcome;
            try {
                expected = request.reply(model.apply(c, op));
                outcome = "OK";
            } catch (MErr e) {
                expected = new XsMessage(XsType.ERROR.code, request.reqId(), request.txId(), Payloads.strings(e.name));
                outcome = e.name;
            }
            outcomes.merge(op.type + " " + outcome, 1, Integer::sum);
            log.add(String.format("#%-3d %s -> %s", i, op.describe(conns), Payloads.printable(expected.payload())));
            engine.handle(c.engineConn, request);
            XsMessage actual = engine.nextOutput(c.engineConn);
            XsMessage extra = engine.nextOutput(c.engineConn);
            if (!expected.equals(actual) || extra != null) {
                fail(seed, i, log, "reply mismatch\n  request:  " + request + "\n  expected: " + expected
                        + "\n  actual:   " + actual + (extra != null ? "\n  extra output: " + extra : ""));
            }
            String diff = compareTrees(model, engine);
            if (diff != null) fail(seed, i, log, "committed store differs: " + diff);
            List<String> problems = engine.check();
            if (!problems.isEmpty()) fail(seed, i, log, "engine.check(): " + problems);
        }
        // Close the open transactions, then the accounting must still be sound.
        for (MConn c : conns) engine.disconnect(c.engineConn);
        List<String> problems = engine.check();
        if (!problems.isEmpty()) fail(seed, total - 1, log, "engine.check() after disconnect: " + problems);
        return total;
    }

    static String compareTrees(Model model, XenStoreEngine engine) {
        Map<String, Node> actual = engine.tree().view();
        if (!actual.keySet().equals(model.committed.keySet())) {
            return "paths: model " + model.committed.keySet() + " engine " + new java.util.TreeSet<>(actual.keySet());
        }
        for (Map.Entry<String, MNode> e : model.committed.entrySet()) {
            Node n = actual.get(e.getKey());
            MNode m = e.getValue();
            if (!Arrays.equals(n.value, m.value)) {
                return e.getKey() + " value model \"" + Payloads.printable(m.value) + "\" engine \"" + Payloads.printable(n.value) + '"';
            }
            List<String> perms = n.perms.entries().stream().map(Object::toString).toList();
            if (!perms.equals(m.perms)) return e.getKey() + " perms model " + m.perms + " engine " + perms;
            if (!List.of(n.children).equals(m.children)) {
                return e.getKey() + " children model " + m.children + " engine " + List.of(n.children);
            }
        }
        return null;
    }

    static void fail(long seed, int index, List<String> log, String what) {
        StringBuilder sb = new StringBuilder();
        sb.append("Model and engine disagree: seed=").append(seed).append(" (rerun with -Djxen.model.seed=").append(seed)
                .append("), op #").append(index).append(": ").append(what).append("\nops so far (model's expected replies):\n");
        for (String l : log) sb.append("  ").append(l).append('\n');
        throw new AssertionError(sb.toString());
    }
}
