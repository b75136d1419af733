#ifndef RAVELIN_MIME_TREE_H
#define RAVELIN_MIME_TREE_H
/*
 * mime-tree: the part tree the parser builds (mime.c) and fills from each
 * header block (mime-header.c).  A finished parse hands out its root
 * (struct mime_message's root), read-only, for whatever a protocol writes
 * about a message: IMAP's ENVELOPE and BODYSTRUCTURE are written from it
 * in src/imap-format.  The tree lives as long as the parser.
 */
#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "lib/str.h"
#include "rfc2231.h"

/* The address fields of a message's header, in the order RFC 3501 7.4.2
 * lists them. */
enum mime_envelope_list {
	MIME_ENVELOPE_FROM,
	MIME_ENVELOPE_SENDER,
	MIME_ENVELOPE_REPLY_TO,
	MIME_ENVELOPE_TO,
	MIME_ENVELOPE_CC,
	MIME_ENVELOPE_BCC,
	MIME_ENVELOPE_LIST_COUNT
};

/* A message's envelope fields: raw, unfolded header values (ptr NULL when
 * the header is absent) and the parsed address lists. */
struct mime_envelope {
	struct str date;
	struct str subject;
	struct str in_reply_to;
	struct str message_id;
	struct address *head[MIME_ENVELOPE_LIST_COUNT];
	struct address *tail[MIME_ENVELOPE_LIST_COUNT];
};

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
	struct mime_envelope *envelope;
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
