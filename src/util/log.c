/*
 * Log lines to stderr. Each line is formatted into one buffer and written
 * with a single write(2), so lines from concurrent threads never interleave.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

static int verbose_level;

void log_set_verbose(int level)
{
	verbose_level = level < 0 ? 0 : level;
}

int log_verbose_enabled(int level)
{
	return level <= verbose_level;
}

void log_write(enum log_level level, int verbose, const char *fmt, ...)
{
	static const char tag[] = { 'E', 'W', 'I', 'V' };
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	if (level == LOG_VERBOSE && !log_verbose_enabled(verbose))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	k = snprintf(line, sizeof(line), "%c%02d%02d %02d:%02d:%02d.%06ld ",
		     tag[level], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
	n = k > 0 ? (size_t)k : 0;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
	line[n++] = '\n';
	/* Best effort: a closed stderr must not take the server down. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
