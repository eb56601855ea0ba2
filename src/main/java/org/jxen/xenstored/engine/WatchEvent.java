package org.jxen.xenstored.engine;

import org.jxen.xenstore.XsPerms;

/**
 * A change to report to watchers. {@code recursive} marks a subtree removal, which also fires watches set
 * below the removed node. A watcher is told only if one of the permission lists lets it read: the node's, and
 * for removals and permission changes the parent's or the old list ({@code alsoReadableVia}).
 */
record WatchEvent(String path, boolean recursive, XsPerms perms, XsPerms alsoReadableVia) {
    static WatchEvent special(String name) {
        return new WatchEvent(name, false, null, null);
    }
}
