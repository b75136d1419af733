#ifndef RAVELIN_DAV_STORE_H
#define RAVELIN_DAV_STORE_H
/*
 * dav-store: one account's calendars and address books, in their own SQLite
 * file dav.db in the account directory (WAL, synchronous=FULL).  Every call
 * that changes data returns 0 only after its COMMIT (durable).  Collections
 * live in two homes: the calendar home (calendars, the schedule inbox and
 * outbox) and the address-book home; a name is unique within its home.
 * Object names are client-chosen URL segments kept as data, never as file
 * names.
 *
 * Change numbers: each collection counts its member changes from 1 (its
 * creation); every stored, replaced, moved or deleted object takes the next
 * number, which is both the object's change and the collection's sync (the
 * sync token and the CTag).  Deletions are remembered (at most
 * DAV_MAX_CHANGES_KEPT per collection) so a sync-collection reports them.
 *
 * A store is one connection: one thread uses it at a time.  Strings handed
 * out in structs are owned by them (free with the *_free functions) unless
 * a comment says otherwise.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/str.h"

#define DAV_MAX_NAME 255                  /* a collection's or object's name (one URL segment) */
#define DAV_MAX_OBJECT_SIZE (1024 * 1024) /* max-resource-size */
#define DAV_MAX_OBJECTS 20000             /* objects per collection */
#define DAV_MAX_COLLECTIONS 200           /* per account */
/* A collection property (displayname, color, description, calendar-timezone):
 * a VTIMEZONE with decades of rules is a few KB; 64 KB bounds what a
 * PROPPATCH can make every later PROPFIND carry. */
#define DAV_MAX_PROPERTY (64 * 1024)
/* Deletions remembered per collection for sync-collection.  A client that
 * was away across more of them gets "token too old" and lists the
 * collection again (one full sync, which it must handle anyway); 1000
 * rows of a name and two numbers are a few tens of KB. */
#define DAV_MAX_CHANGES_KEPT 1000

enum dav_kind { DAV_CALENDAR = 1, DAV_ADDRESSBOOK = 2, DAV_SCHEDULE_INBOX = 3, DAV_SCHEDULE_OUTBOX = 4 };
#define DAV_COMP_VEVENT 1u
#define DAV_COMP_VTODO 2u
#define DAV_COMP_VJOURNAL 4u

/* Results of the calls that may be refused for the client's reasons (beside
 * 0 done and -1 error). */
#define DAV_PUT_PRECONDITION 2  /* If-Match / If-None-Match / Overwrite failed */
#define DAV_PUT_UID_CONFLICT 3  /* another object of the collection has this UID */
#define DAV_PUT_TOO_MANY 4      /* DAV_MAX_OBJECTS or DAV_MAX_COLLECTIONS reached */
#define DAV_PUT_TOO_BIG 5       /* over DAV_MAX_OBJECT_SIZE or DAV_MAX_PROPERTY */

/* "urn:ravelin:sync:" + two 20-digit numbers, a colon and the NUL. */
#define DAV_SYNC_TOKEN_MAX 64

struct dav_collection { int64_t id; enum dav_kind kind; char *name; char *displayname, *color,
  *description, *timezone; /* NULL: unset */ int64_t order; bool has_order; unsigned components;
  uint64_t sync; /* last change number */ uint64_t objects, bytes; };
struct dav_object { int64_t id, collection; char *name, *uid; char etag[48]; /* with quotes */
  uint64_t change; uint64_t size; unsigned component; int64_t first, last; /* UTC span, INT64_MIN/MAX open */
  struct str data; /* only when asked */ };

struct dav_store;

/* dav_store_open opens (creating it on first use) dir/dav.db; a new one gets
 * the default collections: calendar "calendar" (VEVENT, "Calendar"),
 * "tasks" (VTODO, "Tasks"), the schedule "inbox" and "outbox" (made again
 * whenever missing), address book "contacts" ("Contacts").  dir may be
 * relative (the jailed worker's).  NULL with *error_r (a static buffer of the
 * thread) on failure. */
struct dav_store *dav_store_open(const char *dir_fd_relative_path_or_dir, const char **error_r);
/* dav_store_close closes the database and sets *s to NULL; NULL is fine. */
void dav_store_close(struct dav_store **s);

/* dav_name_valid: 1..DAV_MAX_NAME octets, no '/', no NUL, not "." or "..". */
bool dav_name_valid(struct str name);
/* dav_etag writes the ETag of data: '"' + the first 32 hex digits of its
 * SHA-256 + '"', NUL-terminated. */
void dav_etag(struct str data, char etag[48]);
/* dav_sync_token writes "urn:ravelin:sync:<collection>:<change>". */
void dav_sync_token(int64_t collection, uint64_t change, char out[DAV_SYNC_TOKEN_MAX]);
/* dav_sync_token_parse reads a token of dav_sync_token: 0 with *collection_r
 * and *change_r, -1 when it is not one. */
int dav_sync_token_parse(struct str token, int64_t *collection_r, uint64_t *change_r);

