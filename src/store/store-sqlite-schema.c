/*
 * store-sqlite-schema: the database's schema, version by version, the
 * migrations that take an older store to the current version, and the SQL
 * of every kept statement (prepared once per store, on first use).
 */
#include "store-sqlite.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* STMT_MAILBOX_LIST counts unseen messages as those without bit 1. */
_Static_assert(STORE_FLAG_SEEN == 1, "STMT_MAILBOX_LIST hard-codes the \\Seen bit");

/* A short search's scan of the fields named by the SEARCH_IN()s. */
#define SEARCH_SCAN(fields)                                                          \
	"SELECT m.uid FROM messages m CROSS JOIN fts ON fts.rowid = m.id"            \
	" WHERE m.mailbox_id = ?1 AND (0" fields ") ORDER BY m.uid"
#define SEARCH_IN(column) " OR instr(lower(fts." column "), lower(?2)) > 0"

const char *const sqlite_stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	/* One savepoint per delivery in a batch: a failed one is undone alone. */
	[STMT_SAVEPOINT] = "SAVEPOINT delivery",
	[STMT_RELEASE] = "RELEASE delivery",
	[STMT_ROLLBACK_TO] = "ROLLBACK TO delivery",
	[STMT_DELIVERY_GET] = "SELECT uid FROM deliveries WHERE key = ?1",
	[STMT_DELIVERY_INSERT] =
		"INSERT INTO deliveries (key, message_id, mailbox_id, uid, at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[STMT_MAILBOX_GET] = "SELECT id, uidnext, highestmodseq FROM mailboxes WHERE name = ?1",
	[STMT_MAILBOX_ADVANCE] =
		"UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
	[STMT_MAILBOX_LIST] =
		"SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext,"
		" b.highestmodseq, b.subscribed, count(m.id),"
		" coalesce(sum((m.flags & 1) = 0), 0), coalesce(sum(m.size), 0)"
		" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"
		" GROUP BY b.id ORDER BY b.name = 'INBOX' DESC, b.name",
	[STMT_MESSAGE_INSERT] =
		"INSERT INTO messages (mailbox_id, uid, blob, size, internal_date, modseq,"
		" flags, keywords, envelope, body, bodystructure, subject, from_addr, to_addr,"
		" cc_addr, message_id, in_reply_to, refs, sent_date, lines, sent_zone)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?19, ?20, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
		" ?15, ?16, ?17, ?18, ?21)",
	[STMT_MESSAGE_LIST] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 ORDER BY uid",
	[STMT_MESSAGE_BLOB] =
		"SELECT m.blob FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id"
		" WHERE b.name = ?1 AND m.uid = ?2",
	[STMT_PART_INSERT] =
		"INSERT INTO parts (message_id, idx, section, depth, child_count, is_message,"
		" header_offset, header_size, body_offset, body_size, body_lines, content_type)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[STMT_MESSAGE_RANGE] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
	/* One row, VALUES: a statement that may write several rows opens a
	 * statement journal, and with it FTS5 writes out its pending terms. */
	[STMT_FTS_INSERT] =
		"INSERT INTO fts (rowid, subject, from_addr, to_addr, cc_addr, bcc, body, header)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STMT_MESSAGE_FIELDS] =
		"SELECT subject, from_addr, to_addr, cc_addr FROM messages WHERE id = ?1",
	[STMT_FTS_DELETE] = "DELETE FROM fts WHERE rowid = ?1",
	[STMT_FTS_MARK] = "INSERT OR IGNORE INTO fts_pending (id) VALUES (?1)",
	[STMT_FTS_UNMARK] = "DELETE FROM fts_pending WHERE id = ?1",
	/* The backlog, oldest first: all of it (?2 NULL) or one mailbox's.
	 * The pending rows are the outer loop (the backlog is small next to
	 * the mailbox), each joined to its message by rowid. */
	[STMT_FTS_BACKLOG] =
		"SELECT p.id, m.blob, m.size FROM fts_pending p CROSS JOIN messages m"
		" ON m.id = p.id WHERE ?2 IS NULL"
		" OR m.mailbox_id = (SELECT id FROM mailboxes WHERE name = ?2)"
		" ORDER BY p.id LIMIT ?1",
	/* After nearly every IMAP command: only the rows changed since. */
	/* The header copy (schema version 7) comes with the row: FETCH of
	 * header fields then opens no file. */
	[STMT_META_MESSAGE] =
		"SELECT id, uid, flags, modseq, size, internal_date, blob, keywords, envelope, body,"
		" bodystructure, subject, from_addr, to_addr, cc_addr, message_id, in_reply_to,"
		" refs, sent_date, lines, sent_zone,"
		" (SELECT h.header FROM headers h WHERE h.blob = messages.blob)"
		" FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[STMT_META_PARTS] =
		"SELECT section, header_offset, header_size, body_offset, body_size, body_lines,"
		" content_type, depth, child_count, is_message FROM parts WHERE message_id = ?1"
		" ORDER BY idx",
	[STMT_MESSAGE_CHANGED] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" INDEXED BY messages_modseq WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	/* Without INDEXED BY the planner walks every UID ever expunged. */
	[STMT_EXPUNGED_SINCE] =
		"SELECT uid FROM expunged INDEXED BY expunged_modseq"
		" WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
	[STMT_EXPUNGED_ADD] =
		"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)",
	[STMT_MESSAGE_ROW] =
		"SELECT flags, modseq, size, internal_date, blob, keywords, id FROM messages"
		" WHERE mailbox_id = ?1 AND uid = ?2",
	/* COPY: a new row naming the same file, with everything but the
	 * mailbox, UID and MODSEQ as the original's. */
	[STMT_COPY_MESSAGE] =
		"INSERT INTO messages (mailbox_id, uid, blob, size, internal_date, modseq, flags,"
		" keywords, envelope, body, bodystructure, subject, from_addr, to_addr, cc_addr,"
		" message_id, in_reply_to, refs, sent_date, lines, sent_zone)"
		" SELECT ?2, ?3, blob, size, internal_date, ?4, flags, keywords, envelope, body,"
		" bodystructure, subject, from_addr, to_addr, cc_addr, message_id, in_reply_to, refs,"
		" sent_date, lines, sent_zone FROM messages WHERE id = ?1",
	[STMT_COPY_PARTS] =
		"INSERT INTO parts (message_id, idx, section, depth, child_count, is_message,"
		" header_offset, header_size, body_offset, body_size, body_lines, content_type)"
		" SELECT ?2, idx, section, depth, child_count, is_message, header_offset,"
		" header_size, body_offset, body_size, body_lines, content_type FROM parts"
		" WHERE message_id = ?1",
	[STMT_FTS_ROW] =
		"SELECT subject, from_addr, to_addr, cc_addr, bcc, body, header FROM fts"
		" WHERE rowid = ?1",
	[STMT_MOVE_MESSAGE] =
		"UPDATE messages SET mailbox_id = ?2, uid = ?3, modseq = ?4 WHERE id = ?1",
	[STMT_FLAGS_SET] =
		"UPDATE messages SET flags = ?2, keywords = ?3, modseq = ?4 WHERE id = ?1",
	[STMT_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[STMT_LAST_UIDVALIDITY] = "SELECT value FROM meta WHERE key = 'last_uidvalidity'",
	[STMT_HAS_TABLE] = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
	[STMT_SCHEMA_VERSION] = "SELECT value FROM meta WHERE key = 'schema_version'",
	/* Answers with the mode now in force. */
	[STMT_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
	[STMT_QUOTA_LIMIT] = "SELECT value FROM meta WHERE key = 'quota_storage'",
	[STMT_QUOTA_USED] = "SELECT coalesce(sum(size), 0) FROM messages",
	[STMT_MAILBOX_INSERT] =
		"INSERT OR IGNORE INTO mailboxes (name, special_use, uidvalidity,"
		" uidnext, highestmodseq, subscribed, created)"
		" VALUES (?1, ?2, ?3, 1, 1, ?4, ?5)",
	[STMT_MAILBOX_UIDVALIDITY] = "SELECT uidvalidity FROM mailboxes WHERE name = ?1",
	[STMT_MAILBOX_STATUS] =
		"SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext,"
		" b.highestmodseq, b.subscribed,"
		/* One pass over the mailbox's rows for all four counts. */
		" count(m.id), coalesce(sum((m.flags & 1) = 0), 0), coalesce(sum(m.size), 0),"
		" coalesce(sum(m.uid >= b.first_recent), 0)"
		" FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id"
		" WHERE b.name = ?1 GROUP BY b.id",
	[STMT_MAILBOX_COUNT] = "SELECT count(*) FROM mailboxes",
	[STMT_MAILBOX_UNINDEX] =
		"DELETE FROM fts WHERE rowid IN (SELECT id FROM messages WHERE mailbox_id = ?1)",
	[STMT_MAILBOX_DELETE] = "DELETE FROM mailboxes WHERE id = ?1",
	/* A mailbox and its children, by bytes: substr() of a text counts
	 * characters. */
	[STMT_MAILBOX_FAMILY] =
		"SELECT id, name FROM mailboxes WHERE name = ?1"
		" OR substr(CAST(name AS BLOB), 1, ?2) = CAST(?1 || '/' AS BLOB)",
	[STMT_MAILBOX_RENAME] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
	[STMT_MAILBOX_SUBSCRIBE] = "UPDATE mailboxes SET subscribed = ?2 WHERE name = ?1",
	[STMT_SUBSCRIPTION_ADD] = "INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)",
	[STMT_SUBSCRIPTION_REMOVE] = "DELETE FROM subscriptions WHERE name = ?1",
	[STMT_SUBSCRIPTION_COUNT] = "SELECT count(*) FROM subscriptions",
	[STMT_SUBSCRIPTION_LIST] = "SELECT name FROM subscriptions ORDER BY name",
	[STMT_MAILBOX_MODSEQ] = "UPDATE mailboxes SET highestmodseq = ?2 WHERE id = ?1",
	[STMT_RECENT_UNCHANGED] =
		"SELECT CASE WHEN first_recent < uidnext THEN 0 ELSE uidnext END"
		" FROM mailboxes WHERE name = ?1",
	[STMT_RECENT_FIRST] = "SELECT first_recent FROM mailboxes WHERE name = ?1",
	[STMT_RECENT_SET] = "UPDATE mailboxes SET first_recent = ?2 WHERE id = ?1",
	[STMT_MESSAGE_DELETE] = "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2 RETURNING id",
	[STMT_KEYWORD_LIST] = "SELECT bit, name FROM keywords ORDER BY bit",
	[STMT_KEYWORD_ADD] = "INSERT OR IGNORE INTO keywords (bit, name) VALUES (?1, ?2)",
	[STMT_BACKFILL_MESSAGES] = "SELECT id, blob, size FROM messages ORDER BY id",
	[STMT_BACKFILL_PARTS] =
		"SELECT header_offset, header_size, body_offset, body_size, child_count,"
		" is_message, content_type FROM parts WHERE message_id = ?1 ORDER BY idx",
	/*
	 * Searches (?1 the mailbox id, ?2 the text).  From three characters
	 * on, the FTS5 trigram index answers: the text as one phrase (quotes
	 * doubled, so nothing in it is query syntax) matches as a substring,
	 * case-insensitively.  A shorter text has no trigram: the mailbox's
	 * indexed rows are scanned with instr(), which folds ASCII case only.
	 * The index is read first (CROSS JOIN), then each hit's message.
	 */
	[STMT_SEARCH_MATCH] =
		"SELECT m.uid FROM fts CROSS JOIN messages m ON m.id = fts.rowid"
		" WHERE fts MATCH ?2 AND m.mailbox_id = ?1 ORDER BY m.uid",
	[STMT_SEARCH_SCAN + STORE_TEXT_SUBJECT] = SEARCH_SCAN(SEARCH_IN("subject")),
	[STMT_SEARCH_SCAN + STORE_TEXT_FROM] = SEARCH_SCAN(SEARCH_IN("from_addr")),
	[STMT_SEARCH_SCAN + STORE_TEXT_TO] = SEARCH_SCAN(SEARCH_IN("to_addr")),
	[STMT_SEARCH_SCAN + STORE_TEXT_CC] = SEARCH_SCAN(SEARCH_IN("cc_addr")),
	[STMT_SEARCH_SCAN + STORE_TEXT_BCC] = SEARCH_SCAN(SEARCH_IN("bcc")),
	[STMT_SEARCH_SCAN + STORE_TEXT_BODY] = SEARCH_SCAN(SEARCH_IN("body")),
	/* IMAP TEXT: the whole header (decoded and as received) and the body. */
	[STMT_SEARCH_SCAN + STORE_TEXT_ANY] = SEARCH_SCAN(
		SEARCH_IN("subject") SEARCH_IN("from_addr") SEARCH_IN("to_addr")
		SEARCH_IN("cc_addr") SEARCH_IN("bcc") SEARCH_IN("body") SEARCH_IN("header")),
	/* SELECT (sqlite_mailbox_view): the mailbox row, then its UIDs from
	 * the (mailbox_id, uid) index alone and the first unseen one from the
	 * partial index messages_unseen (schema version 6; the WHERE term is
	 * written as in the index, so that the planner can use it, and named:
	 * messages_state, version 7, covers the query too, by a scan). */
	[STMT_VIEW_MAILBOX] =
		"SELECT id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed,"
		" first_recent FROM mailboxes WHERE name = ?1",
	[STMT_VIEW_UIDS] = "SELECT uid FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
	[STMT_VIEW_FIRST_UNSEEN] =
		"SELECT uid FROM messages INDEXED BY messages_unseen"
		" WHERE mailbox_id = ?1 AND (flags & 1) = 0 ORDER BY uid LIMIT 1",
	/* Header copies (store-sqlite-header.c): a content's is written
	 * once, whoever delivers it again. */
	[STMT_HEADER_KEEP] = "INSERT OR IGNORE INTO headers (blob, header) VALUES (?1, ?2)",
	[STMT_HEADER_FORGET] = "DELETE FROM headers WHERE blob = ?1",
	/* store_message_range_filtered: the unseen from messages_unseen (the
	 * same WHERE term as the index), the deleted from the rows of the
	 * range (no index: a mailbox holds few at a time). */
	[STMT_RANGE_UNSEEN] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 AND (flags & 1) = 0 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
	[STMT_RANGE_DELETED] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords FROM messages"
		" WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 AND (flags & 8) != 0 ORDER BY uid",
	/* store_message_head_list: the state from messages_state (no row of
	 * messages read), the header copy by its blob. */
	[STMT_HEAD_RANGE] =
		"SELECT m.uid, m.flags, m.modseq, m.size, m.internal_date, m.blob, m.keywords,"
		" h.header FROM messages m INDEXED BY messages_state"
		" LEFT JOIN headers h ON h.blob = m.blob"
		" WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid",
	/* store_message_envelope_list: the state and the ENVELOPE, no parts. */
	[STMT_ENVELOPE_RANGE] =
		"SELECT uid, flags, modseq, size, internal_date, blob, keywords, envelope"
		" FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
};

/*
 * Schema version 1.  Shaped for the IMAP server on top: UIDVALIDITY/UIDNEXT
 * and HIGHESTMODSEQ per mailbox (CONDSTORE/QRESYNC), the pre-parsed FETCH
 * answers and decoded headers per message (SORT/THREAD, SEARCH), part
 * offsets for BODY[section], expunged UIDs with their MODSEQ (QRESYNC
 * VANISHED), and delivery keys that survive the message (a repeated
 * delivery stays refused after an expunge).
 */
static const char schema_v1[] =
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE mailboxes ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" special_use INTEGER NOT NULL DEFAULT 0,"
	" uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),"
	" uidnext INTEGER NOT NULL DEFAULT 1 CHECK (uidnext BETWEEN 1 AND 4294967296),"
	" highestmodseq INTEGER NOT NULL DEFAULT 1 CHECK (highestmodseq >= 1),"
	" subscribed INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL"
	");"
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),"
	" blob TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" internal_date INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" keywords TEXT NOT NULL DEFAULT '',"
	" envelope TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" bodystructure TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" from_addr TEXT NOT NULL,"
	" to_addr TEXT NOT NULL,"
	" cc_addr TEXT NOT NULL,"
	" message_id TEXT NOT NULL,"
	" in_reply_to TEXT NOT NULL,"
	" refs TEXT NOT NULL,"
	" sent_date INTEGER,"
	" lines INTEGER NOT NULL,"
	" UNIQUE (mailbox_id, uid)"
	");"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE INDEX messages_blob ON messages(blob);"
	"CREATE TABLE parts ("
	" message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" section TEXT NOT NULL,"
	" depth INTEGER NOT NULL,"
	" child_count INTEGER NOT NULL,"
	" is_message INTEGER NOT NULL,"
	" header_offset INTEGER NOT NULL,"
	" header_size INTEGER NOT NULL,"
	" body_offset INTEGER NOT NULL,"
	" body_size INTEGER NOT NULL,"
	" body_lines INTEGER NOT NULL,"
	" content_type TEXT NOT NULL,"
	" PRIMARY KEY (message_id, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE deliveries ("
	" key TEXT PRIMARY KEY,"
	" message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" mailbox_id INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX deliveries_message ON deliveries(message_id);"
	"CREATE INDEX deliveries_at ON deliveries(at);"
	"CREATE TABLE expunged ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);";

