/*
 * mta-sts: RFC 8461 TXT record and policy file parsers (see mta-sts.h).
 */
#include "relay/mta-sts.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return str_is_alpha((unsigned char)c) || (c >= '0' && c <= '9');
}

/* is_name_char: RFC 8461 sts-ext-name / sts-policy-ext-name, letter or
 * digit first, then also "_", "-" and ".". */
static bool is_name_char(char c, size_t at)
{
	return is_alnum(c) || (at > 0 && (c == '_' || c == '-' || c == '.'));
}

/* next_field cuts s at the first sep: returns what is before it and
 * leaves *s after it (or empty when there is no sep). */
static struct str next_field(struct str *s, char sep)
{
	long i = str_chr(*s, sep);
	struct str head = *s;
	if (i < 0) {
		*s = str_from(s->ptr + s->len, 0);
		return head;
	}
	head.len = (size_t)i;
	*s = str_sub(*s, (size_t)i + 1, s->len);
	return head;
}

int mta_sts_txt_parse(struct str txt, struct mta_sts_id *id, const char **error_r)
{
	static const struct str version = { "v=STSv1", 7 };
	memset(id, 0, sizeof(*id));
	if (txt.len < version.len || memcmp(txt.ptr, version.ptr, version.len) != 0)
		return 0;
	struct str rest = str_sub(txt, version.len, txt.len);
	bool have_id = false;
	/* The version is followed by a delimiter or nothing at all. */
	if (rest.len > 0 && !is_wsp(rest.ptr[0]) && rest.ptr[0] != ';')
		return 0; /* "v=STSv10": another version, not ours */
	rest = str_trim(rest);
	if (rest.len == 0 || rest.ptr[0] != ';') {
		*error_r = "MTA-STS record without id";
		return -1;
	}
	rest = str_sub(rest, 1, rest.len);
	while (rest.len > 0) {
		struct str field = str_trim(next_field(&rest, ';'));
		if (field.len == 0) {
			if (rest.len == 0)
				break; /* the optional final delimiter */
			*error_r = "MTA-STS record with an empty field";
			return -1;
		}
		long eq = str_chr(field, '=');
		if (eq <= 0) {
			*error_r = "MTA-STS record field without name=value";
			return -1;
		}
		struct str name = str_sub(field, 0, (size_t)eq);
		struct str value = str_sub(field, (size_t)eq + 1, field.len);
		if (name.len > 32) {
			*error_r = "MTA-STS record field name too long";
			return -1;
		}
		for (size_t i = 0; i < name.len; i++)
			if (!is_name_char(name.ptr[i], i)) {
				*error_r = "MTA-STS record field name malformed";
				return -1;
			}
		if (value.len == 0) {
			*error_r = "MTA-STS record field with an empty value";
			return -1;
		}
		if (!str_eq(name, STR("id"))) {
			for (size_t i = 0; i < value.len; i++) {
				unsigned char c = (unsigned char)value.ptr[i];
				if (c < 0x21 || c > 0x7e || c == ';' || c == '=') {
					*error_r = "MTA-STS record extension value malformed";
					return -1;
				}
			}
			continue;
		}
		if (have_id)
			continue; /* the first one counts */
		if (value.len > MTA_STS_MAX_ID) {
			*error_r = "MTA-STS record id longer than 32";
			return -1;
		}
		for (size_t i = 0; i < value.len; i++)
			if (!is_alnum(value.ptr[i])) {
				*error_r = "MTA-STS record id not letters and digits";
				return -1;
			}
		memcpy(id->id, value.ptr, value.len);
		id->id[value.len] = '\0';
		have_id = true;
	}
	if (!have_id) {
		*error_r = "MTA-STS record without id";
		return -1;
	}
	return 1;
}

int mta_sts_txt_find(const struct dns_answer *a, struct mta_sts_id *id, const char **error_r)
{
	memset(id, 0, sizeof(*id));
	if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA)
		return 0;
	if (a->status != DNS_OK) {
		*error_r = a->status == DNS_BOGUS ? "MTA-STS record failed DNSSEC validation"
						  : "MTA-STS record lookup failed";
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < a->count; i++) {
		struct mta_sts_id one;
		int r = mta_sts_txt_parse(a->records[i].data, &one, error_r);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		if (found) {
			*error_r = "more than one MTA-STS record";
			memset(id, 0, sizeof(*id));
			return -1;
		}
		*id = one;
		found = 1;
	}
	return found;
}

/* mx_pattern_parse checks one mx value and stores it lower case. */
static int mx_pattern_parse(struct str v, struct mta_sts_mx *mx)
{
	memset(mx, 0, sizeof(*mx));
	if (v.len >= 2 && v.ptr[0] == '*' && v.ptr[1] == '.') {
		mx->wildcard = true;
		v = str_sub(v, 2, v.len);
	}
	if (v.len > 0 && v.ptr[v.len - 1] == '.')
		v.len--;
	if (v.len == 0 || v.len > DNS_MAX_NAME)
		return -1;
	size_t label = 0;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.ptr[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return -1;
		if (++label > 63)
			return -1;
	}
	if (label == 0)
		return -1;
	memcpy(mx->name, v.ptr, v.len);
	str_lower(mx->name, v.len);
	mx->len = (uint8_t)v.len;
	return 0;
}

/* policy_line takes one "name: value" line into p; seen marks the
 * single-valued fields already had (the first counts). */
