/*
 * Thread helpers shared by the threads that wait with a deadline (the
 * scheduler, the load generator's workers, the sampler, the HTTP deadline
 * checker). Depends on nothing but libc.
 */
#ifndef INFERTUNE_UTIL_THREAD_H
#define INFERTUNE_UTIL_THREAD_H

#include <pthread.h>

/**
 * Initialises *cv so that pthread_cond_timedwait() takes CLOCK_MONOTONIC
 * deadlines: a wall clock that jumps (NTP, a user's date) neither wakes a
 * waiter early nor keeps it asleep. Destroy with pthread_cond_destroy().
 */
void cond_init_monotonic(pthread_cond_t *cv);

#endif
