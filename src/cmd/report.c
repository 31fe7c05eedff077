/*
 * `infertune report --export-path DIR [--models M1,M2]`: (re)writes the
 * charts and the HTML/PDF reports of an analysis from its results.db alone,
 * for a finished or an interrupted run, and prints where they are.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "report/report.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: infertune report --export-path DIR [--models M1,M2] [--time ISO] [--no-pdf]\n"
	"\n"
	"Writes, from DIR/results.db (the export path of `infertune analyze`), for each\n"
	"model DIR/reports/<model>/report.html (self-contained), report.pdf and the\n"
	"charts as charts/<name>.png and .svg. Works on the results of an interrupted\n"
	"analysis too. The same database gives byte-identical files.\n"
	"\n"
	"  -e, --export-path DIR   the analysis's export folder (default .)\n"
	"  --models M1,M2          only these models (default: every model)\n"
	"  --time ISO              the report's date (default: INFERTUNE_REPORT_TIME,\n"
	"                          else the end of the latest run in results.db)\n"
	"  --png-width PX          width of the PNG charts (default 1080)\n"
	"  --no-pdf                skip the PDF\n"
	"\n"
	"Exit status: 0 written; 1 a file could not be written; 2 bad flags or no\n"
	"results.db or no such model.\n";

enum { OPT_MODELS = 256, OPT_TIME, OPT_PNG_WIDTH, OPT_NO_PDF };

static const struct option long_options[] = {
	{ "export-path", required_argument, NULL, 'e' },
	{ "models", required_argument, NULL, OPT_MODELS },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "png-width", required_argument, NULL, OPT_PNG_WIDTH },
	{ "no-pdf", no_argument, NULL, OPT_NO_PDF },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Splits "a,b" into a NULL-free array of owned strings. */
static char **split_list(const char *s, size_t *n)
{
	char **v = NULL;
	size_t alloc = 0;

	*n = 0;
	while (*s) {
		size_t len = strcspn(s, ",");

		if (len) {
			XGROW(v, alloc, *n + 1);
			v[(*n)++] = xstrndup(s, len);
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return v;
}

static void print_written(void *ctx, const char *model, const char *html_path)
{
	(void)ctx;
	printf("%s: %s\n", model, html_path);
}

int cmd_report(int argc, char **argv)
{
	struct report_options o;
	struct it_error err;
	const char *export_path = ".";
	char **models = NULL, *end;
	size_t n_models = 0;
	int c, rc, status = EXIT_OK;

	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":e:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			export_path = optarg;
			break;
		case OPT_MODELS:
			for (size_t i = 0; i < n_models; i++)
				free(models[i]);
			free(models);
			models = split_list(optarg, &n_models);
			break;
		case OPT_TIME:
			o.time_iso = optarg;
			break;
		case OPT_PNG_WIDTH:
			o.png_width_px = (int)strtol(optarg, &end, 10);
			if (*end || o.png_width_px < 200 || o.png_width_px > 8000) {
				fprintf(stderr, "infertune report: --png-width: expected 200..8000 pixels, got '%s'\n",
					optarg);
				status = EXIT_USAGE;
				goto out;
			}
			break;
		case OPT_NO_PDF:
			o.skip_pdf = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		case ':':
			fprintf(stderr, "infertune report: %s needs a value\n", argv[optind - 1]);
			status = EXIT_USAGE;
			goto out;
		default:
			fprintf(stderr, "infertune report: unknown option '%s'\n%s",
				argv[optind - 1], usage_text);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "infertune report: unexpected argument '%s'\n%s", argv[optind],
			usage_text);
		status = EXIT_USAGE;
		goto out;
	}
	o.on_written = print_written;
	rc = report_write(export_path, (const char *const *)models, n_models, &o, &err);
	if (rc) {
		cmd_print_error(&err);
		status = rc == IT_ERR_IO ? EXIT_FAILURE_RUN : EXIT_USAGE;
		goto out;
	}
out:
	for (size_t i = 0; i < n_models; i++)
		free(models[i]);
	free(models);
	report_global_cleanup();
	return status;
}
