package org.jxen.xenstored.engine;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XsWire;

/**
 * The store operations with C xenstored's permission, error and quota rules, against a {@link StoreView}.
 * Every check happens before the first change, so a failed request leaves nothing half-made (XSA-414/415).
 */
final class StoreOps {
    private final Domains domains;

    StoreOps(Domains domains) {
        this.domains = domains;
    }

    /**
     * Canonical absolute path, or EINVAL (syntax, length, path-max). As C xenstored's canonicalize and
     * is_valid_nodename: an {@code @name} is not made relative but refused (special names are only for
     * watches and permissions), and path-max holds for every caller, dom0 included.
     */
    String resolve(Caller c, String raw) throws XenStoreException {
        if (XsPaths.isSpecial(raw)) throw new ErrorReply(XsError.EINVAL, "special name " + raw);
        String path = XsPaths.canonicalize(raw, c.domid());
        if (!XsPaths.isValidAbsolute(path)) throw new ErrorReply(XsError.EINVAL, "invalid path " + raw);
        if (XsPaths.quotaLength(path) > domains.limit(c.domid(), Quota.PATH_MAX)) {
            throw new ErrorReply(XsError.EINVAL, "path too long");
        }
        return path;
    }

    /**
     * C xenstored's get_node: the node if the caller has {@code perm} on it; otherwise EACCES, or ENOENT for a
     * missing node, unless the nearest existing ancestor does not grant {@code perm} (then EACCES, so the
     * answer leaks nothing about nodes the caller may not see).
     */
    Node access(StoreView v, Caller c, String path, int perm) throws XenStoreException {
        Node n = v.read(path);
        if (n != null) {
            if ((c.permissions(n.perms) & perm) == perm) return n;
            throw new ErrorReply(XsError.EACCES);
        }
        Node ancestor = nearestAncestor(v, path);
        if ((c.permissions(ancestor.perms) & perm) != 0) throw new ErrorReply(XsError.ENOENT);
        throw new ErrorReply(XsError.EACCES);
    }

    private static Node nearestAncestor(StoreView v, String path) throws XenStoreException {
        String p = XsPaths.parent(path);
        while (p != null) {
            Node n = v.read(p);
            if (n != null) return n;
            p = XsPaths.parent(p);
        }
        throw new IllegalStateException("store has no root");
    }

    byte[] read(StoreView v, Caller c, String path) throws XenStoreException {
        return access(v, c, path, Caller.READ).value;
    }

    void write(StoreView v, Caller c, String path, byte[] value) throws XenStoreException {
        Node n = existingOrCreatable(v, c, path);
        if (n == null) {
            create(v, c, path, value);
        } else {
            Node changed = n.withValue(value);
            checkNodeLimits(v, c, changed, n);
            v.write(changed);
        }
        v.changed(new WatchEvent(path, false, v.read(path).perms, null));
    }

    void mkdir(StoreView v, Caller c, String path) throws XenStoreException {
        if (existingOrCreatable(v, c, path) != null) return;
        create(v, c, path, new byte[0]);
        v.changed(new WatchEvent(path, false, v.read(path).perms, null));
    }

    /** The node with write access, or null when it is missing and may be created; else the error. */
    private Node existingOrCreatable(StoreView v, Caller c, String path) throws XenStoreException {
        // access(WRITE) with its ENOENT as the answer, not an exception: every node created takes this path.
        Node n = v.read(path);
        if (n == null) {
            if ((c.permissions(nearestAncestor(v, path).perms) & Caller.WRITE) != 0) return null;
        } else if ((c.permissions(n.perms) & Caller.WRITE) == Caller.WRITE) {
            return n;
        }
        throw new ErrorReply(XsError.EACCES);
    }

    /**
     * construct_node: creates the node and any missing ancestors, each inheriting its parent's permissions,
     * owned by the creator if the creator is unprivileged.
     */
    private void create(StoreView v, Caller c, String path, byte[] value) throws XenStoreException {
        ArrayDeque<String> missing = new ArrayDeque<>();
        String p = path;
        Node parent;
        while ((parent = v.read(p)) == null) {
            missing.push(p);
            p = XsPaths.parent(p);
        }
        List<Node> made = new ArrayList<>(missing.size() + 1);
        Node oldParent = parent;
        for (String name : missing) {
            XsPerms perms = c.privileged() ? parent.perms : parent.perms.withOwner(c.domid());
            Node child = Node.create(name, name.equals(path) ? value : new byte[0], perms);
            parent = parent.withChild(XsPaths.basename(name));
            made.add(parent);
            parent = child;
        }
        made.add(parent);
        if (!c.privileged()) {
            int nodeLimit = domains.limit(c.domid(), Quota.NODES);
            if (v.nodesOwnedBy(c.domid()) + missing.size() > nodeLimit) {
                throw new ErrorReply(XsError.ENOSPC, "node quota");
            }
            long added = 0;
            for (Node n : made) {
                checkSize(c, n);
                if (n.perms.owner() == c.domid()) added += n.memorySize();
            }
            if (oldParent.perms.owner() == c.domid()) added -= oldParent.memorySize();
            checkMemory(v, c, added);
        }
        for (Node n : made) v.write(n);
    }

