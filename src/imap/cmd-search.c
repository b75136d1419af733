/*
 * cmd-search: SEARCH, SORT and THREAD and their UID forms over the
 * selected view (the programs run in imap-search-run.c), and
 * CANCELUPDATE (RFC 5267) of the results kept up to date
 * (imap-search-update.c).
 */
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

#include "imap-search-run.h"
#include "imap-search-update.h"

/*
 * search_to_esearch: RFC 9051 has no SEARCH response; an IMAP4rev2 client
 * gets ESEARCH for a plain SEARCH (RFC 9051 6.4.4: as if RETURN (ALL)).
 * The untagged "* SEARCH n n ..." just written from start is rewritten.
 */
static void search_to_esearch(struct imap_session *s, size_t start, bool uid)
{
	struct buf *o = s->out;
	if (o->len - start < 10 || memcmp(o->data + start, "* SEARCH", 8) != 0)
		return;
	struct str line = str_from(o->data + start + 8, o->len - start - 8);
	uint32_t *nums = malloc((line.len / 2 + 1) * sizeof(*nums));
	size_t n = 0;
	uint64_t modseq = 0;
	if (nums == NULL)
		return;
	const char *p = line.ptr, *end = line.ptr + line.len;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p == '(') {
			/* "(MODSEQ n)" */
			const char *q = p;
			while (q < end && (*q < '0' || *q > '9'))
				q++;
			for (; q < end && *q >= '0' && *q <= '9'; q++)
				modseq = modseq * 10 + (uint64_t)(*q - '0');
			break;
		}
		if (p >= end || *p < '0' || *p > '9')
			break;
		uint64_t v = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (uint64_t)(*p - '0');
		nums[n++] = (uint32_t)v;
	}
	qsort(nums, n, sizeof(*nums), session_cmp_u32);
	o->len = start;
	buf_printf(o, "* ESEARCH (TAG \"%s\")%s", s->tag, uid ? " UID" : "");
	if (n > 0) {
		buf_append(o, " ALL ", 5);
		session_write_uid_set(o, nums, n);
	}
	if (modseq > 0)
		buf_printf(o, " MODSEQ %llu", (unsigned long long)modseq);
	buf_append(o, "\r\n", 2);
	free(nums);
}

enum imap_command_result cmd_search(struct imap_session *s, const struct imap_command *cmd)
{
	bool uid = strncmp(cmd->name.ptr, "UID ", 4) == 0;
	const char *name = uid ? cmd->name.ptr + 4 : cmd->name.ptr;
	const char *error = "";
	struct imap_search_view view;
	struct imap_search_kept *kept = NULL;
	struct imap_search_kept **kept_r = imap_search_update_room(s) ? &kept : NULL;
	int ret;
	size_t start = s->out->len;

	imap_search_update_view(s, &view);
	if (strcmp(name, "SORT") == 0)
		ret = imap_sort_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					s->out, kept_r, &error);
	else if (strcmp(name, "THREAD") == 0)
		ret = imap_thread_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					  s->out, &error);
	else
		ret = imap_search_command(s->pool, &view, cmd->args, cmd->arg_count, uid, cmd->tag,
					  s->out, kept_r, &error);
	if (kept != NULL)
		imap_search_update_add(s, kept, uid, cmd->tag);
	if (ret == IMAP_RUN_OK && s->rev2 && strcmp(name, "SEARCH") == 0)
		search_to_esearch(s, start, uid);
	switch (ret) {
	case IMAP_RUN_OK:
		session_tagged(s, "OK", "%s completed", name);
		break;
	case IMAP_RUN_BAD:
		session_tagged(s, "BAD", "%s", error);
		break;
	case IMAP_RUN_NO:
		session_tagged(s, "NO", "%s", error);
		break;
	default:
		session_store_failed(s, STORE_ERROR, error);
	}
	return CMD_DONE;
}

/* CANCELUPDATE tag *(SP tag) (RFC 5267 4.3): each a quoted string that
 * names a result kept up to date; an unknown one is BAD. */
enum imap_command_result cmd_cancelupdate(struct imap_session *s, const struct imap_command *cmd)
{
	struct str tag;

	if (cmd->arg_count == 0) {
		session_tagged(s, "BAD", "Missing search tag");
		return CMD_DONE;
	}
	for (size_t i = 0; i < cmd->arg_count; i++) {
		if (!imap_arg_get_string(&cmd->args[i], &tag) ||
		    imap_search_update_cancel(s, tag) < 0) {
			session_tagged(s, "BAD", "Unknown search tag");
			return CMD_DONE;
		}
	}
	session_tagged(s, "OK", "CANCELUPDATE completed");
	return CMD_DONE;
}
