package org.jxen.toolstack;

/** A device add or remove that failed in a way the user must hear about (libxl's ERROR_* with its log line). */
public final class DeviceException extends Exception {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