/* dav_collection_list: the collections of one home (kind DAV_CALENDAR: the
 * calendar home, schedule inbox and outbox included; DAV_ADDRESSBOOK: the
 * address books) or of both (0), ordered by home and name, into a new array
 * *out of *n (free with dav_collection_list_free).  0 or -1. */
int dav_collection_list(struct dav_store *s, enum dav_kind kind /* 0 all */, struct dav_collection **out, size_t *n, const char **error_r);
/* dav_collection_get finds name in a home (as dav_collection_list): 1 found
 * (*out filled, free with dav_collection_free), 0 not, -1 error. */
int dav_collection_get(struct dav_store *s, enum dav_kind home, struct str name, struct dav_collection *out, const char **error_r); /* 1 found, 0 not */
/* dav_collection_create makes c (kind, name, properties, components; the
 * rest is ignored): 0 with *id_r, 1 the name exists in that home,
 * DAV_PUT_TOO_MANY, DAV_PUT_TOO_BIG (a property), -1 error (also an invalid
 * name: check with dav_name_valid first). */
int dav_collection_create(struct dav_store *s, const struct dav_collection *c, int64_t *id_r, const char **error_r); /* 1 exists */
/* dav_collection_update sets c->id's properties (displayname, color,
 * description, timezone, order, components) to c's: 0, 1 no such collection,
 * DAV_PUT_TOO_BIG, -1. */
int dav_collection_update(struct dav_store *s, const struct dav_collection *c, const char **error_r);
/* dav_collection_delete removes a collection and its objects: 0, 1 no such
 * collection, DAV_PUT_PRECONDITION for the schedule inbox and outbox, -1. */
int dav_collection_delete(struct dav_store *s, int64_t id, const char **error_r);
void dav_collection_free(struct dav_collection *c); void dav_collection_list_free(struct dav_collection *l, size_t n);

/* dav_object_get: 1 found (*out filled, data too when with_data; free with
 * dav_object_free), 0 not, -1. */
int dav_object_get(struct dav_store *s, int64_t coll, struct str name, bool with_data, struct dav_object *out, const char **error_r); /* 1, 0 */
/* dav_object_by_uid: as dav_object_get, without the data. */
int dav_object_by_uid(struct dav_store *s, int64_t coll, struct str uid, struct dav_object *out, const char **error_r); /* 1, 0 */
/* The object given to fn and its strings are valid during the call only; fn
 * may read the store (not call dav_object_each) but must not change it. */
typedef int dav_object_fn(void *ctx, const struct dav_object *o);   /* nonzero stops */
/* dav_object_each calls fn for each object of coll whose span meets
 * [first, last] (both inclusive; INT64_MIN/INT64_MAX for all), ordered by
 * name: 0 (all given, or fn stopped), -1. */
int dav_object_each(struct dav_store *s, int64_t coll, bool with_data, int64_t first, int64_t last, dav_object_fn *fn, void *ctx, const char **error_r); /* span prefilter */
/* put: new or replaced; if_match (etag or NULL), if_none_match ("*"): 0 stored (*out filled,
 * *created), DAV_PUT_PRECONDITION, DAV_PUT_UID_CONFLICT (*out holds the other object's name),
 * DAV_PUT_TOO_MANY; -1 error.  if_match "*" means "exists".  Also
 * DAV_PUT_TOO_BIG.  *out (never with data) is to be freed with
 * dav_object_free after 0 and DAV_PUT_UID_CONFLICT. */
struct dav_put { struct str name, data, uid; unsigned component; int64_t first, last;
  const char *if_match; bool if_none_match; };
int dav_object_put(struct dav_store *s, int64_t coll, const struct dav_put *p, struct dav_object *out, bool *created, const char **error_r);
int dav_object_delete(struct dav_store *s, int64_t coll, struct str name, const char *if_match, const char **error_r); /* 0, 1 not found, DAV_PUT_PRECONDITION */
/* dav_object_move moves (or with copy, copies) from/name to to/new_name in
 * one transaction: 0 (*created: the target was new), 1 no such source,
 * DAV_PUT_PRECONDITION (the target exists and !overwrite, or is the source
 * itself), DAV_PUT_UID_CONFLICT (another object of to has the UID),
 * DAV_PUT_TOO_MANY, -1. */
int dav_object_move(struct dav_store *s, int64_t from, struct str name, int64_t to, struct str new_name, bool overwrite, bool copy, bool *created, const char **error_r);
/* fn gets each name changed after since, oldest change first; since 0 (the
 * initial sync) gives the objects there are and no deletions. */
typedef int dav_change_fn(void *ctx, struct str name, bool deleted, uint64_t change);
/* dav_changes_since: 0 all given (or fn stopped), 1 the token is too
 * old (deletions since were forgotten) or from the future, -1. */
int dav_changes_since(struct dav_store *s, int64_t coll, uint64_t since, dav_change_fn *fn, void *ctx, const char **error_r); /* 1: token too old/invalid */
/* dav_usage: the octets of all objects of the account. */
int dav_usage(struct dav_store *s, uint64_t *bytes, const char **error_r);
void dav_object_free(struct dav_object *o);

#endif
