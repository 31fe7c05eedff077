/*
 * Protocol-buffer text format (the syntax of Triton's config.pbtxt), parsed
 * without a schema into a tree that remembers the line and column of every
 * node, and printed back in one canonical form. Field names, types and
 * defaults are the business of model/schema; this module knows only syntax.
 * Depends on util/ only.
 */
#ifndef INFERTUNE_PBTXT_PBTXT_H
#define INFERTUNE_PBTXT_PBTXT_H

#include <stdbool.h>
#include <stddef.h>

struct it_error;
struct strbuf;

/** Deepest message nesting accepted; deeper input is an error, never a stack overflow. */
#define PBTXT_MAX_DEPTH 64
/** Largest input pbtxt_parse() accepts. */
#define PBTXT_MAX_INPUT_BYTES ((size_t)16 << 20)

enum pbtxt_kind {
	PBTXT_MESSAGE, /* `name { ... }`, `name: { ... }`, `name < ... >`, or the root */
	PBTXT_STRING,  /* quoted string(s): `value` holds the decoded bytes (may contain NUL) */
	PBTXT_NUMBER,  /* `value` holds the token text as written, with a leading '-' if any:
			  "16", "-1", "0x1F", "017", "1.5", "1e-3", "1.5f", "-inf" */
	PBTXT_IDENT,   /* bare identifier: enum names, true/false, inf, nan */
	PBTXT_EMPTY_LIST, /* `name: []`: the field was named with no element. Kept only
			     so the schema can check the name; printing skips it,
			     equality ignores it, schema_normalize() removes it. */
};

/**
 * One field occurrence. A list `dims: [1, 2]` becomes two sibling nodes named
 * "dims" (the tree does not record which syntax was used; order is kept).
 * Children of a message are in input order. Every node owns its name, value
 * and children.
 */
struct pbtxt_node {
	char *name;             /* field name; NULL for the root */
	enum pbtxt_kind kind;
	char *value;            /* scalars: NUL-terminated; NULL for messages */
	size_t value_len;       /* bytes in value, excluding the terminator */
	struct pbtxt_node **children; /* messages only */
	size_t n_children;
	size_t alloc_children;
	int line;               /* 1-based position of the field name (root: 1) */
	int col;
	int value_line;         /* position of the value token (scalars) or of '{' / '<' (messages) */
	int value_col;
	int list_line;          /* position of the '[' when the node came from a list; 0 otherwise */
	int list_col;
};

/**
 * Parses text (len bytes, need not be NUL-terminated) into a root message
 * node. `filename` is used only in error messages. On error returns NULL and
 * fills err with "file:line:col" and a message naming what was expected and
 * what was found. Never crashes, never recurses deeper than PBTXT_MAX_DEPTH.
 * Caller frees the result with pbtxt_node_free().
 */
struct pbtxt_node *pbtxt_parse(const char *text, size_t len,
			       const char *filename, struct it_error *err);

/** Frees a node and everything under it; NULL is a no-op. */
void pbtxt_node_free(struct pbtxt_node *node);

/** New empty message node (name may be NULL for a root). Caller frees. */
struct pbtxt_node *pbtxt_node_new_message(const char *name);
/** New scalar node holding a copy of value[0..len). Caller frees. */
struct pbtxt_node *pbtxt_node_new_scalar(const char *name, enum pbtxt_kind kind,
					 const char *value, size_t len);
/** Deep copy, positions included. Caller frees. */
struct pbtxt_node *pbtxt_node_clone(const struct pbtxt_node *node);

/** Appends child to parent (a message); parent takes ownership. */
void pbtxt_node_append(struct pbtxt_node *parent, struct pbtxt_node *child);
/** Inserts child at index (<= n_children); parent takes ownership. */
void pbtxt_node_insert(struct pbtxt_node *parent, size_t index,
		       struct pbtxt_node *child);
/** Removes and frees the child at index. */
void pbtxt_node_remove(struct pbtxt_node *parent, size_t index);
/** Removes and frees every child named `name`; returns how many. */
size_t pbtxt_node_remove_all(struct pbtxt_node *parent, const char *name);

/** First child named `name` (empty-list markers excluded), or NULL. */
struct pbtxt_node *pbtxt_node_find(const struct pbtxt_node *parent,
				   const char *name);
/** Number of children named `name` (empty-list markers excluded). */
size_t pbtxt_node_count(const struct pbtxt_node *parent, const char *name);

/** Replaces the value of a scalar node with a copy of value[0..len). */
void pbtxt_node_set_value(struct pbtxt_node *node, enum pbtxt_kind kind,
			  const char *value, size_t len);

/**
 * Structural equality: names, kinds, values and child order; positions and
 * PBTXT_EMPTY_LIST markers ignored.
 */
bool pbtxt_node_equal(const struct pbtxt_node *a, const struct pbtxt_node *b);

/**
 * Appends the canonical text of a root message's children to out: one field
 * per line, `name: value` for scalars and `name {` ... `}` for messages,
 * two-space indentation, strings double-quoted with C escapes (non-printable
 * and non-ASCII bytes as three-digit octal), numbers and identifiers as
 * stored. This is the repeated-line form that Python's text_format (and so
 * Model Analyzer) writes. pbtxt_parse(pbtxt_print(x)) is equal to x.
 * Returns 0 or IT_ERR_LIMIT.
 */
int pbtxt_print(const struct pbtxt_node *root, struct strbuf *out);

/** Appends value as a double-quoted, escaped text-format string literal. */
int pbtxt_quote(struct strbuf *out, const char *value, size_t len);

#endif
