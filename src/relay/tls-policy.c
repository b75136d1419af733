/*
 * tls-policy: the TLS decision for one delivery attempt (see
 * tls-policy.h).
 */
#include "relay/tls-policy.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(struct tls_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct tls_verdict *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

/* Who asks for TLS on this MX host, in the words of a reason. */
static const char *who(const struct tls_policy_input *in)
{
	if (in->dane == DANE_USABLE || in->dane == DANE_UNUSABLE)
		return "DANE";
	if (in->sts != NULL && in->sts->mode == MTA_STS_MODE_TESTING)
		return "MTA-STS policy (testing)";
	return "MTA-STS policy";
}

/* plan: the MX stage verdict, which every later stage starts from. */
static void plan(const struct tls_policy_input *in, struct tls_verdict *v)
{
	int hl = (int)in->mx_host.len, dl = (int)in->domain.len;
	const char *h = in->mx_host.ptr, *d = in->domain.ptr;
	enum mta_sts_mode mode = in->sts != NULL ? in->sts->mode : MTA_STS_MODE_NONE;

	v->action = TLS_CONNECT;
	v->auth = DANE_AUTH_NONE;
	v->tls_required = false;
	switch (in->dane) {
	case DANE_FAILED:
		v->action = TLS_SKIP_MX;
		say(v, "DANE TLSA lookup for %.*s failed", hl, h);
		return;
	case DANE_USABLE:
		/* RFC 8461 2: DANE first; the MTA-STS mx list does not apply. */
		v->auth = DANE_AUTH_DANE;
		v->tls_required = true;
		return;
	case DANE_UNUSABLE:
		v->tls_required = true;
		break;
	case DANE_NONE:
		break;
	}
	if (mode == MTA_STS_MODE_NONE)
		return;
	v->auth = DANE_AUTH_PKIX;
	if (mta_sts_mx_matches(in->sts, in->mx_host)) {
		if (mode == MTA_STS_MODE_ENFORCE)
			v->tls_required = true;
		return;
	}
	if (mode == MTA_STS_MODE_ENFORCE) {
		v->action = TLS_SKIP_MX;
		say(v, "MTA-STS policy of %.*s does not list %.*s", dl, d, hl, h);
		return;
	}
	say(v, "MTA-STS policy (testing) of %.*s does not list %.*s", dl, d, hl, h);
}

void tls_policy_decide(const struct tls_policy_input *in, struct tls_verdict *v)
{
	int hl = (int)in->mx_host.len;
	const char *h = in->mx_host.ptr;
	bool testing = in->sts != NULL && in->sts->mode == MTA_STS_MODE_TESTING &&
		       in->dane == DANE_NONE;

	memset(v, 0, sizeof(*v));
	plan(in, v);
	if (in->stage == TLS_STAGE_MX || v->action == TLS_SKIP_MX)
		return;
	assert(v->action == TLS_CONNECT);

	if (in->stage == TLS_STAGE_EHLO) {
		if (in->starttls_offered) {
			v->action = TLS_STARTTLS;
			return;
		}
		if (v->tls_required) {
			v->action = TLS_DEFER;
			say(v, "%s requires TLS but %.*s offered no STARTTLS", who(in), hl, h);
			return;
		}
		v->action = TLS_SEND;
		if (testing)
			say(v, "%s requires TLS but %.*s offered no STARTTLS", who(in), hl, h);
		return;
	}

	if (!in->handshake_ok) {
		if (v->tls_required) {
			v->action = TLS_DEFER;
			say(v, "TLS handshake with %.*s failed (%s requires TLS)", hl, h, who(in));
			return;
		}
		v->action = TLS_RETRY_PLAIN;
		if (testing)
			say(v, "TLS handshake with %.*s failed (%s requires TLS)", hl, h, who(in));
		return;
	}
	if (in->verified || v->auth == DANE_AUTH_NONE) {
		v->action = TLS_SEND;
		return;
	}
	if (v->auth == DANE_AUTH_DANE) {
		v->action = TLS_DEFER;
		say(v, "DANE TLSA mismatch for %.*s", hl, h);
		return;
	}
	/* PKIX is asked only by an MTA-STS policy (even under unusable DANE,
	 * which requires TLS but authenticates nothing). */
	assert(in->sts != NULL);
	bool enforce = in->sts->mode == MTA_STS_MODE_ENFORCE;
	v->action = enforce ? TLS_DEFER : TLS_SEND;
	say(v, "certificate of %.*s does not verify for that name (%s)", hl, h,
	    enforce ? "MTA-STS policy" : "MTA-STS policy (testing)");
}
