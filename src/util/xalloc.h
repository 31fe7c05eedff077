/*
 * Allocation that cannot fail: out-of-memory prints one line to stderr and
 * aborts (as redis' zmalloc does). Everything else in infertune is handled.
 */
#ifndef INFERTUNE_UTIL_XALLOC_H
#define INFERTUNE_UTIL_XALLOC_H

#include <stddef.h>

/** malloc(size) or abort; size 0 returns a unique non-NULL pointer. */
void *xmalloc(size_t size);
/** calloc(n, size) or abort; checks n * size for overflow. */
void *xcalloc(size_t n, size_t size);
/** realloc or abort. */
void *xrealloc(void *ptr, size_t size);
/** realloc(ptr, n * size) or abort; checks the product for overflow. */
void *xreallocarray(void *ptr, size_t n, size_t size);
/** strdup or abort; xstrdup(NULL) returns NULL. Caller frees. */
char *xstrdup(const char *s);
/** Copy of the first n bytes of s plus a NUL. Caller frees. */
char *xstrndup(const char *s, size_t n);
/** Copy of n bytes plus a terminating NUL (data may hold NULs). Caller frees. */
char *xmemdup(const void *data, size_t n);

/**
 * Grows *array (of *alloc elements of elem_size bytes) so that it holds at
 * least `need` elements; doubles to keep appends amortised O(1).
 */
void xgrow(void **array, size_t *alloc, size_t need, size_t elem_size);

#define XGROW(array, alloc, need) \
	xgrow((void **)&(array), &(alloc), (need), sizeof(*(array)))

#endif
