#ifndef RAVELIN_HTTP_BASIC_H
#define RAVELIN_HTTP_BASIC_H
/*
 * http-basic: the credentials of an "Authorization: Basic" field (RFC
 * 7617), no I/O.  The decoded bytes hold a password: every temporary is
 * wiped before returning, and the caller wipes what it was given.
 */
#include <stddef.h>

#include "lib/str.h"

/* The longest base64 credential taken: an address (254) and a password
 * (SASL's limits are larger, but no password we accept is near 500)
 * encoded; 1 KiB is still a fixed buffer on the stack. */
#define HTTP_BASIC_MAX_BASE64 1024
/* What HTTP_BASIC_MAX_BASE64 characters of base64 decode to at most. */
#define HTTP_BASIC_MAX_DECODED (HTTP_BASIC_MAX_BASE64 / 4 * 3)

/*
 * http_basic_decode takes the value of an Authorization field ("Basic"
 * in any case, blanks, base64) and writes the user-id and the password,
 * split at the first colon, NUL-terminated, into user and password.  0, or
 * -1 with a static *error_r: another scheme, bad base64, over
 * HTTP_BASIC_MAX_BASE64, no colon, an empty user-id, a control octet (NUL
 * included) in either, or either longer than its buffer's size - 1 (then
 * both buffers are wiped).  The caller wipes user and password
 * (sodium_memzero) when done with them.
 */
int http_basic_decode(struct str value, char *user, size_t user_max, char *password,
		      size_t password_max, const char **error_r);

#endif
