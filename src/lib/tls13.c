/* tls13: TLS 1.3 record layer for a handed-off connection (see tls13.h). */
#include "tls13.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

/* HandshakeType key_update and its request_update values (RFC 8446 4.6.3) */
#define TLS13_KEY_UPDATE 24
#define TLS13_UPDATE_NOT_REQUESTED 0
#define TLS13_UPDATE_REQUESTED 1
/* AlertLevel (RFC 8446 6) */
#define TLS13_LEVEL_WARNING 1
#define TLS13_LEVEL_FATAL 2
#define TLS13_LEGACY_VERSION 0x03
/* HkdfLabel (RFC 8446 7.1): length, label length, "tls13 " + label,
 * context length.  Our labels are at most "traffic upd", contexts empty. */
#define TLS13_LABEL_PREFIX "tls13 "
#define TLS13_MAX_LABEL_INFO 32

/* What a cipher suite fixes: the HKDF hash and the AEAD with its key size. */
struct tls13_params {
	uint16_t suite;
	const char *digest;
	size_t hash_len;
	size_t key_len;
	const EVP_CIPHER *(*cipher)(void);
};

static const struct tls13_params tls13_suites[] = {
	{ TLS13_AES_128_GCM_SHA256, "SHA256", 32, 16, EVP_aes_128_gcm },
	{ TLS13_AES_256_GCM_SHA384, "SHA384", 48, 32, EVP_aes_256_gcm },
	{ TLS13_CHACHA20_POLY1305_SHA256, "SHA256", 32, 32, EVP_chacha20_poly1305 },
};

/* Padding is encrypted from this block, a piece at a time. */
static const uint8_t tls13_zeros[256];

/* tls13_params_find returns the parameters of suite, or NULL. */
static const struct tls13_params *tls13_params_find(uint16_t suite)
{
	for (size_t i = 0; i < sizeof(tls13_suites) / sizeof(tls13_suites[0]); i++) {
		if (tls13_suites[i].suite == suite)
			return &tls13_suites[i];
	}
	return NULL;
}

/* tls13_expand_label writes HKDF-Expand-Label(secret, label, "", out_len)
 * (RFC 8446 7.1) to out.  Returns 0, or -1 if libcrypto failed. */
static int tls13_expand_label(const struct tls13_params *p, const uint8_t *secret,
			      const char *label, uint8_t *out, size_t out_len)
{
	uint8_t info[TLS13_MAX_LABEL_INFO];
	size_t prefix_len = strlen(TLS13_LABEL_PREFIX), label_len = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;

	assert(out_len <= TLS13_MAX_SECRET && prefix_len + label_len + 4 <= sizeof(info));
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(prefix_len + label_len);
	memcpy(info + n, TLS13_LABEL_PREFIX, prefix_len);
	n += prefix_len;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0;

	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)p->digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, p->hash_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
		OSSL_PARAM_construct_end(),
	};
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	int ok = ctx != NULL && EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* tls13_load_key derives the key and IV from d->secret (RFC 8446 7.3) and
 * loads the key into d->ctx for encrypting (enc = 1) or decrypting (0).
 * The key exists outside the context only on this function's stack. */
static int tls13_load_key(const struct tls13_params *p, struct tls13_direction *d, int enc)
{
	uint8_t key[TLS13_MAX_KEY];

	assert(p->key_len <= sizeof(key));
	int ok = tls13_expand_label(p, d->secret, "key", key, p->key_len) == 0 &&
		 tls13_expand_label(p, d->secret, "iv", d->iv, TLS13_IV_SIZE) == 0 &&
		 EVP_CipherInit_ex(d->ctx, p->cipher(), NULL, key, NULL, enc) == 1;
	OPENSSL_cleanse(key, sizeof(key));
	return ok ? 0 : -1;
}

/* tls13_next_generation replaces d's secret with the next one,
 * HKDF-Expand-Label(secret, "traffic upd", "", Hash.length), loads the key
 * and IV derived from it and restarts the record numbers at 0 (RFC 8446
 * 7.2).  The old secret is overwritten.  0, or -1 if libcrypto failed. */