/*
 * Schema version 2, for IMAP: account-wide keyword names (a message keeps
 * its keywords as a bit set in messages.keywords, an integer from now on)
 * and the full-text index.  FTS5 with the trigram tokenizer answers IMAP's
 * case-insensitive substring SEARCH from the index for strings of three
 * characters or more.  The table keeps its own copy of the text (a
 * contentless table cannot delete rows in SQLite 3.40): rows are removed
 * explicitly with their message.  The upgrade indexes the messages already
 * there (fts_backfill).  The account's quota is meta 'quota_storage'
 * (bytes, absent or 0: none); UIDVALIDITY stays meta 'last_uidvalidity'.
 *
 * messages.keywords keeps the TEXT affinity of version 1 (SQLite cannot
 * change a column's type in place), so an integer bound to it is stored as
 * its decimal text; it is always read with sqlite3_column_int64, which
 * gives the integer back exactly (and 0 for a version 1 '').
 */
static const char schema_v2[] =
	"CREATE TABLE keywords ("
	" bit INTEGER PRIMARY KEY CHECK (bit BETWEEN 0 AND 63),"
	" name TEXT NOT NULL UNIQUE COLLATE NOCASE"
	");"
	"UPDATE messages SET keywords = 0 WHERE keywords = '';"
	"ALTER TABLE mailboxes ADD COLUMN first_recent INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE messages ADD COLUMN sent_zone INTEGER NOT NULL DEFAULT 0;"
	"CREATE VIRTUAL TABLE fts USING fts5(subject, from_addr, to_addr, cc_addr, bcc, body, header,"
	" tokenize = 'trigram case_sensitive 0');";

