package org.jxen.toolstack.migration;

import java.io.IOException;

/** A save image or migration stream that cannot be restored: one line saying what is wrong with it. */
public final class SaveImageException extends IOException {
    public SaveImageException(String message) {
        super(message);
    }
}
