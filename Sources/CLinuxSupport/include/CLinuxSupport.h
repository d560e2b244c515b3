// Thin wrappers around GNU extensions that Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef CLINUXSUPPORT_H
#define CLINUXSUPPORT_H

/// Pins the calling thread to one CPU (sched_setaffinity(2)). Returns 0 or an errno value.
int clinux_pin_current_thread(int cpu);

/// Writes the CPUs the calling thread may run on into `cpus` (at most `max`), ascending; returns how many, or -errno.
int clinux_allowed_cpus(int *cpus, int max);

/// The CPU the calling thread runs on now (sched_getcpu(3)), or -1.
int clinux_current_cpu(void);

/// Names the calling thread (at most 15 bytes are kept; pthread_setname_np(3)). Returns 0 or an errno value.
int clinux_name_current_thread(const char *name);

/// Raises the calling thread: SCHED_FIFO at `rt_priority` when permitted, else nice `fallback_nice`.
/// Returns 2 (real-time granted), 1 (nice granted) or 0 (unchanged).
int clinux_raise_current_thread(int rt_priority, int fallback_nice);

/// Gives the heap's free memory back to the kernel (glibc malloc_trim(0)): after a burst, freed blocks otherwise
/// stay in the process's resident set. Returns 1 if memory was released, 0 if not.
int clinux_release_free_memory(void);

/// Bounds glibc malloc for a long-running daemon (mallopt(3)): at most `arena_max` arenas (one per thread by default,
/// up to 8 per CPU, each keeping its own freed memory) and a fixed `mmap_threshold` (blocks this large or larger get
/// their own mapping, returned to the kernel on free; a fixed value also stops glibc from raising it after a large
/// free, which sends later large buffers into the arenas). A value <= 0 leaves that setting alone.
/// Returns a bit set: 1 if the arena limit was applied, 2 if the threshold was.
int clinux_tune_malloc(int arena_max, int mmap_threshold);

/// The heap as glibc malloc sees it (mallinfo2(3)): bytes in use by the program, and bytes malloc holds from the
/// kernel (in use plus free blocks not yet returned), both including blocks that have their own mapping.
void clinux_heap_usage(unsigned long long *in_use, unsigned long long *held);

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/// Asks the kernel to timestamp received packets (SO_TIMESTAMPNS). Returns 0 or an errno value.
int clinux_enable_receive_timestamps(int fd);

/// recvmsg(2) of one datagram/frame into `buffer`, with the source address in `address` (`*address_length` in/out)
/// and the kernel's receive time (CLOCK_REALTIME) in `*seconds`/`*nanoseconds` (both -1 when the kernel gave none).
/// Returns the full length of the packet (MSG_TRUNC semantics, may exceed `capacity`) or -1 with errno set.
ssize_t clinux_receive_timestamped(int fd, void *buffer, size_t capacity, int flags, void *address,
                                   socklen_t *address_length, int64_t *seconds, int64_t *nanoseconds);

#endif