/*
 * Schema version 3, the store's hygiene (store-sqlite-gc.c): every message
 * row deleted (expunge, a deleted mailbox's rows through its cascade;
 * MOVE keeps its row) leaves its file's name in blob_orphans, in the same
 * transaction, so the clean-up pass knows which files to look at without
 * scanning.  A name there is a candidate only: the pass removes the file
 * when no message names it any more (a COPY or a later identical delivery
 * shares it).  Files left by older versions are found by the first sweep.
 */
static const char schema_v3[] =
	"CREATE TABLE blob_orphans ("
	" blob TEXT PRIMARY KEY"
	") WITHOUT ROWID;"
	"CREATE TRIGGER messages_orphan AFTER DELETE ON messages BEGIN"
	" INSERT OR IGNORE INTO blob_orphans (blob) SELECT OLD.blob WHERE length(OLD.blob) = 64;"
	" END;";

/*
 * Schema version 4: the full-text index's backlog.  A delivery, APPEND or
 * COPY of an unindexed message marks its row here in its own transaction
 * instead of indexing it; the worker indexes the backlog on idle time and
 * a search first indexes what of its mailbox is still marked
 * (store-sqlite-fts.c).  The mark goes with its message (ON DELETE
 * CASCADE), so an expunge or a mailbox deletion leaves none behind.
 */
