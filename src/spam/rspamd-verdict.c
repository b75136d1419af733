/* rspamd-verdict: rspamd's /checkv2 answer read into a verdict (see
 * rspamd-verdict.h). */
#include "rspamd-verdict.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* rspamd_verdict_init: see rspamd-verdict.h. */
void rspamd_verdict_init(struct rspamd_verdict *v)
{
	memset(v, 0, sizeof(*v));
	buf_init(&v->headers, IPC_SPAM_MAX_HEADERS);
}

/* rspamd_verdict_free: see rspamd-verdict.h. */
void rspamd_verdict_free(struct rspamd_verdict *v)
{
	buf_free(&v->headers);
}

/* name_ok: RFC 5322 2.2 field name, printable ASCII but ':'. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 76)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return false;
	return true;
}

/* value_ok: no control character but HTAB (the value is folded here). */
static bool value_ok(const char *value)
{
	size_t n = strlen(value);
	if (n > RSPAMD_VERDICT_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* rspamd_verdict_add_field: see rspamd-verdict.h.  Folding breaks before a
 * space or tab once a line would pass RSPAMD_VERDICT_FOLD; a word longer
 * than a line stays whole (RFC 5322 allows up to 998). */
int rspamd_verdict_add_field(struct buf *out, const char *name, const char *value)
{
	if (!name_ok(name) || !value_ok(value))
		return -1;
	size_t was = out->len;
	size_t col = strlen(name) + 1;
	if (buf_printf(out, "%s:", name) < 0)
		goto full;
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0') {
		size_t ws = 0, word = 0;
		while (p[ws] == ' ' || p[ws] == '\t')
			ws++;
		while (p[ws + word] != '\0' && p[ws + word] != ' ' && p[ws + word] != '\t')
			word++;
		if (word == 0)
			break; /* trailing white space */
		bool first = col == strlen(name) + 1;
		if (!first && col + 1 + word > RSPAMD_VERDICT_FOLD) {
			if (buf_append(out, "\r\n\t", 3) < 0)
				goto full;
			col = 1;
		} else {
			if (buf_putc(out, ' ') < 0)
				goto full;
			col++;
		}
		if (buf_append(out, p + ws, word) < 0)
			goto full;
		col += word;
		p += ws + word;
	}
	if (buf_append(out, "\r\n", 2) == 0)
		return 0;
full:
	out->len = was;
	if (out->data != NULL)
		out->data[was] = '\0';
	return -1;
}

/* add_headers takes milter.add_headers: name -> "value", {"value": ...},
 * or an array of either. */
static void add_headers(struct rspamd_verdict *v, json_t *obj)
{
	const char *name;
	json_t *val;
	size_t fields = 0;

	if (!json_is_object(obj))
		return;
	json_object_foreach(obj, name, val) {
		json_t *one = val;
		for (size_t i = 0;; i++) {
			if (json_is_array(val)) {
				one = json_array_get(val, i);
				if (one == NULL)
					break;
			} else if (i > 0) {
				break;
			}
			if (json_is_object(one))
				one = json_object_get(one, "value");
			if (json_is_string(one) && fields < RSPAMD_VERDICT_MAX_FIELDS &&
			    rspamd_verdict_add_field(&v->headers, name, json_string_value(one)) == 0)
				fields++;
		}
	}
}

/* set_reply keeps the printable ASCII of text as the refusal's text. */
static void set_reply(struct rspamd_verdict *v, const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p != '\0' && n < sizeof(v->reply) - 1; p++)
		v->reply[n++] = *p >= 32 && *p <= 126 ? *p : ' ';
	v->reply[n] = '\0';
}

/* rspamd_verdict_read: see rspamd-verdict.h. */
int rspamd_verdict_read(const char *json, size_t len, struct rspamd_verdict *v,
			const char **error_r)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		*error_r = "the answer is not a JSON object";
		return -1;
	}
	const char *action = json_string_value(json_object_get(root, "action"));
	json_t *score = json_object_get(root, "score");
	v->score = json_is_number(score) ? json_number_value(score) : 0;
	if (action == NULL) {
		json_decref(root);
		*error_r = "the answer has no action";
		return -1;
	}
	snprintf(v->action, sizeof(v->action), "%s", action);
	if (strcmp(action, "no action") == 0) {
		v->verdict = IPC_SPAM_ACCEPT;
	} else if (strcmp(action, "greylist") == 0 || strcmp(action, "soft reject") == 0) {
		v->verdict = IPC_SPAM_TEMPFAIL;
		set_reply(v, "Try again later");
	} else if (strcmp(action, "add header") == 0 || strcmp(action, "rewrite subject") == 0) {
		char status[64];
		v->verdict = IPC_SPAM_JUNK;
		snprintf(status, sizeof(status), "Yes, score=%.2f", v->score);
		rspamd_verdict_add_field(&v->headers, "X-Spam-Status", status);
		add_headers(v, json_object_get(json_object_get(root, "milter"), "add_headers"));
	} else if (strcmp(action, "reject") == 0) {
		v->verdict = IPC_SPAM_REJECT;
		const char *text = json_string_value(
			json_object_get(json_object_get(root, "messages"), "smtp_message"));
		set_reply(v, text != NULL ? text : "Spam message rejected");
	} else {
		json_decref(root);
		*error_r = "unknown action";
		return -1;
	}
	json_decref(root);
	return 0;
}
