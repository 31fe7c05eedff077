/*
 * Fuzz target: the protobuf text-format parser (pbtxt/). Any input either
 * parses, and then its canonical text parses to an equal tree and prints
 * to the same bytes, or fails with a message at a line and column inside
 * the input.
 */
#include "fuzz.h"

#include <string.h>

#include "pbtxt/pbtxt.h"
#include "util/error.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct it_error err = { 0 };
	struct pbtxt_node *tree, *again;
	struct strbuf t1, t2;

	tree = pbtxt_parse(text, size, "fuzz.pbtxt", &err);
	if (!tree) {
		fuzz_check_error_at(&err, "fuzz.pbtxt", text, size);
		return 0;
	}
	strbuf_init(&t1, 0);
	strbuf_init(&t2, 0);
	FUZZ_CHECK(pbtxt_print(tree, &t1) == 0, "a parsed tree prints");
	again = pbtxt_parse(t1.buf, t1.len, "canonical.pbtxt", &err);
	FUZZ_CHECK(again != NULL, "canonical text parses");
	FUZZ_CHECK(pbtxt_node_equal(tree, again), "canonical text parses to an equal tree");
	FUZZ_CHECK(pbtxt_print(again, &t2) == 0, "a parsed tree prints");
	FUZZ_CHECK(t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len),
		   "canonical text is a fixpoint");
	pbtxt_node_free(again);
	pbtxt_node_free(tree);
	strbuf_release(&t2);
	strbuf_release(&t1);
	return 0;
}
