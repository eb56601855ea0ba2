package org.jxen.xenstore;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A node's permission list: the first entry names the owner and gives the default for every domain not
 * listed; later entries override per domain (first match wins, as in C xenstored's perm_for_conn).
 */
public record XsPerms(List<XsPerm> entries) {
    public static final XsPerms ROOT_DEFAULT = new XsPerms(List.of(new XsPerm(0, false, false)));

    public XsPerms {
        if (entries.isEmpty()) throw new IllegalArgumentException("a permission list names at least its owner");
        entries = List.copyOf(entries);
    }

    public static XsPerms of(XsPerm... entries) {
        return new XsPerms(List.of(entries));
    }

    /** Parses a list of strings; null if any is malformed or the list is empty. */
    public static XsPerms parse(List<String> strings) {
        if (strings.isEmpty()) return null;
        List<XsPerm> list = new ArrayList<>(strings.size());
        for (String s : strings) {
            XsPerm p = XsPerm.parse(s);
            if (p == null) return null;
            list.add(p);
        }
        return new XsPerms(list);
    }

    public int owner() {
        return entries.getFirst().domid();
    }

    public int size() {
        return entries.size();
    }

    /** A copy whose owner is {@code domid}, keeping the owner's default letter and the overrides. */
    public XsPerms withOwner(int domid) {
        if (owner() == domid) return this;
        List<XsPerm> list = new ArrayList<>(entries);
        XsPerm first = list.getFirst();
        list.set(0, new XsPerm(domid, first.read(), first.write()));
        return new XsPerms(list);
    }

    /** A copy without override entries for {@code domid}; null if nothing changes. */
    public XsPerms without(int domid) {
        boolean found = false;
        for (int i = 1; i < entries.size(); i++) if (entries.get(i).domid() == domid) found = true;
        if (!found) return null;
        List<XsPerm> list = new ArrayList<>(entries.size());
        list.add(entries.getFirst());
        for (int i = 1; i < entries.size(); i++) if (entries.get(i).domid() != domid) list.add(entries.get(i));
        return new XsPerms(list);
    }

    /** GET_PERMS reply: each entry NUL-terminated. */
    public byte[] toPayload() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(entries.size() * 4);
        for (XsPerm p : entries) {
            out.writeBytes(p.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** Bytes the entries take in C xenstored's node record (struct xs_permissions: u8 perms, u32 id). */
    public int storedSize() {
        return entries.size() * 8;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (XsPerm p : entries) {
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(p);
        }
        return sb.toString();
    }
}
