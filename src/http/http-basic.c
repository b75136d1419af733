/* http-basic: Basic credentials (see http-basic.h). */
#include "http-basic.h"

#include <string.h>

#include <sodium.h>

static bool has_control(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
			return true;
	return false;
}

/* copy_out writes s and a NUL into out[max]; -1 when it does not fit. */
static int copy_out(struct str s, char *out, size_t max)
{
	if (s.len >= max)
		return -1;
	memcpy(out, s.ptr, s.len);
	out[s.len] = '\0';
	return 0;
}

static int basic_split(struct str raw, char *user, size_t user_max, char *password,
		       size_t password_max, const char **error_r)
{
	long colon = str_chr(raw, ':');
	if (colon < 0) {
		*error_r = "Basic credentials without a colon";
		return -1;
	}
	struct str u = str_sub(raw, 0, (size_t)colon);
	struct str p = str_sub(raw, (size_t)colon + 1, raw.len);
	if (u.len == 0) {
		*error_r = "empty user-id";
		return -1;
	}
	if (has_control(u) || has_control(p)) {
		*error_r = "control octet in Basic credentials";
		return -1;
	}
	if (copy_out(u, user, user_max) < 0 || copy_out(p, password, password_max) < 0) {
		*error_r = "Basic credentials too long";
		return -1;
	}
	return 0;
}

int http_basic_decode(struct str value, char *user, size_t user_max, char *password,
		      size_t password_max, const char **error_r)
{
	if (user_max > 0)
		user[0] = '\0';
	if (password_max > 0)
		password[0] = '\0';
	if (value.len < 6 || !str_case_prefix(value, STR("Basic")) ||
	    (value.ptr[5] != ' ' && value.ptr[5] != '\t')) {
		*error_r = "not Basic credentials";
		return -1;
	}
	struct str b64 = str_trim(str_sub(value, 6, value.len));
	if (b64.len > HTTP_BASIC_MAX_BASE64) {
		*error_r = "Basic credentials too long";
		return -1;
	}
	unsigned char raw[HTTP_BASIC_MAX_DECODED];
	size_t len = 0;
	int ret = -1;
	if (sodium_base642bin(raw, sizeof(raw), b64.ptr, b64.len, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		*error_r = "Basic credentials are not base64";
	else
		ret = basic_split(str_from((const char *)raw, len), user, user_max, password,
				  password_max, error_r);
	sodium_memzero(raw, sizeof(raw));
	if (ret < 0) {
		sodium_memzero(user, user_max);
		sodium_memzero(password, password_max);
	}
	return ret;
}
