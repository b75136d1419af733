/*
 * worker-schedule: scheduling messages received by mail applied to the
 * account's calendars, and those its own saves call for sent by mail.
 * See worker-schedule.h.
 */
#include "worker-schedule.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dav/dav.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "mail/mail-decode.h"
#include "mail/mime-tree.h"
#include "store/dav-store.h"
#include "worker-account.h"
#include "worker-submit.h"

/* The default calendar invitations land in (dav-store makes it). */
#define WORKER_SCHEDULE_CALENDAR "calendar"
/* The schedule inbox (RFC 6638 2.2). */
#define WORKER_SCHEDULE_INBOX "inbox"
/* A whole iMIP mail: the calendar twice (the part, and nothing else
 * large) in base64 plus the text part and the header. */
#define WORKER_SCHEDULE_MAX_MAIL (2 * ITIP_MAX_DATA + 64 * 1024)

struct worker_itip {
	struct buf part;                         /* the decoded calendar text */
	char from[ITIP_MAX_ADDRESS + 1];         /* From:'s address, "" if none */
	char sender[ITIP_MAX_ADDRESS + 1];       /* the envelope's, once received */
	struct worker_itip *next;                /* waiting for the account's addresses */
};

/* Calendar parts delivered before auth has told a new worker its
 * account's addresses (a delivery can start the worker and arrive first):
 * kept, in order, until it has; past this many the oldest is only filed. */
#define WORKER_SCHEDULE_MAX_WAITING 64

static struct {
	struct dav_store *store;     /* the worker's, not ours to close */
	struct worker_itip *waiting, **waiting_tail;
	size_t waiting_count;
} ws;

void worker_schedule_init(struct dav_store *store)
{
	ws.store = store;
	/* Message-IDs are random (getrandom: no file, inside the jail too). */
	if (sodium_init() < 0)
		log_error("scheduling: libsodium cannot start: Message-IDs will be weak");
}

/* store_get: the calendars, or NULL (logged) when dav.db did not open. */
static struct dav_store *store_get(void)
{
	if (ws.store == NULL)
		log_error("scheduling: no calendars (dav.db did not open): the mail is only filed");
	return ws.store;
}

/* self_get: the account's addresses as auth told them; false (logged)
 * before auth has answered. */
static bool self_get(struct itip_self *self, const struct worker_account **a_r)
{
	const struct worker_account *a = worker_account_get();
	if (a == NULL || a->address_count == 0) {
		log_warn("scheduling: the account's addresses are not known yet");
		return false;
	}
	self->addresses = a->address_list;
	self->count = a->address_count;
	*a_r = a;
	return true;
}

/* ---------- receiving ---------- */

static const struct mime_param *param_get(const struct mime_content *c, const char *name)
{
	for (unsigned i = 0; i < c->param_count; i++)
		if (str_case_eq(c->params[i].name, str_c(name)))
			return &c->params[i];
	return NULL;
}

/* calendar_part: the first text/calendar node with a method, depth first. */
static const struct mime_node *calendar_part(const struct mime_node *n)
{
	while (n != NULL) {
		const struct mime_content *c = &n->content;
		if (!n->is_multipart && !n->is_rfc822 && c->type.ptr != NULL &&
		    str_case_eq(c->type, STR("text")) && str_case_eq(c->subtype, STR("calendar")) &&
		    param_get(c, "method") != NULL)
			return n;
		if (n->first_child != NULL) {
			n = n->first_child;
			continue;
		}
		while (n != NULL && n->next == NULL)
			n = n->parent;
		if (n != NULL)
			n = n->next;
	}
	return NULL;
}

/* from_address: the first From: mailbox of the message, lower case. */
static void from_address(const struct mime_node *root, char out[ITIP_MAX_ADDRESS + 1])
{
	out[0] = '\0';
	if (root->envelope == NULL)
		return;
	const struct address *a = root->envelope->head[MIME_ENVELOPE_FROM];
	if (a == NULL || a->domain.ptr == NULL || a->mailbox.len + a->domain.len + 1 > ITIP_MAX_ADDRESS)
		return;
	snprintf(out, ITIP_MAX_ADDRESS + 1, "%.*s@%.*s", (int)a->mailbox.len, a->mailbox.ptr,
		 (int)a->domain.len, a->domain.ptr);
	str_lower(out, strlen(out));
}