static int tls13_next_generation(const struct tls13 *t, struct tls13_direction *d, int enc)
{
	const struct tls13_params *p = tls13_params_find(t->suite);
	uint8_t next[TLS13_MAX_SECRET];

	assert(p != NULL);
	if (tls13_expand_label(p, d->secret, "traffic upd", next, t->secret_len) < 0)
		return -1;
	memcpy(d->secret, next, t->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	d->seq = 0;
	return tls13_load_key(p, d, enc);
}

/* tls13_nonce makes the per-record nonce: the IV XORed with the 64-bit
 * big-endian record number, left-padded with zeros (RFC 8446 5.3). */
static void tls13_nonce(const struct tls13_direction *d, uint8_t nonce[TLS13_IV_SIZE])
{
	memcpy(nonce, d->iv, TLS13_IV_SIZE);
	for (size_t i = 0; i < sizeof(d->seq); i++)
		nonce[TLS13_IV_SIZE - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

/* tls13_cipher runs len bytes of in through ctx's cipher into *out (they
 * may be the same place) and advances *out by what it wrote. */
static bool tls13_cipher(EVP_CIPHER_CTX *ctx, uint8_t **out, const uint8_t *in, size_t len)
{
	int n = 0;

	assert(len <= TLS13_MAX_CIPHERTEXT);
	if (len == 0)
		return true;
	if (EVP_CipherUpdate(ctx, *out, &n, in, (int)len) != 1 || n < 0)
		return false;
	*out += n;
	return true;
}

/* tls13_kill marks the state dead with the first reason given; nothing is
 * sent to the peer.  Always returns -1. */
static int tls13_kill(struct tls13 *t, const char *why)
{
	if (!t->dead) {
		t->dead = true;
		t->error = why;
	}
	t->write_closed = true;
	return -1;
}

/* tls13_encrypt_inner encrypts content || type || padding zeros after the
 * record header at rec and appends the tag (RFC 8446 5.2). */
static bool tls13_encrypt_inner(struct tls13_direction *d, uint8_t *rec, uint8_t type,
				const uint8_t *data, size_t len, size_t padding)
{
	uint8_t nonce[TLS13_IV_SIZE], *p = rec + TLS13_HEADER_SIZE;
	int n = 0;

	tls13_nonce(d, nonce);
	if (EVP_EncryptInit_ex(d->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(d->ctx, NULL, &n, rec, TLS13_HEADER_SIZE) != 1 ||
	    !tls13_cipher(d->ctx, &p, data, len) || !tls13_cipher(d->ctx, &p, &type, 1))
		return false;
	while (padding > 0) {
		size_t chunk = padding < sizeof(tls13_zeros) ? padding : sizeof(tls13_zeros);
		if (!tls13_cipher(d->ctx, &p, tls13_zeros, chunk))
			return false;
		padding -= chunk;
	}
	if (EVP_EncryptFinal_ex(d->ctx, p, &n) != 1 || n != 0)
		return false;
	return EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, TLS13_TAG_SIZE, p) == 1;
}

/* tls13_seal appends one protected record under the write key and advances
 * the write record number.  -1 with errno ENOBUFS and out unchanged when
 * out has no room; -1 with the state dead when the record number is spent
 * (it must never wrap, RFC 8446 5.3) or libcrypto failed. */
static int tls13_seal(struct tls13 *t, uint8_t type, const uint8_t *data, size_t len,
		      size_t padding, struct buf *out)
{
	size_t inner = len + 1 + padding, length = inner + TLS13_TAG_SIZE;

	assert(len <= TLS13_MAX_PLAINTEXT && inner <= TLS13_MAX_PLAINTEXT + 1);
	if (t->write.seq == UINT64_MAX)
		return tls13_kill(t, "write record number exhausted");
	if (buf_reserve(out, TLS13_HEADER_SIZE + length) < 0)
		return -1;
	uint8_t *rec = (uint8_t *)out->data + out->len;
	rec[0] = TLS13_APPLICATION_DATA;
	rec[1] = TLS13_LEGACY_VERSION;
	rec[2] = TLS13_LEGACY_VERSION;
	rec[3] = (uint8_t)(length >> 8);
	rec[4] = (uint8_t)length;
	if (!tls13_encrypt_inner(&t->write, rec, type, data, len, padding))
		return tls13_kill(t, "record encryption failed");
	t->write.seq++;
	out->len += TLS13_HEADER_SIZE + length;
	out->data[out->len] = '\0';
	return 0;
}

/* tls13_fail queues a fatal alert for the peer (if out has room and we may
 * still write), marks the state dead and returns -1 with *error_r. */
static int tls13_fail(struct tls13 *t, struct buf *out, uint8_t alert, const char *why,
		      const char **error_r)
{
	if (!t->dead) {
		bool can_write = !t->write_closed;
		tls13_kill(t, why);
		if (can_write) {
			const uint8_t msg[2] = { TLS13_LEVEL_FATAL, alert };
			t->alert_sent = alert;
			(void)tls13_seal(t, TLS13_ALERT, msg, sizeof(msg), 0, out);
		}
	}
	*error_r = t->error;
	return -1;
}

/* tls13_send_key_update sends a KeyUpdate under the current write key,
 * then moves the write side to the next generation (RFC 8446 4.6.3).
 * 0, or -1 as tls13_seal. */
static int tls13_send_key_update(struct tls13 *t, uint8_t request, struct buf *out)
{
	const uint8_t msg[TLS13_MAX_HANDSHAKE] = { TLS13_KEY_UPDATE, 0, 0, 1, request };

	if (tls13_seal(t, TLS13_HANDSHAKE, msg, sizeof(msg), 0, out) < 0)
		return -1;
	if (tls13_next_generation(t, &t->write, 1) < 0)
		return tls13_kill(t, "deriving the next write key failed");
	return 0;
}

/* tls13_writable says whether records may still be written (errno EPIPE
 * when not). */
static bool tls13_writable(const struct tls13 *t)
{
	if (t->dead || t->write_closed) {
		errno = EPIPE;
		return false;
	}
	return true;
}

int tls13_init(struct tls13 *t, uint16_t suite, const uint8_t *client_secret,
	       const uint8_t *server_secret, size_t secret_len, uint64_t read_seq,
	       uint64_t write_seq, const char **error_r)
{
	const struct tls13_params *p = tls13_params_find(suite);

	memset(t, 0, sizeof(*t));
	t->alert_sent = -1;
	t->alert_received = -1;
	if (p == NULL) {
		tls13_clear(t);
		*error_r = "unsupported TLS 1.3 cipher suite";
		return -1;
	}
	if (secret_len != p->hash_len) {
		tls13_clear(t);
		*error_r = "traffic secret length does not match the suite's hash";
		return -1;
	}
	t->suite = suite;
	t->secret_len = secret_len;
	memcpy(t->read.secret, client_secret, secret_len);
	memcpy(t->write.secret, server_secret, secret_len);
	t->read.seq = read_seq;
	t->write.seq = write_seq;
	if ((t->read.ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    (t->write.ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    tls13_load_key(p, &t->read, 0) < 0 || tls13_load_key(p, &t->write, 1) < 0) {
		tls13_clear(t);
		*error_r = "deriving the traffic keys failed";
		return -1;
	}
	return 0;
}

void tls13_clear(struct tls13 *t)
{
	EVP_CIPHER_CTX_free(t->read.ctx);
	EVP_CIPHER_CTX_free(t->write.ctx);
	OPENSSL_cleanse(t, sizeof(*t));
	/* A cleared state refuses everything rather than touching NULL. */
	t->dead = true;
	t->write_closed = true;
	t->alert_sent = -1;
	t->alert_received = -1;
	t->error = "TLS state was cleared";
}

/* tls13_check_header validates a record header (RFC 8446 5.1, 5.2) and
 * gives the length of the protected part.  1, or -1 via tls13_fail. */
static int tls13_check_header(struct tls13 *t, const uint8_t *rec, size_t *length,
			      struct buf *out, const char **error_r)
{
	size_t n = (size_t)rec[3] << 8 | rec[4];

	if (rec[0] == TLS13_CHANGE_CIPHER_SPEC)
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "change_cipher_spec after the handshake", error_r);
	if (rec[0] != TLS13_APPLICATION_DATA)
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "unprotected record after the handshake", error_r);
	if (rec[1] != TLS13_LEGACY_VERSION || rec[2] != TLS13_LEGACY_VERSION)
		return tls13_fail(t, out, TLS13_ALERT_DECODE_ERROR,
				  "record version is not 0x0303", error_r);
	if (n > TLS13_MAX_CIPHERTEXT)
		return tls13_fail(t, out, TLS13_ALERT_RECORD_OVERFLOW,
				  "record longer than 2^14 + 256 bytes", error_r);
	/* Too short to hold a tag and a content type: it cannot authenticate. */
	if (n < TLS13_TAG_SIZE + 1)
		return tls13_fail(t, out, TLS13_ALERT_BAD_RECORD_MAC,
				  "record too short to be protected", error_r);
	*length = n;
	return 1;
}

/* tls13_open authenticates and decrypts in place the record at rec whose
 * protected part is length bytes; the inner plaintext is then at rec +
 * TLS13_HEADER_SIZE, length - TLS13_TAG_SIZE bytes.  The header is the
 * additional data (RFC 8446 5.2). */
static bool tls13_open(struct tls13_direction *d, uint8_t *rec, size_t length)
{
	uint8_t nonce[TLS13_IV_SIZE], *p = rec + TLS13_HEADER_SIZE;
	size_t inner = length - TLS13_TAG_SIZE;
	int n = 0;

	tls13_nonce(d, nonce);
	return EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, nonce) == 1 &&
	       EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, TLS13_TAG_SIZE, p + inner) == 1 &&
	       EVP_DecryptUpdate(d->ctx, NULL, &n, rec, TLS13_HEADER_SIZE) == 1 &&
	       tls13_cipher(d->ctx, &p, p, inner) && EVP_DecryptFinal_ex(d->ctx, p, &n) == 1;
}

/* tls13_read_alert acts on an alert record: close_notify closes the
 * connection (0, our close_notify appended), any other alert is fatal and
 * needs no answer (RFC 8446 6). */
static int tls13_read_alert(struct tls13 *t, const uint8_t *p, size_t len, struct buf *out,
			    const char **error_r)
{
	if (len != 2)
		return tls13_fail(t, out, TLS13_ALERT_DECODE_ERROR,
				  "alert record does not hold exactly one alert", error_r);
	t->alert_received = p[1];
	if (p[1] != TLS13_ALERT_CLOSE_NOTIFY) {
		tls13_kill(t, "the client sent an alert");
		*error_r = t->error;
		return -1;
	}
	t->peer_closed = true;
	if (tls13_close_notify(t, out) < 0) {
		*error_r = t->dead ? t->error : "no room for close_notify";
		return -1;
	}
	return 0;
}

/* tls13_key_update_received moves the read side to the next generation
 * and, when asked, answers with our own KeyUpdate (RFC 8446 4.6.3). */
static int tls13_key_update_received(struct tls13 *t, uint8_t request, struct buf *out,
				     const char **error_r)
{
	if (request != TLS13_UPDATE_NOT_REQUESTED && request != TLS13_UPDATE_REQUESTED)
		return tls13_fail(t, out, TLS13_ALERT_ILLEGAL_PARAMETER,
				  "KeyUpdate request_update is neither 0 nor 1", error_r);
	if (tls13_next_generation(t, &t->read, 0) < 0)
		return tls13_fail(t, out, TLS13_ALERT_INTERNAL_ERROR,
				  "deriving the next read key failed", error_r);
	/* After our close_notify nothing more may be sent, not even this. */
	if (request == TLS13_UPDATE_REQUESTED && !t->write_closed &&
	    tls13_send_key_update(t, TLS13_UPDATE_NOT_REQUESTED, out) < 0)
		return tls13_fail(t, out, TLS13_ALERT_INTERNAL_ERROR,
				  "cannot answer KeyUpdate", error_r);
	return 1;
}

/* tls13_read_handshake reassembles the handshake bytes of one record into
 * t->handshake.  Only KeyUpdate is legal after the handshake, so any other
 * message type fails at its first byte and the buffer never holds more
 * than TLS13_MAX_HANDSHAKE.  A KeyUpdate must end its record: handshake
 * messages may not span a key change (RFC 8446 5.1). */
static int tls13_read_handshake(struct tls13 *t, const uint8_t *p, size_t len,
				struct buf *out, const char **error_r)
{
	uint8_t *h = t->handshake;

	if (len == 0)
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "empty handshake record", error_r);
	for (size_t i = 0; i < len; i++) {
		if (t->handshake_len == 0 && p[i] != TLS13_KEY_UPDATE)
			return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
					  "handshake message other than KeyUpdate", error_r);
		assert(t->handshake_len < TLS13_MAX_HANDSHAKE);
		h[t->handshake_len++] = p[i];
		if (t->handshake_len == TLS13_HANDSHAKE_HEADER && (h[1] != 0 || h[2] != 0 || h[3] != 1))
			return tls13_fail(t, out, TLS13_ALERT_DECODE_ERROR,
					  "KeyUpdate length is not 1", error_r);
		if (t->handshake_len == TLS13_MAX_HANDSHAKE) {
			if (i + 1 != len)
				return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
						  "KeyUpdate does not end its record", error_r);
			t->handshake_len = 0;
			return tls13_key_update_received(t, h[TLS13_HANDSHAKE_HEADER], out, error_r);
		}
	}
	return 1;
}

