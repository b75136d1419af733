/* dkim-sign: DKIM-Signature header fields (see dkim-sign.h). */
#include <assert.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "dkim-sign.h"

/* The fields signed when the message has them: those a reader sees or a
 * client threads by, and those that say how to read the body. */
static const char *const signed_fields[] = {
	"from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to",
	"references", "mime-version", "content-type", "content-transfer-encoding",
};
/* Column past which a folded line of ours is broken (RFC 5322 2.1.1: 78). */
#define SIGN_FOLD_COLUMN 76
/* Room for the signed header fields and the signature field, canonical. */
#define SIGN_DATA_MAX (DKIM_HEADER_MAX_BYTES + 4096)

static const char *alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

int dkim_sign_data(enum dkim_alg alg, EVP_PKEY *pkey, struct str data, uint8_t *sig,
		   size_t *len)
{
	uint8_t hash[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t room = DKIM_SIG_MAX;
	int r = -1;

	if (md == NULL)
		return -1;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		SHA256((const unsigned char *)data.ptr, data.len, hash);
		if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(md, sig, &room, hash, sizeof(hash)) == 1)
			r = 0;
	} else if (EVP_PKEY_get_size(pkey) <= DKIM_SIG_MAX &&
		   EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		   EVP_DigestSign(md, sig, &room, (const unsigned char *)data.ptr, data.len) == 1) {
		r = 0;
	}
	EVP_MD_CTX_free(md);
	if (r < 0)
		ERR_clear_error();
	*len = room;
	return r;
}

int dkim_verify_data(enum dkim_alg alg, EVP_PKEY *pkey, struct str data, const uint8_t *sig,
		     size_t len)
{
	uint8_t hash[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = 0;

	if (md == NULL)
		return 0;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		SHA256((const unsigned char *)data.ptr, data.len, hash);
		r = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, sig, len, hash, sizeof(hash)) == 1;
	} else {
		r = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, sig, len, (const unsigned char *)data.ptr, data.len) == 1;
	}
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return r;
}

/* field_count counts the fields of h named name. */
static size_t field_count(const struct dkim_header *h, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < h->count; i++)
		n += str_case_eq(h->fields[i].name, str_c(name));
	return n;
}

/* fold_append appends text to out, breaking the line (CRLF TAB) first if
 * it would pass the fold column; *column follows the current line. */
static int fold_append(struct buf *out, size_t *column, struct str text)
{
	if (*column + text.len > SIGN_FOLD_COLUMN && *column > 1) {
		if (buf_append(out, "\r\n\t", 3) < 0)
			return -1;
		*column = 1;
	}
	*column += text.len;
	return buf_append_str(out, text);
}

/* base64 writes n octets of p to out as base64, no line ends. */
static int base64(struct buf *out, const uint8_t *p, size_t n)
{
	size_t need = 4 * ((n + 2) / 3);
	if (buf_reserve(out, need + 1) < 0)
		return -1;
	int len = EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
	out->len += (size_t)len;
	out->data[out->len] = '\0';
	return 0;
}

/* field_start writes every tag but b='s value: the field as signed. */
static int field_start(const struct dkim_signer *s, const struct dkim_header *h,
		       const uint8_t body_hash[DKIM_HASH_LEN], int64_t now, struct buf *out)
{
	char tag[DKIM_SELECTOR_MAX + 64];
	size_t column = 0;
	struct buf tmp;
	int r = 0;

	snprintf(tag, sizeof(tag), "DKIM-Signature: v=1; a=%s;", alg_name(s->alg));
	r |= fold_append(out, &column, str_c(tag));
	r |= fold_append(out, &column, STR(" c=relaxed/relaxed;"));
	r |= fold_append(out, &column, STR(" d="));
	r |= buf_append_str(out, s->domain);
	column += s->domain.len;
	r |= buf_putc(out, ';');
	snprintf(tag, sizeof(tag), " s=%.*s;", (int)s->selector.len, s->selector.ptr);
	r |= fold_append(out, &column, str_c(tag));
	snprintf(tag, sizeof(tag), " t=%lld;", (long long)now);
	r |= fold_append(out, &column, str_c(tag));
	r |= fold_append(out, &column, STR(" h="));
	bool first = true;
	for (size_t i = 0; i < sizeof(signed_fields) / sizeof(signed_fields[0]); i++) {
		size_t n = field_count(h, signed_fields[i]);
		if (strcmp(signed_fields[i], "from") == 0)
			n++;
		for (; n > 0; n--) {
			snprintf(tag, sizeof(tag), "%s%s", first ? "" : ":", signed_fields[i]);
			r |= fold_append(out, &column, str_c(tag));
			first = false;
		}
	}
	r |= buf_putc(out, ';');
	column++;
	buf_init(&tmp, 128);
	r |= buf_append(&tmp, " bh=", 4);
	r |= base64(&tmp, body_hash, DKIM_HASH_LEN);
	r |= buf_putc(&tmp, ';');
	r |= fold_append(out, &column, buf_str(&tmp));
	buf_free(&tmp);
	r |= fold_append(out, &column, STR(" b="));
	return r != 0 ? -1 : 0;
}

