/* dkim-tags: the tag=value list of RFC 6376 3.2 (see dkim-tags.h). */
#include <assert.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim-tags.h"

bool dkim_tags_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 6376 3.2 VALCHAR: printable ASCII but ';'. */
static bool is_valchar(char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

static bool is_name_char(char c)
{
	return str_is_alpha((unsigned char)c) || (c >= '0' && c <= '9') || c == '_';
}

/* parse_spec reads one tag-spec (the text between two ';') into tag. */
static int parse_spec(struct str spec, struct dkim_tag *tag, const char **error_r)
{
	size_t i = 0;

	while (i < spec.len && dkim_tags_is_fws(spec.ptr[i]))
		i++;
	size_t name_start = i;
	if (i == spec.len || !str_is_alpha((unsigned char)spec.ptr[i])) {
		*error_r = "a tag name must start with a letter";
		return -1;
	}
	while (i < spec.len && is_name_char(spec.ptr[i]))
		i++;
	if (i - name_start > DKIM_TAG_NAME_MAX) {
		*error_r = "tag name too long";
		return -1;
	}
	tag->name = str_from(spec.ptr + name_start, i - name_start);
	while (i < spec.len && dkim_tags_is_fws(spec.ptr[i]))
		i++;
	if (i == spec.len || spec.ptr[i] != '=') {
		*error_r = "a tag has no '='";
		return -1;
	}
	i++;
	while (i < spec.len && dkim_tags_is_fws(spec.ptr[i]))
		i++;
	size_t end = spec.len;
	while (end > i && dkim_tags_is_fws(spec.ptr[end - 1]))
		end--;
	for (size_t j = i; j < end; j++) {
		if (!is_valchar(spec.ptr[j]) && !dkim_tags_is_fws(spec.ptr[j])) {
			*error_r = "a tag value has a byte outside printable ASCII";
			return -1;
		}
	}
	if (end - i > DKIM_TAG_VALUE_MAX) {
		*error_r = "tag value too long";
		return -1;
	}
	tag->value = str_from(spec.ptr + i, end - i);
	return 0;
}

int dkim_tags_parse(struct str text, struct dkim_tags *t, const char **error_r)
{
	t->count = 0;
	if (text.len > DKIM_TAGS_TEXT_MAX) {
		*error_r = "tag list too long";
		return -1;
	}
	size_t start = 0;
	while (start <= text.len) {
		size_t end = start;
		while (end < text.len && text.ptr[end] != ';')
			end++;
		struct str spec = str_from(text.ptr + start, end - start);
		if (str_trim(spec).len == 0) {
			/* Only a final ';' (or an empty list) may leave nothing. */
			if (end < text.len || (t->count == 0 && start > 0)) {
				*error_r = "empty tag in the list";
				return -1;
			}
			break;
		}
		if (t->count == DKIM_TAGS_MAX) {
			*error_r = "too many tags";
			return -1;
		}
		struct dkim_tag *tag = &t->tag[t->count];
		if (parse_spec(spec, tag, error_r) < 0)
			return -1;
		for (size_t k = 0; k < t->count; k++) {
			if (str_eq(t->tag[k].name, tag->name)) {
				*error_r = "a tag appears twice";
				return -1;
			}
		}
		t->count++;
		start = end + 1;
	}
	return 0;
}

bool dkim_tags_get(const struct dkim_tags *t, const char *name, struct str *value_r)
{
	struct str n = str_c(name);
	for (size_t i = 0; i < t->count; i++) {
		if (str_eq(t->tag[i].name, n)) {
			*value_r = t->tag[i].value;
			return true;
		}
	}
	return false;
}

long dkim_tags_base64(struct str value, uint8_t *out, size_t max)
{
	/* OpenSSL decodes; what is checked here is that the text is the one
	 * canonical spelling of what it decodes to (re-encoded, it is equal). */
	unsigned char text[DKIM_TAG_VALUE_MAX + 4], decoded[DKIM_TAG_VALUE_MAX];
	unsigned char again[DKIM_TAG_VALUE_MAX + 4];
	size_t n = 0;

	if (value.len > DKIM_TAG_VALUE_MAX)
		return -1;
	for (size_t i = 0; i < value.len; i++)
		if (!dkim_tags_is_fws(value.ptr[i]))
			text[n++] = (unsigned char)value.ptr[i];
	if (n == 0)
		return 0;
	size_t pads = (text[n - 1] == '=') + (n >= 2 && text[n - 2] == '=');
	if (n % 4 != 0 || n / 4 * 3 - pads > max)
		return -1;
	int len = EVP_DecodeBlock(decoded, text, (int)n);
	if (len < 0 || EVP_EncodeBlock(again, decoded, len - (int)pads) != (int)n ||
	    memcmp(again, text, n) != 0)
		return -1;
	memcpy(out, decoded, (size_t)len - pads);
	return (long)((size_t)len - pads);
}
