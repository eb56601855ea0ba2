package org.jxen.xenstored.engine;

/**
 * A registered watch. {@code path} is absolute (or special); {@code relative} remembers that the client gave a
 * relative path, so its events are reported relative to the domain's home as xenstore.txt requires.
 */
record Watch(String path, String token, boolean relative) {
    /** Memory charged to the domain for this watch. */
    int memorySize() {
        return path.length() + token.length() + 2;
    }
}