struct worker_itip *worker_schedule_find(struct str message, size_t fed_before,
					 const struct mime_message *parsed)
{
	if (parsed == NULL || parsed->root == NULL)
		return NULL;
	const struct mime_node *n = calendar_part(parsed->root);
	if (n == NULL)
		return NULL;
	if (n->body_size > WORKER_SCHEDULE_MAX_PART || n->body_offset < fed_before ||
	    n->body_offset - fed_before > message.len ||
	    n->body_size > message.len - (n->body_offset - fed_before)) {
		log_warn("scheduling: a text/calendar part of %llu octets is not read",
			 (unsigned long long)n->body_size);
		return NULL;
	}
	struct worker_itip *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return NULL;
	buf_init(&it->part, ITIP_MAX_DATA);
	struct str body = str_sub(message, (size_t)(n->body_offset - fed_before), (size_t)n->body_size);
	if (mail_decode(mail_cte_parse(n->content.encoding), body, &it->part) < 0) {
		log_warn("scheduling: a text/calendar part cannot be decoded or is too large");
		buf_free(&it->part);
		free(it);
		return NULL;
	}
	from_address(parsed->root, it->from);
	return it;
}

/* object_name: the name an incoming object is kept under when it is new:
 * a hash of its UID (a UID is any text; a name is a URL segment). */
static void object_name(const char *uid, char name[40])
{
	char etag[48];
	dav_etag(str_c(uid), etag);
	snprintf(name, 40, "%.32s.ics", etag + 1);
}

/* put_object stores data under name in coll (replacing it). */
static int put_object(struct dav_store *s, int64_t coll, const char *name, struct str data,
		      const struct itip_info *info, const char **error_r)
{
	struct dav_put p = {
		.name = str_c(name), .data = data, .uid = str_c(info->uid),
		.component = info->component, .first = info->first, .last = info->last,
	};
	struct dav_object o;
	bool created;
	*error_r = NULL;
	int ret = dav_object_put(s, coll, &p, &o, &created, error_r);
	if (ret == 0 || ret == DAV_PUT_UID_CONFLICT)
		dav_object_free(&o);
	if (ret > 0 && *error_r == NULL)
		*error_r = "refused by the store";
	return ret == 0 ? 0 : -1;
}

static int64_t collection_id(struct dav_store *s, const char *name)
{
	struct dav_collection c;
	const char *error;
	int found = dav_collection_get(s, DAV_CALENDAR, str_c(name), &c, &error);
	if (found != 1) {
		log_warn("scheduling: no collection %s (%s)", name,
			 found < 0 ? error : "not there");
		return -1;
	}
	int64_t id = c.id;
	dav_collection_free(&c);
	return id;
}

/* apply runs the checks and the store changes of one received message. */
static void apply(struct worker_itip *it, const char *sender)
{
	struct itip_info info;
	struct itip_self self;
	const struct worker_account *account;
	const char *error = NULL;

	if (itip_parse(buf_str(&it->part), &info, &error) < 0) {
		log_info("scheduling: a calendar part is not one this server acts on: %s", error);
		return;
	}
	/* The mail's author is who it says it is only if the envelope agrees. */
	if (it->from[0] == '\0' || !str_case_eq(str_c(it->from), str_c(sender))) {
		log_info("scheduling: %s from %s (envelope %s) only filed: From: is not the sender",
			 itip_method_name(info.method), it->from, sender);
		return;
	}
	struct dav_store *s = store_get();
	if (s == NULL || !self_get(&self, &account))
		return;
	int64_t cal = collection_id(s, WORKER_SCHEDULE_CALENDAR);
	if (cal < 0)
		return;
	char name[DAV_MAX_NAME + 1];
	struct dav_object stored = { 0 };
	struct str stored_data = STR("");
	int found = dav_object_by_uid(s, cal, str_c(info.uid), &stored, &error);
	if (found == 1) {
		snprintf(name, sizeof(name), "%s", stored.name);
		dav_object_free(&stored);
		found = dav_object_get(s, cal, str_c(name), true, &stored, &error);
		if (found == 1)
			stored_data = stored.data;
	} else {
		object_name(info.uid, name);
	}
	if (found < 0) {
		log_error("scheduling: reading the calendar failed: %s", error);
		return;
	}
	struct buf out;
	buf_init(&out, ITIP_MAX_DATA);
	int r = itip_apply(stored_data, buf_str(&it->part), &info, it->from, &self, &out, &error);
	if (r == 1 && info.method != ITIP_REQUEST && found == 1) {
		/* The stored copy keeps its span: a REPLY or CANCEL need not
		 * carry the times. */
		info.first = stored.first;
		info.last = stored.last;
	}
	if (found == 1)
		dav_object_free(&stored);
	if (r == 0)
		log_info("scheduling: %s for %s from %s not applied: %s",
			 itip_method_name(info.method), info.uid, it->from, error);
	else if (r < 0)
		log_warn("scheduling: %s for %s unreadable: %s", itip_method_name(info.method),
			 info.uid, error);
	else if (put_object(s, cal, name, buf_str(&out), &info, &error) < 0)
		log_error("scheduling: storing %s for %s failed: %s",
			  itip_method_name(info.method), info.uid, error);
	else
		log_info("scheduling: %s for %s from %s applied", itip_method_name(info.method),
			 info.uid, it->from);
	/* The organiser's messages are also kept as they came (RFC 6638 2.2). */
	if (r == 1 && info.method != ITIP_REPLY) {
		int64_t inbox = collection_id(s, WORKER_SCHEDULE_INBOX);
		if (inbox >= 0 && put_object(s, inbox, name, buf_str(&it->part), &info, &error) < 0)
			log_warn("scheduling: the schedule inbox refused %s: %s", info.uid, error);
	}
	buf_free(&out);
}