/* tls13_dispatch acts on one decrypted inner plaintext of len bytes at p
 * (content, type, padding; RFC 8446 5.4).  plain has room for the content. */
static int tls13_dispatch(struct tls13 *t, const uint8_t *p, size_t len, struct buf *plain,
			  struct buf *out, const char **error_r)
{
	if (len > TLS13_MAX_PLAINTEXT + 1)
		return tls13_fail(t, out, TLS13_ALERT_RECORD_OVERFLOW,
				  "inner plaintext longer than 2^14 + 1 bytes", error_r);
	while (len > 0 && p[len - 1] == 0)
		len--;
	if (len == 0)
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "record without a content type", error_r);
	uint8_t type = p[--len];
	if (t->handshake_len > 0 && type != TLS13_HANDSHAKE)
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "handshake message interleaved with another record", error_r);
	switch (type) {
	case TLS13_APPLICATION_DATA:
		if (buf_append(plain, p, len) < 0)
			return tls13_fail(t, out, TLS13_ALERT_INTERNAL_ERROR,
					  "out of memory for application data", error_r);
		return 1;
	case TLS13_ALERT:
		return tls13_read_alert(t, p, len, out, error_r);
	case TLS13_HANDSHAKE:
		return tls13_read_handshake(t, p, len, out, error_r);
	case TLS13_CHANGE_CIPHER_SPEC:
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "change_cipher_spec after the handshake", error_r);
	default:
		return tls13_fail(t, out, TLS13_ALERT_UNEXPECTED_MESSAGE,
				  "unknown record content type", error_r);
	}
}