static int policy_line(struct str line, struct mta_sts_policy *p, unsigned *seen,
		       const char **error_r)
{
	enum { SEEN_VERSION = 1, SEEN_MODE = 2, SEEN_MAX_AGE = 4 };
	long colon = str_chr(line, ':');
	if (colon <= 0) {
		*error_r = "MTA-STS policy line without name:value";
		return -1;
	}
	struct str name = str_sub(line, 0, (size_t)colon);
	struct str value = str_trim(str_sub(line, (size_t)colon + 1, line.len));
	if (name.len > 32) {
		*error_r = "MTA-STS policy field name too long";
		return -1;
	}
	for (size_t i = 0; i < name.len; i++)
		if (!is_name_char(name.ptr[i], i)) {
			*error_r = "MTA-STS policy field name malformed";
			return -1;
		}
	for (size_t i = 0; i < value.len; i++) {
		unsigned char c = (unsigned char)value.ptr[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "MTA-STS policy value holds a control character";
			return -1;
		}
	}
	if (str_case_eq(name, STR("mx"))) {
		if (p->mx_count == MTA_STS_MAX_MX) {
			*error_r = "MTA-STS policy names too many mx";
			return -1;
		}
		if (mx_pattern_parse(value, &p->mx[p->mx_count]) < 0) {
			*error_r = "MTA-STS policy mx malformed";
			return -1;
		}
		p->mx_count++;
	} else if (str_case_eq(name, STR("version"))) {
		if (*seen & SEEN_VERSION)
			return 0;
		*seen |= SEEN_VERSION;
		if (!str_case_eq(value, STR("STSv1"))) {
			*error_r = "MTA-STS policy version is not STSv1";
			return -1;
		}
	} else if (str_case_eq(name, STR("mode"))) {
		if (*seen & SEEN_MODE)
			return 0;
		*seen |= SEEN_MODE;
		if (str_case_eq(value, STR("enforce")))
			p->mode = MTA_STS_MODE_ENFORCE;
		else if (str_case_eq(value, STR("testing")))
			p->mode = MTA_STS_MODE_TESTING;
		else if (str_case_eq(value, STR("none")))
			p->mode = MTA_STS_MODE_NONE;
		else {
			*error_r = "MTA-STS policy mode unknown";
			return -1;
		}
	} else if (str_case_eq(name, STR("max_age"))) {
		if (*seen & SEEN_MAX_AGE)
			return 0;
		*seen |= SEEN_MAX_AGE;
		uint64_t age;
		if (value.len > 10 || str_to_u64(value, UINT64_MAX, &age) < 0) {
			*error_r = "MTA-STS policy max_age malformed";
			return -1;
		}
		p->max_age = age > MTA_STS_MAX_AGE ? MTA_STS_MAX_AGE : (uint32_t)age;
	}
	/* Extensions (RFC 8461 3.2 sts-policy-extension) are ignored. */
	return 0;
}

int mta_sts_policy_parse(struct str text, struct mta_sts_policy *p, const char **error_r)
{
	memset(p, 0, sizeof(*p));
	if (text.len > MTA_STS_MAX_POLICY) {
		*error_r = "MTA-STS policy larger than 64 KiB";
		return -1;
	}
	unsigned seen = 0;
	struct str rest = text;
	while (rest.len > 0) {
		struct str line = next_field(&rest, '\n');
		if (line.len > 0 && line.ptr[line.len - 1] == '\r')
			line.len--;
		if (str_trim(line).len == 0)
			continue;
		if (policy_line(line, p, &seen, error_r) < 0) {
			memset(p, 0, sizeof(*p));
			return -1;
		}
	}
	const char *missing = !(seen & 1) ? "MTA-STS policy without version"
			      : !(seen & 2) ? "MTA-STS policy without mode"
			      : !(seen & 4) ? "MTA-STS policy without max_age"
			      : p->mode != MTA_STS_MODE_NONE && p->mx_count == 0
				      ? "MTA-STS policy without mx"
				      : NULL;
	if (missing != NULL) {
		memset(p, 0, sizeof(*p));
		*error_r = missing;
		return -1;
	}
	return 0;
}

bool mta_sts_mx_matches(const struct mta_sts_policy *p, struct str mx_host)
{
	if (p->mode == MTA_STS_MODE_NONE)
		return false;
	if (mx_host.len > 0 && mx_host.ptr[mx_host.len - 1] == '.')
		mx_host.len--;
	for (size_t i = 0; i < p->mx_count; i++) {
		const struct mta_sts_mx *mx = &p->mx[i];
		struct str pattern = str_from(mx->name, mx->len);
		if (!mx->wildcard) {
			if (str_case_eq(mx_host, pattern))
				return true;
			continue;
		}
		/* "*.example.net": one label, a dot, then exactly the pattern. */
		long dot = str_chr(mx_host, '.');
		if (dot <= 0)
			continue;
		if (str_case_eq(str_sub(mx_host, (size_t)dot + 1, mx_host.len), pattern))
			return true;
	}
	return false;
}

const char *mta_sts_mode_name(enum mta_sts_mode mode)
{
	switch (mode) {
	case MTA_STS_MODE_ENFORCE:
		return "enforce";
	case MTA_STS_MODE_TESTING:
		return "testing";
	case MTA_STS_MODE_NONE:
		break;
	}
	return "none";
}

long mta_sts_policy_format(const struct mta_sts_policy *p, char *out, size_t size)
{
	size_t len = 0;
	int n = snprintf(out, size, "version: STSv1\nmode: %s\nmax_age: %u\n",
			 mta_sts_mode_name(p->mode), (unsigned)p->max_age);
	if (n < 0 || (size_t)n >= size)
		return -1;
	len = (size_t)n;
	for (size_t i = 0; i < p->mx_count; i++) {
		n = snprintf(out + len, size - len, "mx: %s%.*s\n", p->mx[i].wildcard ? "*." : "",
			     (int)p->mx[i].len, p->mx[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return -1;
		len += (size_t)n;
	}
	assert(len < size);
	return (long)len;
}
