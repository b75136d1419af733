#ifndef RAVELIN_DAV_H
#define RAVELIN_DAV_H
/*
 * dav: CalDAV (RFC 4791, 6638), CardDAV (RFC 6352), WebDAV (RFC 4918) with
 * extended MKCOL (RFC 5689) and collection sync (RFC 6578) over one
 * account's dav-store.  Pure request -> response: no I/O besides the store.
 *
 * The account served is the caller's (the worker's, from auth's ticket),
 * never one named by the request: a path naming another address is 404.
 * URL space and properties: docs/dav.md.
 */
#include <stddef.h>
#include <stdint.h>

#include "http/http-parser.h"
#include "lib/buf.h"
#include "lib/str.h"

struct dav_store;

struct dav_account {
	uint64_t id;
	const char *name;                  /* primary address, lower case */
	const char *display_name;          /* may be empty */
	const char *const *addresses;      /* the account's own and its aliases */
	size_t address_count;
};

struct dav_hooks {     /* scheduling; any may be NULL */
	void *ctx;
	/* after a calendar object was stored (old: the previous data or empty)
	 * or deleted (new empty) */
	void (*calendar_changed)(void *ctx, int64_t collection, struct str name, struct str old_data,
				 struct str new_data);
};

struct dav_env {
	struct dav_store *store;
	const struct dav_account *account;
	const struct dav_hooks *hooks;     /* may be NULL */
};

/* A whole answer (the largest are multistatus bodies): a Depth 1 listing of
 * a full collection (DAV_MAX_OBJECTS responses of some 500 octets, a long
 * name percent-encoded included: about 10 MB) fits with room; a REPORT
 * asking the data of more objects than that is cut (507) and the client
 * asks again in parts, as multiget clients do. */
#define DAV_MAX_RESPONSE (32 * 1024 * 1024)
/* Extra header lines of one answer (ETag, DAV, Allow, Location...). */
#define DAV_MAX_RESPONSE_HEADERS 4096

struct dav_response {
	int status;
	struct buf headers;        /* extra lines "Name: v\r\n" */
	struct buf body;
	char content_type[96];     /* empty: none */
};

/* dav_response_init readies an empty answer (status 500 until set). */
void dav_response_init(struct dav_response *r);
/* dav_response_free releases its buffers; it may be initialised again. */
void dav_response_free(struct dav_response *r);
/* dav_handle answers one authenticated request into resp (initialised by
 * the caller).  Never fails: errors are statuses. */
void dav_handle(const struct dav_env *env, const struct http_request *req, struct dav_response *resp);

#endif
