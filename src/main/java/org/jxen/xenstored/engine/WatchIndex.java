package org.jxen.xenstored.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.jxen.xenstore.XsPaths;

/**
 * Every connection's watches by watched path, so that an event costs a lookup per ancestor of the changed
 * node instead of a scan of every watch in the daemon (a host with a thousand guests has thousands of them).
 * Watches below a removed subtree come from a range query on the sorted paths.
 */
final class WatchIndex {
    /** One registered watch and the connection it belongs to. */
    record Entry(Connection connection, Watch watch) {}

    private final TreeMap<String, List<Entry>> byPath = new TreeMap<>();
    private int size;

    void add(Connection c, Watch w) {
        byPath.computeIfAbsent(w.path(), k -> new ArrayList<>(1)).add(new Entry(c, w));
        size++;
    }

    void remove(Connection c, Watch w) {
        List<Entry> list = byPath.get(w.path());
        if (list == null) return;
        if (list.removeIf(e -> e.connection() == c && e.watch() == w)) size--;
        if (list.isEmpty()) byPath.remove(w.path());
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Watches on exactly this path (special names included). */
    List<Entry> on(String path) {
        List<Entry> list = byPath.get(path);
        return list == null ? List.of() : List.copyOf(list);
    }

    /** Watches on the path or any of its ancestors: those a change to the path fires. */
    List<Entry> atOrAbove(String path) {
        List<Entry> out = new ArrayList<>();
        for (String p = path; p != null; p = XsPaths.parent(p)) {
            List<Entry> list = byPath.get(p);
            if (list != null) out.addAll(list);
        }
        return out;
    }

    /** Watches strictly below the path: those a removal of its subtree also fires. */
    List<Entry> below(String path) {
        String prefix = path.equals("/") ? "/" : path + "/";
        // Every string starting with prefix sorts between prefix and prefix with its last char incremented.
        String end = prefix.substring(0, prefix.length() - 1) + (char) (prefix.charAt(prefix.length() - 1) + 1);
        NavigableMap<String, List<Entry>> range = byPath.subMap(prefix, true, end, false);
        List<Entry> out = new ArrayList<>();
        for (Map.Entry<String, List<Entry>> e : range.entrySet()) {
            if (!e.getKey().equals(path)) out.addAll(e.getValue());
        }
        return out;
    }

    int size() {
        return size;
    }

    /** For tests of the index against a scan. */
    Map<String, Integer> counts() {
        Map<String, Integer> m = new HashMap<>();
        byPath.forEach((k, v) -> m.put(k, v.size()));
        return m;
    }
}