/* tls13_read_record decrypts the complete record at rec (protected part of
 * length bytes) and acts on it.  The record number must not be the last
 * one: using it would need the counter to wrap next (RFC 8446 5.3). */
static int tls13_read_record(struct tls13 *t, uint8_t *rec, size_t length, struct buf *plain,
			     struct buf *out, const char **error_r)
{
	if (t->read.seq == UINT64_MAX)
		return tls13_fail(t, out, TLS13_ALERT_INTERNAL_ERROR,
				  "read record number exhausted", error_r);
	if (!tls13_open(&t->read, rec, length))
		return tls13_fail(t, out, TLS13_ALERT_BAD_RECORD_MAC,
				  "record failed authentication", error_r);
	t->read.seq++;
	return tls13_dispatch(t, rec + TLS13_HEADER_SIZE, length - TLS13_TAG_SIZE, plain, out,
			      error_r);
}

/* tls13_has_room says whether plain can take the largest content a record
 * of this length may hold and out one control record. */
static bool tls13_has_room(const struct buf *plain, const struct buf *out, size_t length)
{
	size_t most = length - TLS13_TAG_SIZE - 1;

	if (most > TLS13_MAX_PLAINTEXT)
		most = TLS13_MAX_PLAINTEXT;
	return plain->max - plain->len >= most && out->max - out->len >= TLS13_CONTROL_RECORD;
}

