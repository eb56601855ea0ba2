package org.jxen.xenstore;

/**
 * Path syntax of docs/misc/xenstore.txt as C xenstored checks it (is_valid_nodename, canonicalize):
 * characters {@code [A-Za-z0-9/_@-]}, absolute after resolution, no {@code //}, no trailing {@code /} but for
 * the root, at most {@link XsWire#ABS_PATH_MAX} bytes. The per-domain limit on the part below
 * {@code /local/domain/<id>/} is a quota and is checked by the daemon.
 */
public final class XsPaths {
    public static final String ROOT = "/";
    public static final String INTRODUCE_DOMAIN = "@introduceDomain";
    public static final String RELEASE_DOMAIN = "@releaseDomain";

    private static final boolean[] VALID = new boolean[128];

    static {
        for (char c = 'a'; c <= 'z'; c++) VALID[c] = true;
        for (char c = 'A'; c <= 'Z'; c++) VALID[c] = true;
        for (char c = '0'; c <= '9'; c++) VALID[c] = true;
        VALID['/'] = VALID['_'] = VALID['@'] = VALID['-'] = true;
    }

    private XsPaths() {}

    /** {@code /local/domain/<domid>}: the base of relative paths and GET_DOMAIN_PATH's answer. */
    public static String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    public static boolean isSpecial(String path) {
        return !path.isEmpty() && path.charAt(0) == '@';
    }

    /** Not starting with '/'. Special names ('@...') are only recognised by the requests that allow them. */
    public static boolean isRelative(String path) {
        return path.isEmpty() || path.charAt(0) != '/';
    }

    /** Resolves a relative path against the connection's domain; absolute paths pass through. */
    public static String canonicalize(String path, int domid) {
        if (!isRelative(path)) return path;
        return domainPath(domid) + "/" + path;
    }

    /** Syntax check of an absolute path (after {@link #canonicalize}). */
    public static boolean isValidAbsolute(String path) {
        int n = path.length();
        if (n == 0 || path.charAt(0) != '/' || n > XsWire.ABS_PATH_MAX) return false;
        if (n > 1 && path.charAt(n - 1) == '/') return false;
        char prev = 0;
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c >= 128 || !VALID[c]) return false;
            if (c == '/' && prev == '/') return false;
            prev = c;
        }
        return true;
    }

    /**
     * Length that counts against the path-max quota: the part after {@code /local/domain/<id>/} when the path
     * lies below a domain's home, else the whole path (C xenstored's is_valid_nodename).
     */
    public static int quotaLength(String path) {
        final String prefix = "/local/domain/";
        if (path.startsWith(prefix)) {
            int i = prefix.length();
            int digits = 0;
            while (i < path.length() && digits < 5 && Character.isDigit(path.charAt(i))) {
                i++;
                digits++;
            }
            if (digits > 0 && i < path.length() && path.charAt(i) == '/') return path.length() - i - 1;
        }
        return path.length();
    }

    /** True if {@code child} is {@code parent} or lies below it (xenstore.txt's definition of "child"). */
    public static boolean isChildOf(String child, String parent) {
        if (parent.equals("/")) return child.startsWith("/");
        return child.startsWith(parent)
                && (child.length() == parent.length() || child.charAt(parent.length()) == '/');
    }

    /** Parent path; the root's parent is null. */
    public static String parent(String path) {
        if (path.equals("/")) return null;
        int i = path.lastIndexOf('/');
        return i <= 0 ? "/" : path.substring(0, i);
    }

    /** Last path component; empty for the root. */
    public static String basename(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    public static String join(String parent, String name) {
        return parent.equals("/") ? "/" + name : parent + "/" + name;
    }

    /** Turns an absolute path below the domain's home back into the relative form the caller used. */
    public static String relativize(String absolute, int domid) {
        String base = domainPath(domid);
        if (absolute.equals(base)) return "";
        if (absolute.startsWith(base) && absolute.charAt(base.length()) == '/') return absolute.substring(base.length() + 1);
        return absolute;
    }
}
