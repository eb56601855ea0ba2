package org.jxen.xenstored.engine;

import java.util.Map;
import org.jxen.xenstore.XsPerms;

/**
 * A change to report to watchers. {@code recursive} marks a subtree removal; {@code removedBelow} then holds
 * the path and permissions of every node removed below the removed one, because a watch set below it fires
 * only if its own node was among them (C xenstored's delnode_sub fires exactly on each removed node). A
 * watcher is told only if one of the permission lists lets it read: the node's, and for removals and
 * permission changes the parent's or the old list ({@code alsoReadableVia}).
 */
record WatchEvent(String path, boolean recursive, XsPerms perms, XsPerms alsoReadableVia,
        Map<String, XsPerms> removedBelow) {
    WatchEvent(String path, boolean recursive, XsPerms perms, XsPerms alsoReadableVia) {
        this(path, recursive, perms, alsoReadableVia, Map.of());
    }

    static WatchEvent special(String name) {
        return new WatchEvent(name, false, null, null);
    }
}