int tls13_read(struct tls13 *t, struct buf *in, struct buf *plain, struct buf *out,
	       const char **error_r)
{
	size_t at = 0, length = 0;
	int ret = 1;

	if (t->dead) {
		*error_r = t->error;
		return -1;
	}
	if (t->peer_closed)
		return 0;
	/* Smaller buffers could never take a full record: we would stall. */
	if (plain->max < TLS13_MAX_PLAINTEXT || out->max < TLS13_CONTROL_RECORD)
		return tls13_fail(t, out, TLS13_ALERT_INTERNAL_ERROR,
				  "buffers too small for a TLS record", error_r);
	while (ret == 1 && in->len - at >= TLS13_HEADER_SIZE) {
		uint8_t *rec = (uint8_t *)in->data + at;
		ret = tls13_check_header(t, rec, &length, out, error_r);
		if (ret < 0 || in->len - at - TLS13_HEADER_SIZE < length ||
		    !tls13_has_room(plain, out, length))
			break;
		ret = tls13_read_record(t, rec, length, plain, out, error_r);
		at += TLS13_HEADER_SIZE + length;
	}
	buf_consume(in, at);
	return ret;
}

int tls13_write_record(struct tls13 *t, uint8_t type, const void *data, size_t len,
		       size_t padding, struct buf *out)
{
	if (!tls13_writable(t))
		return -1;
	if (len > TLS13_MAX_PLAINTEXT || padding > TLS13_MAX_PLAINTEXT - len) {
		errno = EINVAL;
		return -1;
	}
	return tls13_seal(t, type, data, len, padding, out);
}

