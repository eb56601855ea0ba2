package org.jxen.xenstore.client;

/** Receives watch events on the client's dispatcher thread, which may itself call the client. */
@FunctionalInterface
public interface XsWatchCallback {
    void onEvent(String path, String token);
}
