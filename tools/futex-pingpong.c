// The machine's floor for `jxen bench hypervisor`'s "notify half-RTT, cross-process, receiver blocked":
// the same ping-pong with nothing but two futex words. gcc -O2 -o /tmp/pp tools/futex-pingpong.c, then
//   CHILD_CPU=1 taskset -c 0 /tmp/pp    the two processes on different CPUs (a wake-up crosses CPUs)
//   CHILD_CPU=0 taskset -c 0 /tmp/pp    both on one CPU
//   /tmp/pp                             wherever the scheduler puts them
// Two processes (fork), two futex words in a MAP_SHARED page; each waits for its word and wakes the other's.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
static long fx(atomic_int *w, int op, int v) { return syscall(SYS_futex, w, op, v, NULL, NULL, 0); }
static uint64_t now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }
static int cmp(const void *a, const void *b) { uint64_t x = *(uint64_t *)a, y = *(uint64_t *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    atomic_int *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    // w[0]: ping flag (child waits), w[1]: pong flag (parent waits)
    if (fork() == 0) {
        if (getenv("CHILD_CPU")) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(atoi(getenv("CHILD_CPU")), &s); sched_setaffinity(0, sizeof s, &s); }
        for (int i = 0; i < n; i++) {
            while (atomic_load(&w[0]) == 0) fx(&w[0], FUTEX_WAIT, 0);
            atomic_store(&w[0], 0);
            atomic_store(&w[1], 1); fx(&w[1], FUTEX_WAKE, 1);
        }
        _exit(0);
    }
    uint64_t *rtt = malloc(n * sizeof *rtt);
    usleep(100000);
    for (int i = 0; i < n; i++) {
        uint64_t t0 = now();
        atomic_store(&w[0], 1); fx(&w[0], FUTEX_WAKE, 1);
        while (atomic_load(&w[1]) == 0) fx(&w[1], FUTEX_WAIT, 0);
        atomic_store(&w[1], 0);
        rtt[i] = now() - t0;
        usleep(50);   // let the other side block before the next ping
    }
    wait(NULL);
    qsort(rtt, n, sizeof *rtt, cmp);
    printf("futex ping-pong across processes, both blocked: half-RTT p50 %.2f us, p99 %.2f us (n=%d)\n",
           rtt[n / 2] / 2000.0, rtt[n * 99 / 100] / 2000.0, n);
    return 0;
}