void worker_schedule_discard(struct worker_itip **it)
{
	if (*it == NULL)
		return;
	buf_free(&(*it)->part);
	free(*it);
	*it = NULL;
}

void worker_schedule_received(struct worker_itip **it, const char *sender)
{
	if (*it == NULL)
		return;
	if (worker_account_get() == NULL) {
		/* Applied by worker_schedule_account_known, in order. */
		if (ws.waiting_count == WORKER_SCHEDULE_MAX_WAITING) {
			struct worker_itip *oldest = ws.waiting;
			ws.waiting = oldest->next;
			ws.waiting_count--;
			if (ws.waiting == NULL)
				ws.waiting_tail = &ws.waiting;
			log_warn("scheduling: more than %d calendar mails before the account's "
				 "addresses came: the oldest is only filed", WORKER_SCHEDULE_MAX_WAITING);
			worker_schedule_discard(&oldest);
		}
		snprintf((*it)->sender, sizeof((*it)->sender), "%s", sender);
		(*it)->next = NULL;
		if (ws.waiting_tail == NULL)
			ws.waiting_tail = &ws.waiting;
		*ws.waiting_tail = *it;
		ws.waiting_tail = &(*it)->next;
		ws.waiting_count++;
		*it = NULL;
		return;
	}
	apply(*it, sender);
	worker_schedule_discard(it);
}

void worker_schedule_account_known(void)
{
	while (ws.waiting != NULL) {
		struct worker_itip *it = ws.waiting;
		ws.waiting = it->next;
		ws.waiting_count--;
		apply(it, it->sender);
		worker_schedule_discard(&it);
	}
	ws.waiting_tail = &ws.waiting;
}

/* ---------- sending ---------- */

/* message_id writes "<random@domain of from>". */
static void message_id(const char *from, char *out, size_t size)
{
	unsigned char r[16];
	char hex[33];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	const char *at = strrchr(from, '@');
	snprintf(out, size, "<%s.itip@%s>", hex, at != NULL ? at + 1 : "localhost");
}

void worker_schedule_calendar_changed(void *ctx, int64_t collection, struct str name,
				      struct str old_data, struct str new_data)
{
	struct itip_self self;
	const struct worker_account *account;
	struct itip_message *m;
	size_t n;
	bool truncated;
	const char *error;
	(void)ctx;
	(void)collection;

	if (!self_get(&self, &account))
		return;
	if (itip_changes(old_data, new_data, &self, &m, &n, &truncated, &error) < 0) {
		log_warn("scheduling: %.*s: no messages: %s", (int)name.len, name.ptr, error);
		return;
	}
	if (truncated)
		log_warn("scheduling: %.*s: only the first %d attendees are written to",
			 (int)name.len, name.ptr, ITIP_MAX_RECIPIENTS);
	for (size_t i = 0; i < n; i++) {
		/* The organiser (or attendee) speaks as the address the object
		 * names, if it is ours; else as the primary address. */
		const char *from = account->name;
		struct itip_info info;
		if (itip_parse(str_c(m[i].data), &info, &error) == 0) {
			const char *own = info.method == ITIP_REPLY ? info.attendee : info.organizer;
			for (size_t k = 0; k < self.count; k++)
				if (str_case_eq(str_c(own), str_c(self.addresses[k])))
					from = self.addresses[k];
		}
		char mid[128];
		message_id(from, mid, sizeof(mid));
		struct itip_mail mail = { from, account->display_name, m[i].recipient, mid,
					  (int64_t)time(NULL) };
		struct buf text;
		buf_init(&text, WORKER_SCHEDULE_MAX_MAIL);
		if (itip_mail_write(&mail, str_c(m[i].data), &text, &error) < 0 ||
		    worker_submit_send(from, m[i].recipient, buf_str(&text), &error) < 0)
			log_warn("scheduling: %s to %s not sent: %s", itip_method_name(m[i].method),
				 m[i].recipient, error);
		else
			log_info("scheduling: %s to %s submitted", itip_method_name(m[i].method),
				 m[i].recipient);
		buf_free(&text);
	}
	itip_messages_free(&m, n);
}

const struct dav_hooks *worker_schedule_hooks(void)
{
	static const struct dav_hooks hooks = { .calendar_changed = worker_schedule_calendar_changed };
	return &hooks;
}