    /** Quota checks for replacing {@code old} by {@code changed}, for unprivileged writers. */
    private void checkNodeLimits(StoreView v, Caller c, Node changed, Node old) throws XenStoreException {
        if (c.privileged()) return;
        checkSize(c, changed);
        checkMemory(v, c, (long) changed.memorySize() - old.memorySize());
    }

    private void checkSize(Caller c, Node n) throws XenStoreException {
        if (n.recordSize() > domains.limit(c.domid(), Quota.NODE_SIZE)) {
            throw new ErrorReply(XsError.ENOSPC, "node size quota");
        }
        if (n.perms.size() > domains.limit(c.domid(), Quota.NODE_PERMISSIONS)) {
            throw new ErrorReply(XsError.ENOSPC, "permissions quota");
        }
    }

    private void checkMemory(StoreView v, Caller c, long added) throws XenStoreException {
        if (added > 0 && v.memoryOf(c.domid()) + added > domains.limit(c.domid(), Quota.MEMORY)) {
            throw new ErrorReply(XsError.ENOSPC, "memory quota");
        }
    }

    void rm(StoreView v, Caller c, String path) throws XenStoreException {
        Node n;
        try {
            n = access(v, c, path, Caller.WRITE);
        } catch (XenStoreException e) {
            // Removing what is not there is fine, as long as its parent is.
            if (e.error() == XsError.ENOENT && v.read(XsPaths.parent(path)) != null) return;
            throw e;
        }
        if (path.equals("/")) throw new ErrorReply(XsError.EINVAL, "cannot remove /");
        Node parent = v.read(XsPaths.parent(path));
        // Only a transaction's view can hold a node without its parent (the parent was first read after
        // someone else removed it). C's _rm answers EINVAL then; the commit would fail anyway.
        if (parent == null) throw new ErrorReply(XsError.EINVAL, "parent of " + path + " is gone");
        // Iterative post-order walk: deep trees must not exhaust the stack (XSA-418).
        ArrayDeque<Node> todo = new ArrayDeque<>();
        List<String> doomed = new ArrayList<>();
        Map<String, XsPerms> removedBelow = new HashMap<>();
        todo.push(n);
        while (!todo.isEmpty()) {
            Node x = todo.pop();
            doomed.add(x.path);
            if (x != n) removedBelow.put(x.path, x.perms);
            for (String child : x.children) {
                Node cn = v.read(x.childPath(child));
                if (cn != null) todo.push(cn);
            }
        }
        for (int i = doomed.size() - 1; i >= 0; i--) v.delete(doomed.get(i));
        v.write(parent.withoutChild(XsPaths.basename(path)));
        v.changed(new WatchEvent(path, true, n.perms, parent.perms, removedBelow));
    }

    byte[] directory(StoreView v, Caller c, String path) throws XenStoreException {
        Node n = access(v, c, path, Caller.READ);
        byte[] list = childList(n);
        if (list.length > XsWire.PAYLOAD_MAX) throw new ErrorReply(XsError.E2BIG);
        return list;
    }

    /**
     * DIRECTORY_PART as C xenstored answers it: the node's generation, then as many whole child names from
     * byte {@code offset} of the list as fit, plus an empty string once the list is complete.
     */
    byte[] directoryPart(StoreView v, Caller c, String path, int offset) throws XenStoreException {
        Node n = access(v, c, path, Caller.READ);
        byte[] list = childList(n);
        byte[] gen = (n.generation + "\0").getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(gen);
        if (offset < 0 || offset >= list.length) {
            out.write(0);
            return out.toByteArray();
        }
        int max = XsWire.PAYLOAD_MAX - gen.length - 1;
        int end = offset;
        while (end < list.length) {
            int nul = end;
            while (list[nul] != 0) nul++;
            if (nul - offset >= max) break;
            end = nul + 1;
        }
        out.write(list, offset, end - offset);
        if (end == list.length) out.write(0);
        return out.toByteArray();
    }

    private static byte[] childList(Node n) {
        return n.childList();
    }

    XsPerms getPerms(StoreView v, Caller c, String path) throws XenStoreException {
        return access(v, c, path, Caller.READ).perms;
    }

    void setPerms(StoreView v, Caller c, String path, XsPerms perms) throws XenStoreException {
        Node n = access(v, c, path, Caller.WRITE | Caller.OWNER);
        if (!c.privileged() && perms.owner() != n.perms.owner()) {
            throw new ErrorReply(XsError.EPERM, "only a privileged domain may change the owner");
        }
        Node changed = n.withPerms(perms);
        if (!c.privileged()) {
            checkNodeLimits(v, c, changed, n);
        }
        v.write(changed);
        v.changed(new WatchEvent(path, false, perms, n.perms));
    }

    /** Drops override entries naming {@code domid} from every node (a released domain's id may be reused). */
    static void dropPermsNaming(DataTree tree, Domains domains, int domid) {
        List<Node> changed = new ArrayList<>();
        tree.walk(n -> {
            XsPerms p = n.perms.without(domid);
            if (p != null) changed.add(n.withPerms(p));
        });
        for (Node n : changed) {
            domains.charge(tree.get(n.path), n);
            tree.put(n);
        }
    }
}