/* h_list gives the h= value of the field field_start wrote. */
static struct str h_list(struct str field)
{
	const char *p = memmem(field.ptr, field.len, " h=", 3);
	assert(p != NULL);
	p += 3;
	const char *end = memchr(p, ';', field.len - (size_t)(p - field.ptr));
	assert(end != NULL);
	return str_from(p, (size_t)(end - p));
}

int dkim_sign(const struct dkim_signer *s, const struct dkim_header *h,
	      const uint8_t body_hash[DKIM_HASH_LEN], int64_t now, struct buf *out,
	      const char **error_r)
{
	struct buf field, data;
	uint8_t sig[DKIM_SIG_MAX];
	size_t sig_len = 0;
	int r = -1;

	if (s->selector.len == 0 || s->selector.len > DKIM_SELECTOR_MAX || s->domain.len == 0) {
		*error_r = "bad selector or domain";
		return -1;
	}
	buf_init(&field, 8192);
	buf_init(&data, SIGN_DATA_MAX);
	*error_r = "out of memory";
	if (field_start(s, h, body_hash, now, &field) < 0)
		goto out;
	if (dkim_canon_signed_headers(DKIM_CANON_RELAXED, h, h_list(buf_str(&field)),
				      buf_str(&field), &data, error_r) < 0)
		goto out;
	if (dkim_sign_data(s->alg, s->pkey, buf_str(&data), sig, &sig_len) < 0) {
		*error_r = "the key does not sign";
		goto out;
	}
	/* b= in lines of SIGN_FOLD_COLUMN: folding inside b='s value is
	 * white space a verifier drops with the value. */
	buf_reset(&data);
	if (base64(&data, sig, sig_len) < 0)
		goto out;
	size_t column = SIGN_FOLD_COLUMN; /* the first piece on a line of its own */
	for (size_t i = 0; i < data.len; i += SIGN_FOLD_COLUMN - 8) {
		struct str piece = str_sub(buf_str(&data), i, SIGN_FOLD_COLUMN - 8);
		if (fold_append(&field, &column, piece) < 0)
			goto out;
	}
	if (buf_append(&field, "\r\n", 2) < 0 || buf_append_str(out, buf_str(&field)) < 0)
		goto out;
	r = 0;
out:
	buf_free(&field);
	buf_free(&data);
	return r;
}

int dkim_sign_message(const struct dkim_signer *s, struct str message, int64_t now,
		      struct buf *out, const char **error_r)
{
	struct dkim_body_hash bh;
	struct dkim_header h;
	uint8_t hash[DKIM_HASH_LEN];
	long body = dkim_header_end(message);

	if (body < 0) {
		*error_r = "header block too big";
		return -1;
	}
	if (dkim_body_hash_init(&bh, DKIM_CANON_RELAXED, DKIM_BODY_NO_LIMIT) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	dkim_body_hash_update(&bh, message.ptr + body, message.len - (size_t)body);
	if (dkim_body_hash_final(&bh, hash) < 0) {
		*error_r = "body hash failed";
		return -1;
	}
	if (dkim_header_split(str_from(message.ptr, (size_t)body), &h, error_r) < 0)
		return -1;
	int r = dkim_sign(s, &h, hash, now, out, error_r);
	dkim_header_free(&h);
	return r;
}
