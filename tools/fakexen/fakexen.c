/*
 * fakexen: just enough of libxenctrl, libxenevtchn and libxengnttab for Debian's C xenstored (Xen 4.17) to
 * run on a machine without a hypervisor, as a reference oracle for jxen's differential tests.
 *
 * Why: xenstored -D (no domain init) never calls setup_structure() since XSA-326, so its database is NULL and
 * the first request crashes; without -D it needs /dev/xen/privcmd. With this shim dom0's introduction
 * "succeeds": its ring is a zeroed 4 KiB file that nobody writes, its event channel a pipe that never fires.
 * Only the Unix socket carries traffic. Domains that "exist" for xc_domain_getinfo: FAKEXEN_DOMIDS
 * (comma-separated ids or ranges such as 0-10000, default "0"). Built twice: as the three Xen libraries, and with -DFAKEXEN_PRELOAD as an
 * LD_PRELOAD object that redirects /proc/xen/xsd_{port,kva} to files in $FAKEXEN_DIR.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FAKEXEN_PRELOAD
static int handle_token; /* any non-NULL pointer will do as an opaque handle */
static int evtchn_pipe[2] = {-1, -1};
static uint32_t next_port = 1;

/* libxenctrl */
void *xc_interface_open(void *logger, void *dombuild_logger, unsigned flags) { return &handle_token; }
int xc_interface_close(void *xch) { return 0; }

static int domid_exists(uint32_t domid) {
    const char *list = getenv("FAKEXEN_DOMIDS");
    if (!list || !*list) return domid == 0;
    char *copy = strdup(list), *save = NULL;
    int found = 0;
    for (char *t = strtok_r(copy, ",", &save); t && !found; t = strtok_r(NULL, ",", &save)) {
        char *dash;
        uint32_t lo = (uint32_t)strtoul(t, &dash, 10), hi = *dash == '-' ? (uint32_t)strtoul(dash + 1, NULL, 10) : lo;
        if (domid >= lo && domid <= hi) found = 1;
    }
    free(copy);
    return found;
}

/* Fills only the leading fields xenstored reads (domid, ssidref, flag bits, shutdown_reason): all zero = running. */
int xc_domain_getinfo(void *xch, uint32_t first_domid, unsigned max_doms, void *info) {
    if (max_doms < 1 || !domid_exists(first_domid)) return 0;
    memset(info, 0, 16);
    memcpy(info, &first_domid, sizeof first_domid);
    return 1;
}

/* libxenevtchn */
void *xenevtchn_open(void *logger, unsigned flags) {
    if (evtchn_pipe[0] < 0 && pipe(evtchn_pipe) != 0) return NULL;
    return &handle_token;
}
void *xenevtchn_fdopen(void *logger, int fd, unsigned flags) { return xenevtchn_open(logger, flags); }
int xenevtchn_fd(void *xce) { return evtchn_pipe[0]; }
int xenevtchn_notify(void *xce, uint32_t port) { return 0; }
int xenevtchn_bind_interdomain(void *xce, uint32_t domid, uint32_t remote_port) { return (int)next_port++; }
int xenevtchn_bind_virq(void *xce, unsigned virq) { return (int)next_port++; }
int xenevtchn_pending(void *xce) { errno = EAGAIN; return -1; }
int xenevtchn_unmask(void *xce, uint32_t port) { return 0; }
int xenevtchn_unbind(void *xce, uint32_t port) { return 0; }

/* libxengnttab: a guest's ring is a private zeroed page */
void *xengnttab_open(void *logger, unsigned flags) { return &handle_token; }
int xengnttab_close(void *xgt) { return 0; }
int xengnttab_set_max_grants(void *xgt, uint32_t count) { return 0; }
void *xengnttab_map_grant_ref(void *xgt, uint32_t domid, uint32_t ref, int prot) {
    void *p = NULL;
    return posix_memalign(&p, 4096, 4096) == 0 ? memset(p, 0, 4096) : NULL;
}
int xengnttab_unmap(void *xgt, void *start, uint32_t count) { free(start); return 0; }

#else
/* LD_PRELOAD part (unversioned, so it can stand in for glibc's versioned open/fopen). /proc/xen/xsd_port and /proc/xen/xsd_kva: dom0's event channel port and ring page */
static const char *redirect(const char *path, char *buf, size_t len) {
    const char *dir = getenv("FAKEXEN_DIR");
    if (!dir || strncmp(path, "/proc/xen/xsd_", 14) != 0) return path;
    snprintf(buf, len, "%s/%s", dir, path + 10);
    return buf;
}

int open(const char *path, int flags, ...) {
    static int (*real_open)(const char *, int, ...);
    if (!real_open) real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
    char buf[4096];
    return real_open(redirect(path, buf, sizeof buf), flags, mode);
}

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real_fopen)(const char *, const char *);
    if (!real_fopen) real_fopen = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, "fopen");
    char buf[4096];
    return real_fopen(redirect(path, buf, sizeof buf), mode);
}
#endif