int tls13_write(struct tls13 *t, const void *data, size_t len, struct buf *out)
{
	const uint8_t *p = data;

	if (!tls13_writable(t))
		return -1;
	/* Reserve everything first so that a full out writes nothing. */
	size_t records = len / TLS13_MAX_PLAINTEXT + (len % TLS13_MAX_PLAINTEXT != 0);
	size_t updates = records / TLS13_REKEY_RECORDS + 1;
	size_t overhead = records * (TLS13_HEADER_SIZE + 1 + TLS13_TAG_SIZE) +
			  updates * TLS13_CONTROL_RECORD;
	if (len > SIZE_MAX - overhead || buf_reserve(out, len + overhead) < 0) {
		errno = ENOBUFS;
		return -1;
	}
	for (size_t at = 0; at < len;) {
		size_t n = len - at < TLS13_MAX_PLAINTEXT ? len - at : TLS13_MAX_PLAINTEXT;
		if (t->write.seq >= TLS13_REKEY_RECORDS &&
		    tls13_send_key_update(t, TLS13_UPDATE_NOT_REQUESTED, out) < 0)
			return -1;
		if (tls13_seal(t, TLS13_APPLICATION_DATA, p + at, n, 0, out) < 0)
			return -1;
		at += n;
	}
	return 0;
}

int tls13_key_update(struct tls13 *t, bool request_update, struct buf *out)
{
	if (!tls13_writable(t))
		return -1;
	return tls13_send_key_update(t, request_update ? TLS13_UPDATE_REQUESTED
						       : TLS13_UPDATE_NOT_REQUESTED, out);
}

int tls13_close_notify(struct tls13 *t, struct buf *out)
{
	const uint8_t msg[2] = { TLS13_LEVEL_WARNING, TLS13_ALERT_CLOSE_NOTIFY };

	if (t->dead) {
		errno = EPIPE;
		return -1;
	}
	if (t->write_closed)
		return 0;
	if (tls13_seal(t, TLS13_ALERT, msg, sizeof(msg), 0, out) < 0)
		return -1;
	t->write_closed = true;
	return 0;
}
