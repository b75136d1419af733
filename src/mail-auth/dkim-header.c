/* dkim-header: a header block split into fields (see dkim-header.h). */
#include <stdlib.h>

#include "dkim-header.h"

/* line_end gives the offset after the line that starts at i (its LF
 * included), or s.len for a last line without one. */
static size_t line_end(struct str s, size_t i)
{
	while (i < s.len && s.ptr[i] != '\n')
		i++;
	return i < s.len ? i + 1 : s.len;
}

static bool is_empty_line(struct str s, size_t i)
{
	return (i < s.len && s.ptr[i] == '\n') ||
	       (i + 1 < s.len && s.ptr[i] == '\r' && s.ptr[i + 1] == '\n');
}

long dkim_header_end(struct str message)
{
	size_t i = 0;
	while (i < message.len && !is_empty_line(message, i)) {
		i = line_end(message, i);
		if (i > DKIM_HEADER_MAX_BYTES)
			return -1;
	}
	if (i < message.len)
		i = line_end(message, i);
	return i > DKIM_HEADER_MAX_BYTES + 2 ? -1 : (long)i;
}

/* without_end drops the line end from text. */
static struct str without_end(struct str text)
{
	if (text.len > 0 && text.ptr[text.len - 1] == '\n')
		text.len--;
	if (text.len > 0 && text.ptr[text.len - 1] == '\r')
		text.len--;
	return text;
}

int dkim_header_split(struct str block, struct dkim_header *h, const char **error_r)
{
	h->count = 0;
	h->fields = NULL;
	if (block.len > DKIM_HEADER_MAX_BYTES + 2) {
		*error_r = "header block too big";
		return -1;
	}
	size_t i = 0;
	while (i < block.len && !is_empty_line(block, i)) {
		size_t start = i;
		i = line_end(block, i);
		while (i < block.len && (block.ptr[i] == ' ' || block.ptr[i] == '\t'))
			i = line_end(block, i);
		if (h->count == DKIM_HEADER_MAX_FIELDS) {
			*error_r = "too many header fields";
			dkim_header_free(h);
			return -1;
		}
		if (h->fields == NULL) {
			/* Not cleared: each field is written when counted, and
			 * none past count is read (32 KB cleared per message cost
			 * the pre-auth process page faults for nothing). */
			h->fields = malloc(DKIM_HEADER_MAX_FIELDS * sizeof(*h->fields));
			if (h->fields == NULL) {
				*error_r = "out of memory";
				return -1;
			}
		}
		struct dkim_field *f = &h->fields[h->count++];
		f->text = without_end(str_from(block.ptr + start, i - start));
		long colon = str_chr(f->text, ':');
		f->name = str_from(f->text.ptr, colon < 0 ? 0 : (size_t)colon);
		while (f->name.len > 0 && (f->name.ptr[f->name.len - 1] == ' ' ||
					   f->name.ptr[f->name.len - 1] == '\t'))
			f->name.len--;
	}
	return 0;
}

void dkim_header_free(struct dkim_header *h)
{
	free(h->fields);
	h->fields = NULL;
	h->count = 0;
}
