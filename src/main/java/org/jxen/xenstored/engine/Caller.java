package org.jxen.xenstored.engine;

import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;

/**
 * Who is asking: the connection's domain, whether it is privileged (dom0 and every Unix-socket client), and
 * the domain it serves as device model after SET_TARGET (-1 if none).
 */
record Caller(int domid, boolean privileged, int target) {
    static final int READ = 1, WRITE = 2, OWNER = 4;

    /** C xenstored's perm_for_conn: privileged callers, the owner and the owner's device model get everything. */
    int permissions(XsPerms perms) {
        int owner = perms.owner();
        if (privileged || owner == domid || (target >= 0 && owner == target)) return READ | WRITE | OWNER;
        var entries = perms.entries();
        for (int i = 1; i < entries.size(); i++) {
            XsPerm p = entries.get(i);
            if (p.domid() == domid || (target >= 0 && p.domid() == target)) return bits(p);
        }
        return bits(entries.getFirst());
    }

    boolean canRead(XsPerms perms) {
        return (permissions(perms) & READ) != 0;
    }

    private static int bits(XsPerm p) {
        return (p.read() ? READ : 0) | (p.write() ? WRITE : 0);
    }
}
