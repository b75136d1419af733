#ifndef RAVELIN_SASL_PLAIN_H
#define RAVELIN_SASL_PLAIN_H
/*
 * sasl-plain: the one decoder of the SASL PLAIN message (RFC 4616),
 * "authzid NUL authcid NUL password" in base64, for every protocol that
 * offers AUTH=PLAIN (IMAP, POP3, SMTP).  No I/O; the decoded bytes live in
 * the caller's struct sasl_plain, which sasl_plain_wipe clears, because
 * they hold a password.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* The longest base64 message taken: the longest line a pre-login dialogue
 * reads (8 KiB, IMAP_LOGIN_MAX_LINE and POP3_LOGIN_MAX_LINE), so no message
 * that could have arrived is refused for its length, while the decoded
 * bytes stay a fixed buffer on the stack. */
#define SASL_PLAIN_MAX_BASE64 (8u * 1024)
/* What SASL_PLAIN_MAX_BASE64 characters of base64 decode to at most. */
#define SASL_PLAIN_MAX_DECODED (SASL_PLAIN_MAX_BASE64 / 4 * 3)

enum sasl_plain_result {
	SASL_PLAIN_OK,
	SASL_PLAIN_BAD_BASE64, /* not base64, or longer than SASL_PLAIN_MAX_BASE64 */
	SASL_PLAIN_MALFORMED,  /* fewer than two NULs */
	SASL_PLAIN_AUTHZID,    /* asks to act as another user than it names */
};

struct sasl_plain {
	/* authcid and password point into raw; authzid too (empty when the
	 * client named none, or named itself). */
	struct str authzid;
	struct str authcid;
	struct str password;
	size_t len;
	unsigned char raw[SASL_PLAIN_MAX_DECODED];
};

/*
 * sasl_plain_decode decodes b64 into *out.  empty_allowed takes "=" as the
 * empty message (RFC 4959, an empty initial response), which then has no
 * NULs and is SASL_PLAIN_MALFORMED.  An authzid other than the authcid is
 * refused (SASL_PLAIN_AUTHZID): no user may act as another.  Whatever the
 * result, the caller calls sasl_plain_wipe when done with out; on anything
 * but SASL_PLAIN_OK, out holds nothing usable.
 */
enum sasl_plain_result sasl_plain_decode(struct sasl_plain *out, struct str b64,
					 bool empty_allowed);

/* sasl_plain_wipe clears the decoded bytes (the password among them). */
void sasl_plain_wipe(struct sasl_plain *plain);

#endif
