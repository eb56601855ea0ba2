// The ceiling Xen's grant-copy semantics put on `jxen bench hypervisor`'s hot grant-copy rows: 64 x 4 KiB
// memcpy from a 256 KiB cache-hot source, with nothing around each copy, with Xen's pin alone (lock cmpxchg of
// GTF_reading into the entry) and with Xen's pin and unpin (lock cmpxchg, then lock and to clear it), as
// acquire_grant_for_copy/release_grant_for_copy do once per op when each op names another grant.
//   gcc -O2 -o /tmp/gpc tools/grant-pin-ceiling.c && /tmp/gpc
// Prints, per mode, batches done in 1.5 s and the best batch; the plain row is the floor.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    enum { OPS = 64, PAGE = 4096, GTF_READING = 8 };
    char *src = aligned_alloc(PAGE, OPS * PAGE), *dst = aligned_alloc(PAGE, OPS * PAGE);
    uint32_t *entry = aligned_alloc(64, OPS * 8); // grant_entry_v1: flags+domid word, then frame
    memset(src, 1, OPS * PAGE);
    memset(dst, 2, OPS * PAGE);
    memset(entry, 0, OPS * 8);
    const char *names[] = {"plain memcpy", "lock cmpxchg pin, plain store unpin", "lock cmpxchg pin, lock and unpin (Xen)"};
    long plain = 0;
    for (int mode = 0; mode < 3; mode++) {
        long batches = 0;
        double best = 1, t0 = now();
        while (now() - t0 < 1.5) {
            double s = now();
            for (int i = 0; i < OPS; i++) {
                uint32_t *flags = &entry[i * 2];
                if (mode >= 1) {
                    uint32_t v = *flags;
                    __atomic_compare_exchange_n(flags, &v, v | GTF_READING, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
                }
                memcpy(dst + i * PAGE, src + i * PAGE, PAGE);
                if (mode == 1) *flags &= ~GTF_READING;
                if (mode == 2) __atomic_fetch_and(flags, ~GTF_READING, __ATOMIC_SEQ_CST);
            }
            double d = now() - s;
            if (d < best) best = d;
            batches++;
        }
        if (mode == 0) plain = batches;
        printf("%-40s %8ld batches  best %.2f us per 64 x 4 KiB  %3.0f%% of plain\n", names[mode], batches, best * 1e6,
               100.0 * batches / plain);
    }
    return 0;
}
