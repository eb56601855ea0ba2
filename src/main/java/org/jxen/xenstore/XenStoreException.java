package org.jxen.xenstore;

import java.io.IOException;

/** A request failed with one of Xen's error names. */
public class XenStoreException extends IOException {
    private static final long serialVersionUID = 1L;
    private final XsError error;

    public XenStoreException(XsError error) {
        this(error, error.name());
    }

    public XenStoreException(XsError error, String detail) {
        super(detail);
        this.error = error;
    }

    public XsError error() {
        return error;
    }
}
