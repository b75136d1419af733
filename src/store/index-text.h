#ifndef RAVELIN_INDEX_TEXT_H
#define RAVELIN_INDEX_TEXT_H
/*
 * index-text: the text of one message that the full-text index holds
 * beyond the decoded header fields the MIME parser gives (subject, from,
 * to, cc): the raw top-level header (IMAP TEXT searches the whole header),
 * its Bcc field, and the body as UTF-8 text.  No I/O: the content comes as
 * the iovec it was delivered in, or as one mapped file.
 */
#include <sys/uio.h>

#include "lib/buf.h"
#include "mail/mime.h"

/* Body text indexed per message: enough for any real mail's words, while
 * a 50 MB log attached as text/plain costs the index no more than this. */
#define INDEX_TEXT_BODY_MAX (1024u * 1024)
/* Header bytes kept: the MIME parser refuses longer header blocks. */
#define INDEX_TEXT_HEADER_MAX MIME_MAX_HEADER_BYTES

struct index_text {
	struct buf header;  /* the top-level header block as received */
	struct buf bcc;     /* its Bcc field, unfolded, encoded words decoded */
	struct buf body;    /* the text/... leaves, transfer encoding undone,
			     * in UTF-8, joined by '\n', at most
			     * INDEX_TEXT_BODY_MAX bytes (cut at a character) */
};

/*
 * index_text_extract fills text (initialised here) from the content, the
 * concatenation of iov[0..iovcnt), as msg parsed it (parts inside the
 * content: store.c checks that).  The body holds the text/... leaves in
 * part order (text/html with its markup; attachments of other types are
 * left out); a leaf with an unknown transfer encoding is skipped, an
 * unknown charset is kept as its bytes.  It cannot fail: what does not fit
 * or cannot be read is left out.  Free with index_text_free.
 */
void index_text_extract(struct index_text *text, const struct mime_message *msg,
			const struct iovec *iov, int iovcnt);
void index_text_free(struct index_text *text);

#endif
