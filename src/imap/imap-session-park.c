/* imap-session-park: an IDLE session written down and taken up again (see imap-session-park.h). */
#include "imap-session-park.h"

#include <stdlib.h>
#include <string.h>

#include "imap-session-private.h"
#include "lib/ipc.h"
#include "lib/log.h"

/* A varint of a uint32_t takes at most 5 bytes (7 bits each). */
#define PARK_VARINT_MAX 5

enum park_flag {
	PARK_REV2 = 1,
	PARK_UTF8 = 2,
	PARK_CONDSTORE = 4,
	PARK_QRESYNC = 8,
	PARK_SELECTED = 16,
	PARK_READONLY = 32,
	PARK_COMPRESSED = 64,
	PARK_FLAGS_ALL = 127,
};

bool imap_session_compressed(const struct imap_session *s)
{
	return s->compressed;
}

bool imap_session_parkable(const struct imap_session *s)
{
	/* Kept SEARCH/SORT results (CONTEXT=SEARCH) are not carried: a
	 * session with one stays. */
	return s->idling && !s->closed && !s->idle_input && s->job == NULL &&
	       s->pending_count == 0 && s->own_count == 0 && s->search_updates == NULL;
}

/* put_varint appends v, seven bits a byte, low first; -1 when out is full. */
static int put_varint(struct buf *out, uint32_t v)
{
	unsigned char b[PARK_VARINT_MAX];
	size_t n = 0;
	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	return buf_append(out, b, n);
}

/* get_varint reads one varint from *p (advanced); -1 if cut or too long. */
static int get_varint(struct str *p, uint32_t *v_r)
{
	uint64_t v = 0;
	for (size_t i = 0; i < PARK_VARINT_MAX; i++) {
		if (i >= p->len)
			return -1;
		unsigned char c = (unsigned char)p->ptr[i];
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			if (v > UINT32_MAX)
				return -1;
			*v_r = (uint32_t)v;
			*p = str_sub(*p, i + 1, p->len);
			return 0;
		}
	}
	return -1;
}

int imap_park_uids_encode(struct buf *out, const uint32_t *uids, size_t n)
{
	uint32_t prev = 0;
	for (size_t i = 0; i < n;) {
		size_t run = 1;
		while (i + run < n && uids[i + run] == uids[i] + run)
			run++;
		if (put_varint(out, uids[i] - prev) < 0 || put_varint(out, (uint32_t)run) < 0)
			return -1;
		prev = uids[i + run - 1];
		i += run;
	}
	return 0;
}

int imap_park_uids_decode(struct str runs, uint32_t **uids_r, size_t *count_r,
			  const char **error_r)
{
	uint32_t *uids = NULL;
	size_t count = 0, cap = 0;
	uint64_t prev = 0;

	while (runs.len > 0) {
		uint32_t gap, run;
		if (get_varint(&runs, &gap) < 0 || get_varint(&runs, &run) < 0) {
			*error_r = "a UID run is cut";
			goto fail;
		}
		/* UIDs ascend strictly: the first run may start at its gap, the
		 * others after their predecessor. */
		if (gap == 0 || run == 0 || prev + gap + run - 1 > UINT32_MAX ||
		    count + run > IMAP_PARK_MAX_UIDS) {
			*error_r = "a UID run is out of range";
			goto fail;
		}
		if (count + run > cap) {
			size_t want = cap ? cap * 2 : 64;
			while (want < count + run)
				want *= 2;
			if (want > IMAP_PARK_MAX_UIDS)
				want = IMAP_PARK_MAX_UIDS;
			uint32_t *p = realloc(uids, want * sizeof(*p));
			if (p == NULL) {
				*error_r = "out of memory";
				goto fail;
			}
			uids = p;
			cap = want;
		}
		uint32_t first = (uint32_t)(prev + gap);
		for (uint32_t i = 0; i < run; i++)
			uids[count++] = first + i;
		prev = first + run - 1;
	}
	*uids_r = uids;
	*count_r = count;
	return 0;
fail:
	free(uids);
	return -1;
}

/* put_uids writes uids[0..n) as one string field of runs. */
static int put_uids(struct buf *out, const uint32_t *uids, size_t n)
{
	struct buf runs;
	buf_init(&runs, IPC_PARK_MAX_STATE);
	int r = imap_park_uids_encode(&runs, uids, n);
	if (r == 0)
		r = ipc_put_str(out, buf_str(&runs));
	buf_free(&runs);
	return r;
}

int imap_session_park(const struct imap_session *s, struct buf *out)
{
	if (s->count > IMAP_PARK_MAX_UIDS || s->saved_count > IMAP_PARK_MAX_UIDS)
		return -1;
	uint64_t flags = (s->rev2 ? PARK_REV2 : 0) | (s->utf8 ? PARK_UTF8 : 0) |
			 (s->condstore ? PARK_CONDSTORE : 0) | (s->qresync ? PARK_QRESYNC : 0) |
			 (s->selected ? PARK_SELECTED : 0) | (s->readonly ? PARK_READONLY : 0) |
			 (s->compressed ? PARK_COMPRESSED : 0);
	int r = ipc_put_u64(out, IMAP_PARK_VERSION);
	r |= ipc_put_u64(out, flags);
	r |= ipc_put_str(out, str_c(s->tag));
	r |= ipc_put_str(out, str_c(s->selected ? s->mailbox : ""));
	r |= ipc_put_u64(out, s->uidvalidity);
	r |= ipc_put_u64(out, s->modseq);
	r |= ipc_put_u64(out, s->keywords_known);
	r |= put_uids(out, s->uids, s->selected ? s->count : 0);
	r |= put_uids(out, s->saved, s->saved_count);
	r |= ipc_put_u64(out, s->recent_count);
	for (size_t i = 0; i < s->recent_count; i++) {
		r |= ipc_put_u64(out, s->recent[i].first);
		r |= ipc_put_u64(out, s->recent[i].next);
	}
	return r < 0 ? -1 : 0;
}

