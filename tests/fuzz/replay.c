/*
 * Replays a fuzz target's inputs without libFuzzer, for the normal test
 * suite (and its ASan+UBSan pass): every file of the corpus folder (which
 * must hold at least one) and of the crashers folder (which may be missing
 * or empty) is fed once to LLVMFuzzerTestOneInput(), in name order. A
 * violated property abort()s, so a crash once fixed stays fixed.
 * Usage: fuzz_replay_TARGET CORPUS_DIR [CRASHERS_DIR]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "targets/fuzz.h"
#include "util/error.h"
#include "util/fs.h"

/* libFuzzer's default -max_len is far below this; a larger file is a mistake. */
#define REPLAY_MAX_INPUT_BYTES ((size_t)1 << 20)

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feeds every regular file of dir; returns how many, or -1 on an error. */
static long replay_dir(const char *dir, int missing_ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	long fed = 0;

	if (!d) {
		if (missing_ok)
			return 0;
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			names = realloc(names, alloc * sizeof(*names));
			if (!names)
				abort();
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && fed >= 0; i++) {
		char path[4096];
		struct it_error err = { 0 };
		char *data = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (fs_read_file(path, REPLAY_MAX_INPUT_BYTES, &data, &len, &err)) {
			fprintf(stderr, "%s: %s\n", path, err.message);
			fed = -1;
			break;
		}
		fprintf(stderr, "replaying %s\n", path);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		free(data);
		fed++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return fed;
}

int main(int argc, char **argv)
{
	long corpus, crashers = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR [CRASHERS_DIR]\n", argv[0]);
		return 2;
	}
	corpus = replay_dir(argv[1], 0);
	if (corpus == 0)
		fprintf(stderr, "%s: no inputs (the corpus was lost?)\n", argv[1]);
	if (argc == 3)
		crashers = replay_dir(argv[2], 1);
	if (corpus <= 0 || crashers < 0)
		return 1;
	printf("replayed %ld corpus inputs and %ld crashers\n", corpus, crashers);
	return 0;
}