static const char schema_v4[] =
	"CREATE TABLE fts_pending ("
	" id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE"
	");";

/*
 * Schema version 5: subscriptions of names that are no mailbox (RFC 9051
 * 6.3.7 and 6.3.9: SUBSCRIBE of a name that does not exist is kept, and
 * deleting a mailbox does not unsubscribe it; LIST shows such a name
 * \Subscribed \NonExistent).  A mailbox's own subscription stays
 * mailboxes.subscribed; the triggers move a name between the two as
 * mailboxes come and go, whichever statement makes or removes them.
 */
static const char schema_subscriptions[] =
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TRIGGER subscription_kept AFTER DELETE ON mailboxes WHEN OLD.subscribed"
	" BEGIN INSERT OR IGNORE INTO subscriptions (name) VALUES (OLD.name); END;"
	"CREATE TRIGGER subscription_taken AFTER INSERT ON mailboxes"
	" WHEN EXISTS (SELECT 1 FROM subscriptions WHERE name = NEW.name)"
	" BEGIN UPDATE mailboxes SET subscribed = 1 WHERE id = NEW.id;"
	" DELETE FROM subscriptions WHERE name = NEW.name; END;"
	"CREATE TRIGGER subscription_renamed AFTER UPDATE OF name ON mailboxes"
	" WHEN EXISTS (SELECT 1 FROM subscriptions WHERE name = NEW.name)"
	" BEGIN UPDATE mailboxes SET subscribed = 1 WHERE id = NEW.id;"
	" DELETE FROM subscriptions WHERE name = NEW.name; END;";

