#ifndef RAVELIN_STORE_MEM_H
#define RAVELIN_STORE_MEM_H
/*
 * store-mem: what tests may ask of the in-memory backend beyond store.h
 * (store_backend_use("mem") chooses it).  Every call here takes a store
 * opened with that backend.
 */
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* The calls counted (for tests that check what a command costs). */
enum store_mem_call {
	STORE_MEM_TEXT_SEARCH,
	STORE_MEM_MESSAGE_META,
	/* A message's content opened: store_message_open or store_reader_open,
	 * so a caller may move from one to the other. */
	STORE_MEM_CONTENT_OPEN,
	STORE_MEM_CALLS
};

/* store_mem_calls gives the counter of call on store: how often it was
 * made since the store was opened or the test last set it (to 0). */
unsigned *store_mem_calls(struct store *store, enum store_mem_call call);

/* store_mem_fail_search makes every store_text_search for exactly text
 * fail with STORE_ERROR and error (text NULL: none fails).  0 or -1. */
int store_mem_fail_search(struct store *store, const char *text, const char *error);

/* store_mem_slow_search makes every store_text_search for exactly text
 * spend ms of CPU first, as a costly index look-up would (text NULL:
 * none is slow).  0 or -1. */
int store_mem_slow_search(struct store *store, const char *text, unsigned ms);

/* store_mem_hide keeps message uid of mailbox in lists and ranges but has
 * store_message_meta, store_message_open and store_reader_open answer
 * that it is not there (as when it is expunged between two calls).
 * 0, or -1 when there is no such message. */
int store_mem_hide(struct store *store, const char *mailbox, uint32_t uid, bool hidden);

/* A message put with its pre-parsed answers as given (no MIME parse). */
struct store_mem_message {
	struct store_message m;        /* uid above the mailbox's others; hash unused */
	const char *content;           /* all of it a header: parts[0] */
	const char *envelope;
	const char *subject, *from, *to, *cc, *bcc, *body;   /* NULL: "" */
	const char *message_id, *in_reply_to, *references;  /* NULL: "" */
	int64_t sent_date;             /* -1: none */
};

/* store_mem_put adds m to mailbox as it is (UID, flags, keywords, size
 * and MODSEQ included; UIDNEXT and HIGHESTMODSEQ follow).  0 or -1. */
int store_mem_put(struct store *store, const char *mailbox, const struct store_mem_message *m);

#endif
