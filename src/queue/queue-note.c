/* queue-note: why recipients wait (see queue-note.h). */
#include "queue-note.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/ipc.h"

/* One line: an address (a path, IPC_MAX_PATH), its account and a
 * delivery's reason (IPC_DELIVER_MAX_TEXT). */
#define QUEUE_NOTE_MAX_LINE (IPC_MAX_PATH + IPC_DELIVER_MAX_TEXT + 64)

void queue_note_why(struct spool *spool, const char *qid, const struct spool_envelope *env,
		    char ***notes, size_t i, struct str why)
{
	/* A remote recipient's last answer is in its outcome log
	 * (spool-state.h), which `queue list` shows. */
	if (env->rcpts[i].account == 0)
		why = STR_NULL;
	if (*notes == NULL && why.ptr == NULL)
		return;
	if (*notes == NULL && (*notes = calloc(env->rcpt_count, sizeof(**notes))) == NULL)
		return;
	char **why_of = *notes;
	free(why_of[i]);
	why_of[i] = NULL;
	if (why.ptr != NULL) {
		struct buf line;
		buf_init(&line, QUEUE_NOTE_MAX_LINE);
		buf_printf(&line, "<%.*s> (account %llu): %.*s", (int)env->rcpts[i].address.len,
			   env->rcpts[i].address.ptr, (unsigned long long)env->rcpts[i].account,
			   (int)why.len, why.ptr);
		why_of[i] = line.data != NULL ? strndup(line.data, line.len) : NULL;
		buf_free(&line);
	}
	struct buf note;
	buf_init(&note, SPOOL_MAX_NOTE);
	for (size_t j = 0; j < env->rcpt_count; j++)
		if (why_of[j] != NULL)
			buf_printf(&note, "%s\n", why_of[j]);
	spool_note_write(spool, qid, buf_str(&note));
	buf_free(&note);
}

void queue_note_free(char ***notes, size_t count)
{
	for (size_t i = 0; *notes != NULL && i < count; i++)
		free((*notes)[i]);
	free(*notes);
	*notes = NULL;
}
