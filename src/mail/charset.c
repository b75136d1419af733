/* charset: header text to UTF-8 over ICU (see charset.h). */
#include "charset.h"

#include <string.h>
#include <unicode/ucnv.h>

/* IANA charset names are at most 40 characters; anything longer is not a
 * charset ICU knows, so it is treated as unknown. */
#define CHARSET_NAME_MAX 64

int charset_to_utf8(struct buf *out, struct str charset, struct str bytes)
{
	char name[CHARSET_NAME_MAX];
	long star = str_chr(charset, '*');

	if (star >= 0)
		charset.len = (size_t)star;
	charset = str_trim(charset);
	if (bytes.len == 0)
		return 0;
	if (charset.len == 0 || charset.len >= sizeof(name) ||
	    str_case_eq(charset, STR("utf-8")) || str_case_eq(charset, STR("us-ascii")) ||
	    bytes.len > INT32_MAX / 4)
		return buf_append_str(out, bytes);
	memcpy(name, charset.ptr, charset.len);
	name[charset.len] = '\0';

	/* Preflight for the exact output length, then convert in place. */
	UErrorCode err = U_ZERO_ERROR;
	int32_t need = ucnv_convert("UTF-8", name, NULL, 0, bytes.ptr, (int32_t)bytes.len, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		return buf_append_str(out, bytes); /* unknown charset */
	if (need < 0 || buf_reserve(out, (size_t)need + 1) < 0)
		return -1;
	err = U_ZERO_ERROR;
	int32_t got = ucnv_convert("UTF-8", name, out->data + out->len, need + 1,
				   bytes.ptr, (int32_t)bytes.len, &err);
	if (U_FAILURE(err) || got != need) {
		out->data[out->len] = '\0';
		return buf_append_str(out, bytes);
	}
	out->len += (size_t)got;
	out->data[out->len] = '\0';
	return 0;
}
