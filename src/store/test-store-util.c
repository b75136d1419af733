/*
 * What the store's IMAP and search tests share (test-store.h): messages
 * parsed by the real MIME parser, delivering and appending them, reading
 * a mailbox's numbers and a search's answer, SQL on the store's database
 * with a connection of the test's own, and three sample messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "mail/mime.h"
#include "store/store.h"
#include "store/test-store.h"

void parse(struct parsed *p, const char *text)
{
	struct mime_limits limits;
	const char *error = NULL;

	mime_limits_default(&limits);
	p->parser = mime_parser_new(&limits);
	assert_non_null(p->parser);
	p->iov.iov_base = (void *)text;
	p->iov.iov_len = strlen(text);
	if (mime_parser_feed(p->parser, text, p->iov.iov_len, &error) < 0 ||
	    mime_parser_finish(p->parser, &p->msg, &error) < 0)
		fail_msg("mime parser: %s", error);
}

void parsed_free(struct parsed *p)
{
	mime_parser_free(&p->parser);
}

struct store *new_store(const struct test_dir *d)
{
	struct store *store = NULL;
	const char *error = NULL;
	if (store_create(d->path, &error) != 0 || store_open(d->path, &store, &error) != 0)
		fail_msg("store: %s", error);
	return store;
}

/* put delivers text to mailbox (a new delivery key each time), returns
 * the UID. */
uint32_t put(struct store *store, const char *mailbox, const char *text)
{
	static unsigned serial;
	char key[32];
	struct parsed p;
	const char *error = NULL;
	uint32_t uid = 0;
	bool dup;

	snprintf(key, sizeof(key), "q%u", ++serial);
	parse(&p, text);
	if (store_deliver(store, mailbox, key, &p.iov, 1, p.msg, 1700000000, &uid, &dup,
			  &error) != 0)
		fail_msg("store_deliver: %s", error);
	parsed_free(&p);
	return uid;
}

/* append appends one message; returns the store's status. */
int append(struct store *store, const char *mailbox, const char *text, uint32_t flags,
		  uint64_t keywords, uint32_t *uid_r)
{
	struct parsed p;
	const char *error = NULL;
	uint32_t uidvalidity = 0;

	parse(&p, text);
	struct store_append_msg m = { &p.iov, 1, p.msg, flags, keywords, 1600000000 };
	int ret = store_append(store, mailbox, &m, 1, &uidvalidity, uid_r, &error);
	parsed_free(&p);
	return ret;
}

/* box gets a mailbox (its name freed: only the numbers are meant). */
struct store_mailbox box(struct store *store, const char *name)
{
	struct store_mailbox m;
	const char *error = NULL;
	if (store_mailbox_get(store, name, &m, &error) != STORE_OK)
		fail_msg("store_mailbox_get(%s): %s", name, error);
	free(m.name);
	m.name = NULL;
	return m;
}

/* search runs store_text_search and gives "1,3,7" (or "" for none). */
const char *search(struct store *store, const char *mailbox,
			  enum store_text_field field, const char *text)
{
	static char out[256];
	const char *error = NULL;
	uint32_t *uids;
	size_t n, len = 0;

	if (store_text_search(store, mailbox, field, text, &uids, &n, &error) != STORE_OK)
		fail_msg("store_text_search(%s): %s", text, error);
	out[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(out) - 16; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%u", i ? "," : "", uids[i]);
	free(uids);
	return out;
}

/* index_all: see test-store.h. */
unsigned index_all(struct store *store)
{
	const char *error = NULL;
	unsigned turns = 0;
	bool more = true;

	while (more) {
		if (store_index_backlog(store, STORE_INDEX_TURN_MAX, &more, &error) != STORE_OK)
			fail_msg("store_index_backlog: %s", error);
		turns++;
	}
	return turns;
}

/* sql_int runs a query on the store's database with its own connection. */
int64_t sql_int(const struct test_dir *d, const char *sql)
{
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/store.db", d->path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void sql_exec(const struct test_dir *d, const char *sql)
{
	char path[4096];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/store.db", d->path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

const char plain[] = "From: Alice Example <alice@example.org>\r\n"
			    "To: bob@example.net\r\n"
			    "Cc: Carol <carol@example.com>\r\n"
			    "Bcc: dave@hidden.example\r\n"
			    "X-Tracking: zebra-crossing-42\r\n"
			    "Subject: Quarterly Report \"quoted\"\r\n"
			    "\r\n"
			    "The budget figures are attached.\r\n";

const char alternative[] =
	"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>\r\n"
	"To: team@example.de\r\n"
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=\"utf-8\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"R3LDvMOfZSBhdXMgS8O2bG4K\r\n" /* "Grüße aus Köln\n" */
	"--b1\r\n"
	"Content-Type: text/html; charset=us-ascii\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<p>some <b>bold=20words</b> he=\r\n"
	"re</p>\r\n"
	"--b1--\r\n";

const char latin1[] =
	"From: shop@example.fr\r\n"
	"Subject: menu\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"m\"\r\n"
	"\r\n"
	"--m\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"caf=E9 cr=E8me br=FBl=E9e\r\n"
	"--m\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0d29yZA==\r\n" /* "secretword": not text, not indexed */
	"--m--\r\n";
