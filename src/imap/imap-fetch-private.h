#ifndef RAVELIN_IMAP_FETCH_PRIVATE_H
#define RAVELIN_IMAP_FETCH_PRIVATE_H
/*
 * The plan of a FETCH, shared by its parsing (imap-fetch-parse.c) and
 * its answers (imap-fetch.c).
 */
#include "imap-fetch.h"

/* The FETCH items that are not sections; bit (1 << kind) in plan->asked. */
enum fetch_kind {
	FETCH_FLAGS,
	FETCH_UID,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY,          /* the structure, non-extensible */
	FETCH_BODYSTRUCTURE,
	FETCH_MODSEQ,
	FETCH_RFC822,
	FETCH_RFC822_HEADER,
	FETCH_RFC822_TEXT,
	FETCH_SECTION,       /* BODY[...], BINARY[...], BINARY.SIZE[...] */
};

struct fetch_item {
	enum fetch_kind kind;
	const struct imap_section *section; /* FETCH_SECTION */
	struct str answer;                  /* FETCH_SECTION: "BODY[1.MIME]<0>" */
};

struct imap_fetch_plan {
	struct fetch_item *items;
	size_t count;
	unsigned asked;      /* 1 << enum fetch_kind of the simple items */
	bool uid_first;      /* UID FETCH without UID in the list */
	struct imap_fetch_needs needs;
};

#endif
