#define _GNU_SOURCE
#include "CLinuxSupport.h"
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>

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

int clinux_raise_current_thread(int rt_priority, int fallback_nice) {
    struct sched_param param = {.sched_priority = rt_priority};
    if (rt_priority > 0 && pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0) return 2;
    // Linux keeps the nice value per thread: who = 0 is the calling thread (setpriority(2), BUGS).
    if (setpriority(PRIO_PROCESS, 0, fallback_nice) == 0) return 1;
    return 0;
}

int clinux_enable_receive_timestamps(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0 ? 0 : errno;
}

ssize_t clinux_receive_timestamped(int fd, void *buffer, size_t capacity, int flags, void *address,
                                   socklen_t *address_length, int64_t *seconds, int64_t *nanoseconds) {
    struct iovec vector = {.iov_base = buffer, .iov_len = capacity};
    union { char bytes[CMSG_SPACE(sizeof(struct timespec)) * 2]; struct cmsghdr align; } control;
    struct msghdr message = {
        .msg_name = address, .msg_namelen = address_length ? *address_length : 0,
        .msg_iov = &vector, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof control.bytes,
    };
    *seconds = -1;
    *nanoseconds = -1;
    ssize_t n = recvmsg(fd, &message, flags);
    if (n < 0) return n;
    if (address_length) *address_length = message.msg_namelen;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec t;
            memcpy(&t, CMSG_DATA(c), sizeof t);
            *seconds = t.tv_sec;
            *nanoseconds = t.tv_nsec;
        }
    }
    return n;
}

int clinux_release_free_memory(void) {
    return malloc_trim(0);
}

int clinux_tune_malloc(int arena_max, int mmap_threshold) {
    int applied = 0;
    if (arena_max > 0 && mallopt(M_ARENA_MAX, arena_max) == 1) applied |= 1;
    if (mmap_threshold > 0 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1) applied |= 2;
    return applied;
}

void clinux_heap_usage(unsigned long long *in_use, unsigned long long *held) {
    struct mallinfo2 m = mallinfo2();
    *in_use = (unsigned long long)(m.uordblks + m.hblkhd);
    *held = (unsigned long long)(m.arena + m.hblkhd);
}
