package org.jxen.xenstored.engine;

import java.util.Arrays;
import org.jxen.xenstore.XsPaths;
import org.jxen.xenstore.XsPerms;

/**
 * One store node. Immutable: a change makes a new node, so a transaction can hold the node it read while the
 * committed tree moves on, and a commit swaps whole nodes in. Children are kept as names in creation order,
 * the order C xenstored's DIRECTORY returns.
 */
public final class Node {
    private static final String[] NO_CHILDREN = {};

    final String path;
    final byte[] value;
    final XsPerms perms;
    final String[] children;
    /** Store-wide generation of the last change; transactions compare it to detect conflicts. */
    final long generation;

    Node(String path, byte[] value, XsPerms perms, String[] children, long generation) {
        this.path = path;
        this.value = value;
        this.perms = perms;
        this.children = children;
        this.generation = generation;
    }

    static Node create(String path, byte[] value, XsPerms perms) {
        return new Node(path, value, perms, NO_CHILDREN, 0);
    }

    public String path() {
        return path;
    }

    public byte[] value() {
        return value.clone();
    }

    public XsPerms perms() {
        return perms;
    }

    public long generation() {
        return generation;
    }

    public int childCount() {
        return children.length;
    }

    public java.util.List<String> children() {
        return java.util.List.of(children);
    }

    Node withValue(byte[] v) {
        return new Node(path, v, perms, children, generation);
    }

    Node withPerms(XsPerms p) {
        return new Node(path, value, p, children, generation);
    }

    Node withGeneration(long g) {
        return new Node(path, value, perms, children, g);
    }

    boolean hasChild(String name) {
        for (String c : children) if (c.equals(name)) return true;
        return false;
    }

    Node withChild(String name) {
        String[] c = Arrays.copyOf(children, children.length + 1);
        c[children.length] = name;
        return new Node(path, value, perms, c, generation);
    }

    Node withoutChild(String name) {
        int i = 0;
        while (i < children.length && !children[i].equals(name)) i++;
        if (i == children.length) return this;
        String[] c = new String[children.length - 1];
        System.arraycopy(children, 0, c, 0, i);
        System.arraycopy(children, i + 1, c, i, children.length - i - 1);
        return new Node(path, value, perms, c, generation);
    }

    /**
     * The children as DIRECTORY returns them, NUL-terminated names in order, made once per node: a node never
     * changes, and C xenstored keeps the same bytes in its node record. Shared by every reply; never written.
     */
    private byte[] childList;

    byte[] childList() {
        byte[] l = childList;
        if (l == null) {
            int size = 0;
            for (String c : children) size += c.length() + 1;
            l = new byte[size];
            int at = 0;
            for (String c : children) {
                for (int i = 0; i < c.length(); i++) l[at++] = (byte) c.charAt(i);
                at++;
            }
            childList = l;
        }
        return l;
    }

    String childPath(String name) {
        return XsPaths.join(path, name);
    }

    /**
     * Size charged against the node-size quota and the memory quota, as C xenstored's node record counts it:
     * value, permissions, and the NUL-terminated child names.
     */
    int recordSize() {
        int size = value.length + perms.storedSize();
        for (String c : children) size += c.length() + 1;
        return size;
    }

    /** Memory charged to the owner: the record plus the path it is stored under. */
    int memorySize() {
        return recordSize() + path.length() + 1;
    }
}
