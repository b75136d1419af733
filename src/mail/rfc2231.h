#ifndef RAVELIN_RFC2231_H
#define RAVELIN_RFC2231_H
/*
 * rfc2231: MIME parameter lists (";name=value" after Content-Type and
 * Content-Disposition), with RFC 2231 continuations (name*0, name*1) and
 * charsets (name*=utf-8''%E2%82%AC) merged and converted to UTF-8.
 */
#include "lib/pool.h"
#include "lib/str.h"
#include "rfc822.h"

/* A hostile header could carry thousands of parameters and make merging
 * quadratic; real ones carry a handful (Dovecot stops at 128 too). */
#define RFC2231_MAX_PARAMS 128

struct mime_param {
	struct str name;  /* as written, without the RFC 2231 "*n*" suffix */
	struct str value; /* unquoted; UTF-8 when an RFC 2231 charset was given */
};

/*
 * rfc2231_parse_params reads the parameters from lx to the end of its
 * input.  Broken parameters are skipped; of two with the same name (case
 * insensitive) the first wins, plain before continued, as Dovecot does.
 * The array and strings are allocated from pool.  Returns 0, or -1 when
 * the pool is exhausted.
 */
int rfc2231_parse_params(struct pool *pool, struct rfc822_lexer *lx,
			 struct mime_param **params_r, unsigned *count_r);

#endif
