/*
 * The log of the server and its backends: one line per event on stderr, Triton's glog-like shape
 * ("I1126 04:01:02.123456 message"). Errors, warnings and info lines always
 * print; verbose lines print when their level is at most --log-verbose.
 * Never writes to stdout. Depends on libc only.
 */
#ifndef INFERTUNE_UTIL_LOG_H
#define INFERTUNE_UTIL_LOG_H

enum log_level {
	LOG_ERROR,
	LOG_WARNING,
	LOG_INFO,
	LOG_VERBOSE, /* with a verbosity level >= 1 */
};

/** Sets the verbose level (--log-verbose); 0 (the default) hides verbose lines. Not thread-safe against log_write(); call at start. */
void log_set_verbose(int level);

/** True when verbose lines of `level` print. */
int log_verbose_enabled(int level);

/**
 * Writes one line (a trailing newline is added). `verbose` is the verbose
 * level for LOG_VERBOSE and ignored otherwise. Thread-safe: one write(2) per line.
 */
void log_write(enum log_level level, int verbose, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_write(LOG_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, 0, __VA_ARGS__)
#define log_verbose(n, ...) \
	do { \
		if (log_verbose_enabled(n)) \
			log_write(LOG_VERBOSE, (n), __VA_ARGS__); \
	} while (0)

#endif