/* read_state fills s from the state's fields, each checked against its
 * bound; -1 with *error_r (s then holds what it got: imap_session_free
 * frees it). */
static int read_state(struct imap_session *s, struct str state, const char **error_r)
{
	struct ipc_msg msg = { .payload = (const unsigned char *)state.ptr, .len = state.len };
	struct ipc_reader r;

	ipc_reader_init(&r, &msg);
	uint64_t version = ipc_get_u64(&r);
	uint64_t flags = ipc_get_u64(&r);
	struct str tag = ipc_get_str(&r, IMAP_DEFAULT_MAX_TAG);
	struct str mailbox = ipc_get_str(&r, IPC_PARK_MAX_STATE);
	uint64_t uidvalidity = ipc_get_u64(&r);
	s->modseq = ipc_get_u64(&r);
	uint64_t keywords = ipc_get_u64(&r);
	struct str view = ipc_get_str(&r, IPC_PARK_MAX_STATE);
	struct str saved = ipc_get_str(&r, IPC_PARK_MAX_STATE);
	uint64_t recent = ipc_get_u64(&r);
	if (r.bad || version != IMAP_PARK_VERSION || (flags & ~(uint64_t)PARK_FLAGS_ALL) != 0 ||
	    uidvalidity > UINT32_MAX || recent > IMAP_RECENT_RANGES || keywords > UINT32_MAX ||
	    memchr(mailbox.ptr, '\0', mailbox.len) != NULL ||
	    ((flags & PARK_SELECTED) != 0) != (mailbox.len > 0)) {
		*error_r = "malformed parked state";
		return -1;
	}
	for (size_t i = 0; i < recent; i++) {
		uint64_t first = ipc_get_u64(&r), next = ipc_get_u64(&r);
		if (first > UINT32_MAX || next > UINT32_MAX + (uint64_t)1 || first > next) {
			*error_r = "malformed parked \\Recent range";
			return -1;
		}
		s->recent[i].first = (uint32_t)first;
		s->recent[i].next = (uint32_t)next;
	}
	if (!ipc_reader_ok(&r)) {
		*error_r = "malformed parked state";
		return -1;
	}
	s->recent_count = recent;
	s->rev2 = (flags & PARK_REV2) != 0;
	s->utf8 = (flags & PARK_UTF8) != 0;
	s->condstore = (flags & PARK_CONDSTORE) != 0;
	s->qresync = (flags & PARK_QRESYNC) != 0;
	s->readonly = (flags & PARK_READONLY) != 0;
	s->compressed = (flags & PARK_COMPRESSED) != 0;
	s->uidvalidity = (uint32_t)uidvalidity;
	s->keywords_known = (size_t)keywords;
	memcpy(s->tag, tag.ptr, tag.len);
	s->tag[tag.len] = '\0';
	if (imap_park_uids_decode(view, &s->uids, &s->count, error_r) < 0 ||
	    imap_park_uids_decode(saved, &s->saved, &s->saved_count, error_r) < 0)
		return -1;
	s->cap = s->count;
	if ((flags & PARK_SELECTED) != 0) {
		s->mailbox = strndup(mailbox.ptr, mailbox.len);
		if (s->mailbox == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		s->selected = true;
	}
	return 0;
}

struct imap_session *imap_session_unpark(struct store *store, struct buf *out,
					 const struct imap_session_settings *settings,
					 const struct imap_session_callbacks *callbacks, void *ctx,
					 struct str state, const char **error_r)
{
	struct imap_session *s = imap_session_new(store, out, settings, callbacks, ctx);
	if (s == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	if (read_state(s, state, error_r) < 0) {
		imap_session_free(&s);
		return NULL;
	}
	/* IDLE goes on: the next line is its DONE (cmd_idle_line). */
	s->idling = true;
	imap_parser_expect_line(s->parser);
	if (s->selected) {
		struct store_mailbox box;
		const char *error;
		int ret = store_mailbox_get(store, s->mailbox, &box, &error);
		if (ret == STORE_OK) {
			free(box.name);
			if (box.uidvalidity != s->uidvalidity)
				ret = STORE_NOT_FOUND;
		}
		if (ret != STORE_OK) {
			if (ret != STORE_NOT_FOUND)
				log_error("IMAP: a parked session's mailbox: %s", error);
			session_untagged(s, "BYE The selected mailbox was deleted");
			session_unselect(s);
			session_close(s);
			return s;
		}
	}
	session_sync(s, true);
	return s;
}
