#ifndef RAVELIN_TEST_IMAP_FETCH_FIXTURE_H
#define RAVELIN_TEST_IMAP_FETCH_FIXTURE_H
/*
 * test-imap-fetch-fixture: what the FETCH unit tests share: messages
 * parsed as delivery parses them into a store meta and a file, FETCH
 * commands parsed into plans, and the checks of their answers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-fetch.h"
#include "imap-proto/imap-parser.h"
#include "lib/buf.h"
#include "lib/pool.h"

/* 1996-07-17 09:44:25 UTC, RFC 9051's example date (02:44:25 -0700). */
#define TEST_INTERNALDATE 837596665

/* One message: parsed, turned into the store's meta, written to a file. */
struct message {
	struct pool *pool;
	struct store_message_meta meta;
	int fd;
	char *data;
	size_t size;
	const char *const *keywords;
	size_t keyword_count;
};

/* message_open parses data (LF made CRLF unless raw) as delivery would
 * and fills the store_message_meta by hand, as store.c does from the parse. */
void message_open(struct message *m, const char *text, size_t n, bool raw);
#define OPEN(m, text) message_open((m), (text), sizeof(text) - 1, false)
#define OPEN_RAW(m, text) message_open((m), (text), sizeof(text) - 1, true)

/* message_read is the content's read function: the file, as the store's
 * reader gives it. */
int message_read(void *ctx, uint64_t offset, void *buf, size_t len, size_t *read_r,
		 const char **error_r);

void message_close(struct message *m);

/* A parsed FETCH command and its plan. */
struct command {
	struct imap_parser *parser;
	struct pool *pool;
	struct imap_fetch_plan *plan;
};

/* command_parse parses "FETCH 1 <items>" (or UID FETCH) and its plan;
 * returns imap_fetch_parse's result (error in *error_r). */
int command_parse(struct command *c, const char *items, bool uid, const char **error_r);

void command_free(struct command *c);

/* What differs between runs of one message. */
struct options {
	bool uid;
	bool condstore;
	bool flags_changed;
	size_t out_max;
};

/* run fetches items of m into out; returns imap_fetch_write's result. */
int run(struct message *m, const char *items, const struct options *o, struct buf *out,
	const char **error_r);

/* show writes bytes for a failure message, with CR, LF and NUL visible. */
const char *show(const char *p, size_t n, char *to, size_t size);

/* expect checks that fetching items answers exactly want (n bytes). */
void expect_opt(struct message *m, const char *items, const struct options *o,
		const char *want, size_t n);
#define EXPECT(m, items, want) expect_opt((m), (items), &plain, (want), sizeof(want) - 1)
#define EXPECT_OPT(m, items, o, want) expect_opt((m), (items), (o), (want), sizeof(want) - 1)

/* expect_error checks that fetching items fails with status and appends nothing. */
void expect_error(struct message *m, const char *items, int status);

/* needs_of gives what the plan of items needs (the test fails unless
 * they parse). */
void needs_of(const char *items, bool uid, struct imap_fetch_needs *needs);

/* fetch_text fetches items of m into a new string (the test fails unless
 * it succeeds). */
char *fetch_text(struct message *m, const char *items);

/* No option: what most answers are fetched with. */
extern const struct options plain;

#endif
