#ifndef RAVELIN_RSPAMD_VERDICT_H
#define RAVELIN_RSPAMD_VERDICT_H
/*
 * rspamd-verdict: what rspamd's /checkv2 JSON answer means for a message:
 * the verdict, the header lines to add (folded, each checked) and the text
 * of a refusal.  No I/O; JSON through jansson, bounded by the response
 * size (rspamd-http.h) before it gets here.
 */
#include <stddef.h>

#include "lib/buf.h"
#include "lib/ipc.h"

/* Header fields taken from milter.add_headers: rspamd's milter_headers
 * module adds at most a dozen (X-Spamd-Result, X-Spam-Level, ...). */
#define RSPAMD_VERDICT_MAX_FIELDS 16
/* A field value as rspamd gives it, before folding. */
#define RSPAMD_VERDICT_MAX_VALUE 2048
/* A folded line is at most this long (RFC 5322 2.1.1: SHOULD 78). */
#define RSPAMD_VERDICT_FOLD 78

struct rspamd_verdict {
	enum ipc_spam_verdict verdict;
	double score;
	char action[32];                        /* rspamd's words, for the log */
	char reply[IPC_SPAM_MAX_REPLY + 1];     /* printable ASCII, one line */
	struct buf headers;                     /* CRLF-terminated field lines */
};

/* rspamd_verdict_init / _free: headers is bounded by IPC_SPAM_MAX_HEADERS. */
void rspamd_verdict_init(struct rspamd_verdict *v);
void rspamd_verdict_free(struct rspamd_verdict *v);

/*
 * rspamd_verdict_read reads the JSON object json[0..len).  Actions map:
 * "no action" -> accept; "greylist", "soft reject" -> tempfail; "add
 * header", "rewrite subject" -> junk, with an X-Spam-Status line and the
 * fields of milter.add_headers; "reject" -> reject, the text from
 * messages.smtp_message (else a fixed one).  Fields whose name is not
 * printable ASCII without ':' or whose value holds CR, LF or another
 * control character are dropped, as are those past the limits.
 * milter.remove_headers and a rewritten subject are not applied (the
 * message goes to Junk either way).  Returns 0, or -1 with *error_r (not
 * JSON, no known action): the caller treats the message as unchecked.
 */
int rspamd_verdict_read(const char *json, size_t len, struct rspamd_verdict *v,
			const char **error_r);

/* rspamd_verdict_add_field folds "name: value" into out (CRLF endings);
 * -1 when the name or value is not acceptable or out is full. */
int rspamd_verdict_add_field(struct buf *out, const char *name, const char *value);

#endif
