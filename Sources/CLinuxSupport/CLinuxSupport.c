#define _GNU_SOURCE
#include "CLinuxSupport.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

int clinux_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

int clinux_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    int n = 0;
    for (int i = 0; i < CPU_SETSIZE && n < max; i++) {
        if (CPU_ISSET(i, &set)) cpus[n++] = i;
    }
    return n;
}

int clinux_current_cpu(void) { return sched_getcpu(); }

int clinux_name_current_thread(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    return pthread_setname_np(pthread_self(), buf);
}
