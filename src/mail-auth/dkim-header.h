#ifndef RAVELIN_DKIM_HEADER_H
#define RAVELIN_DKIM_HEADER_H
/*
 * dkim-header: a message's header block split into fields, what signing
 * and verifying need of it and nothing more (no MIME: the pre-auth
 * process that verifies links none of src/mail).  Pure code.
 */
#include <stddef.h>

#include "lib/str.h"

/* Octets of a header block we sign or verify; the same bound the MIME
 * parser puts on one (src/mail/mime.h), so a message the store takes is
 * never refused here for its header alone. */
#define DKIM_HEADER_MAX_BYTES (256 * 1024)
/* Fields in one header block, as the MIME parser's bound. */
#define DKIM_HEADER_MAX_FIELDS 1000

struct dkim_field {
	struct str name;   /* before the colon, white space dropped */
	struct str text;   /* the whole field, folding kept, no final line end */
};

struct dkim_header {
	size_t count;
	struct dkim_field *fields;  /* in message order */
};

/*
 * dkim_header_end gives the offset of the body in message (after the
 * empty line that ends the header block; message's length if there is
 * none), or -1 if the header block is longer than DKIM_HEADER_MAX_BYTES.
 */
long dkim_header_end(struct str message);

/*
 * dkim_header_split splits block (a header block, its empty line may be
 * there or not) into h, whose views point into block.  0, or -1 with
 * *error_r (static) past a bound or without memory.  dkim_header_free
 * frees h->fields.
 */
int dkim_header_split(struct str block, struct dkim_header *h, const char **error_r);
void dkim_header_free(struct dkim_header *h);

#endif
