#ifndef RAVELIN_MIME_TREE_H
#define RAVELIN_MIME_TREE_H
/*
 * mime-tree: the parser's internal part tree, shared by mime.c (which
 * builds it), mime-header.c (which fills a node from its header block) and
 * imap-bodystructure.c (which writes it out).  Not a public interface.
 */
#include <stdbool.h>
#include <stdint.h>

#include "imap-envelope.h"
#include "lib/str.h"
#include "rfc2231.h"

/* Content-* fields of one part, raw and unfolded; ptr NULL when absent. */
struct mime_content {
	struct str type;    /* as written; ptr NULL when Content-Type is absent or invalid */
	struct str subtype;
	struct mime_param *params;
	unsigned param_count;
	struct str id;
	struct str description;
	struct str encoding;
	struct str md5;
	struct str location;
	struct str disposition;
	struct mime_param *disposition_params;
	unsigned disposition_param_count;
	struct str *languages;
	unsigned language_count;
	bool seen_mime_version;  /* MIME-Version: present */
	bool seen_content_type;  /* Content-Type: present, even if broken */
};

struct mime_node {
	struct mime_node *parent;
	struct mime_node *first_child;
	struct mime_node *last_child;
	struct mime_node *next;
	struct mime_content content;
	/* Root and embedded messages only: envelope fields and References. */
	struct imap_envelope *envelope;
	struct str references;

	uint64_t header_offset;
	uint64_t header_size;
	uint64_t body_offset;
	uint64_t body_size;
	uint64_t body_lines;
	uint64_t body_lines_start; /* message line count where the body began */
	unsigned depth;
	unsigned child_count;

	bool is_message;   /* root, or the message inside a message/rfc822 part */
	bool is_multipart; /* body holds parts between boundaries */
	bool is_rfc822;    /* body holds a message (the only child) */
	bool is_text;      /* text/... (BODYSTRUCTURE writes line counts) */
};

#endif