/*
 * Schema version 6, for SELECT at any size: the unseen messages of a
 * mailbox by UID, so that SELECT finds the first one (IMAP4rev1's
 * [UNSEEN n]) without reading every message's row.  Partial: a mailbox
 * that is mostly read keeps a small index, and marking a message \Seen
 * removes its entry.
 */
static const char schema_v6[] =
	"CREATE INDEX IF NOT EXISTS messages_unseen ON messages(mailbox_id, uid)"
	" WHERE (flags & 1) = 0;";

/*
 * Also in version 7: the columns of struct store_message by (mailbox, UID),
 * so that a range of a mailbox's messages (store_message_range: every
 * SEARCH, every FETCH step) is read from this index alone.  The message
 * rows also hold the pre-parsed FETCH answers, kilobytes each: read by
 * UID, a 2,000-message mailbox took a page read per message, 70% of a
 * SEARCH's time in the worker.  An entry is about 100 bytes (the hash is
 * most of it).
 */
#define MESSAGES_STATE_INDEX                                                         \
	"CREATE INDEX messages_state ON messages(mailbox_id, uid, flags, modseq, size," \
	" internal_date, blob, keywords);"

/*
 * Schema version 7: a copy of each content's header section (its first
 * octets up to and including the blank line), so that FETCH of header
 * fields and SEARCH HEADER open no file (store-sqlite-header.c).  Keyed by
 * the content's hash, as its file is: a COPY, a MOVE or a second identical
 * delivery adds nothing, an expunge deletes nothing, and the row goes with
 * the file, in the clean-up's transaction that finds no message naming it.
 * Rows of a few KiB (up to STORE_HEADER_KEEP_MAX) want a rowid table: one
 * keyed by the hash alone (WITHOUT ROWID) would put whole rows in its
 * interior pages and branch a few ways per page; the unique index on the
 * hash is one probe before the row.  Messages stored before have no row:
 * their headers are read from the file.
 */
static const char schema_v7[] =
	"CREATE TABLE headers ("
	" blob TEXT NOT NULL UNIQUE,"
	" header BLOB NOT NULL"
	");"
	MESSAGES_STATE_INDEX;

const struct sqlite_migration sqlite_migrations[] = {
	{ schema_v1, create_default_mailboxes },
	{ schema_v2, fts_backfill },
	{ schema_v3, NULL },
	{ schema_v4, NULL },
	{ schema_subscriptions, NULL },
	{ schema_v6, NULL },
	{ schema_v7, NULL },
};
const int64_t sqlite_schema_version =
	(int64_t)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]));
