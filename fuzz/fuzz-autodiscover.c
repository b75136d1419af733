/*
 * fuzz-autodiscover: the Autodiscover request scanner (src/http/
 * autoconfig.c) on any bytes as a POST body.  An address it finds lies
 * inside the body and passes autoconfig_email_check; the response then
 * written must succeed and hold the address only escaped.  The same bytes
 * as the address of the Thunderbird and Apple documents must be refused
 * or written, never crash.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http/autoconfig.h"

static const struct autoconfig_settings settings = {
	.hostname = "mail.example.org",
	.imaps_port = 993,
	.submission_port = 587,
	.https_port = 443,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str body = str_from((const char *)data, size);
	struct buf out;
	buf_init(&out, 64 * 1024);
	struct str email;
	if (autoconfig_autodiscover_email(body, &email) == 0) {
		assert(email.ptr >= body.ptr && email.ptr + email.len <= body.ptr + body.len);
		assert(autoconfig_email_check(email) == 0);
		int ret = autoconfig_autodiscover(&settings, body, &out);
		assert(ret == 0);
		assert(memmem(out.data, out.len, "<LoginName>", 11) != NULL);
	}
	bool valid = autoconfig_email_check(body) == 0;
	buf_reset(&out);
	assert((autoconfig_thunderbird(&settings, body, &out) == 0) == valid);
	buf_reset(&out);
	assert((autoconfig_mobileconfig(&settings, body, body, &out) == 0) == valid);
	buf_free(&out);
	return 0;
}
