/* tls-tap: a TLS connection's socket, kept ready for a hand-off (see tls-tap.h). */
#include "tls-tap.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <sodium.h>

/* Record header: type, legacy version (2), length (2). */
#define TAP_HEADER 5

static BIO_METHOD *tap_method;
static int tap_index = -1;

/* tap_read gives OpenSSL bytes of whole records only (see tls-tap.h). */
static int tap_read(BIO *bio, char *out, int want)
{
	struct tls_tap *t = BIO_get_data(bio);

	BIO_clear_retry_flags(bio);
	if (want <= 0)
		return 0;
	if (t->rec_given == t->rec_need) {
		t->rec_have = t->rec_given = 0;
		t->rec_need = TAP_HEADER;
	}
	while (t->rec_have < t->rec_need) {
		ssize_t n = read(t->fd, t->rec + t->rec_have, t->rec_need - t->rec_have);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			BIO_set_retry_read(bio);
			return -1;
		}
		if (n <= 0)
			return (int)n;
		t->rec_have += (size_t)n;
		if (t->rec_need == TAP_HEADER && t->rec_have == TAP_HEADER) {
			size_t len = ((size_t)t->rec[3] << 8) | t->rec[4];
			/* An oversized record is OpenSSL's to refuse: it gets the
			 * header alone and fails on it. */
			if (TAP_HEADER + len <= TLS_TAP_RECORD_MAX)
				t->rec_need = TAP_HEADER + len;
		}
	}
	size_t n = t->rec_need - t->rec_given;
	if (n > (size_t)want)
		n = (size_t)want;
	memcpy(out, t->rec + t->rec_given, n);
	t->rec_given += n;
	if (t->rec_given == t->rec_need && t->counting && t->rec_need > TAP_HEADER)
		t->records_in++;
	return (int)n;
}

/* count_out follows the record boundaries in bytes OpenSSL wrote. */
static void count_out(struct tls_tap *t, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (t->out_left > 0) {
			size_t k = n < t->out_left ? n : t->out_left;
			t->out_left -= k;
			p += k;
			n -= k;
			if (t->out_left == 0 && t->counting)
				t->records_out++;
			continue;
		}
		t->out_hdr[t->out_hdr_len++] = *p++;
		n--;
		if (t->out_hdr_len == TAP_HEADER) {
			t->out_left = ((size_t)t->out_hdr[3] << 8) | t->out_hdr[4];
			t->out_hdr_len = 0;
			if (t->out_left == 0 && t->counting)
				t->records_out++;
		}
	}
}

static int tap_write(BIO *bio, const char *data, int len)
{
	struct tls_tap *t = BIO_get_data(bio);

	BIO_clear_retry_flags(bio);
	if (len <= 0)
		return 0;
	ssize_t n = write(t->fd, data, (size_t)len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(bio);
		return -1;
	}
	count_out(t, (const unsigned char *)data, (size_t)n);
	return (int)n;
}

static long tap_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* keylog takes the two secrets a hand-off needs from OpenSSL's keylog
 * line "LABEL <client random> <secret>", in hex. */
static void keylog(const SSL *ssl, const char *line)
{
	struct tls_tap *t = SSL_get_ex_data(ssl, tap_index);
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char server[] = "SERVER_TRAFFIC_SECRET_0 ";
	unsigned char *into;
	size_t *len;

	if (t == NULL)
		return;
	if (strncmp(line, client, sizeof(client) - 1) == 0) {
		into = t->client_secret;
		len = &t->client_len;
	} else if (strncmp(line, server, sizeof(server) - 1) == 0) {
		into = t->server_secret;
		len = &t->server_len;
	} else {
		return;
	}
	const char *hex = strrchr(line, ' ');
	if (hex == NULL || sodium_hex2bin(into, HANDOFF_MAX_SECRET, hex + 1, strlen(hex + 1), NULL,
					  len, NULL) != 0)
		*len = 0;
}

/* A KeyUpdate either way makes the secrets held stale. */
static void message_seen(int write_p, int version, int content_type, const void *buf,
			 size_t len, SSL *ssl, void *arg)
{
	struct tls_tap *t = arg;
	(void)write_p;
	(void)version;
	(void)ssl;
	if (content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE)
		t->key_update = true;
}

int tls_tap_attach(SSL *ssl, struct tls_tap *tap, int fd)
{
	if (tap_method == NULL) {
		tap_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ravelin-tap");
		if (tap_method == NULL || !BIO_meth_set_read(tap_method, tap_read) ||
		    !BIO_meth_set_write(tap_method, tap_write) ||
		    !BIO_meth_set_ctrl(tap_method, tap_ctrl))
			return -1;
		tap_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (tap_index < 0)
			return -1;
	}
	memset(tap, 0, sizeof(*tap));
	tap->fd = fd;
	tap->rec_need = TAP_HEADER;
	BIO *bio = BIO_new(tap_method);
	if (bio == NULL)
		return -1;
	BIO_set_data(bio, tap);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_ex_data(ssl, tap_index, tap);
	SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(ssl), keylog);
	SSL_set_msg_callback(ssl, message_seen);
	SSL_set_msg_callback_arg(ssl, tap);
	/* A session ticket would be written after the handshake under the
	 * traffic key; none is made (this process holds no ticket key). */
	SSL_set_num_tickets(ssl, 0);
	SSL_set_options(ssl, SSL_OP_NO_TICKET);
	return 0;
}

void tls_tap_handshake_done(struct tls_tap *tap)
{
	tap->counting = true;
}

int tls_tap_export(SSL *ssl, const struct tls_tap *tap, struct handoff *h, const char **why_r)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	uint16_t suite = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
	size_t want = suite == 0x1302 ? 48 : 32;

	if (SSL_version(ssl) != TLS1_3_VERSION)
		*why_r = "not TLS 1.3";
	else if (suite != 0x1301 && suite != 0x1302 && suite != 0x1303)
		*why_r = "a cipher suite the worker does not speak";
	else if (tap->client_len != want || tap->server_len != want)
		*why_r = "the traffic secrets are not known";
	else if (tap->key_update)
		*why_r = "keys were updated";
	else if (tap->out_left != 0 || tap->out_hdr_len != 0 || SSL_want_write(ssl))
		*why_r = "a record is half written";
	else if (tap->rec_given != 0 && tap->rec_given != tap->rec_need)
		*why_r = "a record is half read";
	else if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl))
		*why_r = "decrypted bytes are left";
	else
		*why_r = NULL;
	if (*why_r != NULL)
		return -1;
	h->mode = HANDOFF_TLS13;
	h->suite = suite;
	h->secret_len = want;
	memcpy(h->client_secret, tap->client_secret, want);
	memcpy(h->server_secret, tap->server_secret, want);
	h->read_seq = tap->records_in;
	h->write_seq = tap->records_out;
	/* Bytes of a record OpenSSL has not been given travel as they came. */
	bool whole = tap->rec_given == tap->rec_need;
	h->cipher_in = str_from((const char *)tap->rec, whole ? 0 : tap->rec_have);
	return 0;
}

void tls_tap_wipe(struct tls_tap *tap)
{
	sodium_memzero(tap->client_secret, sizeof(tap->client_secret));
	sodium_memzero(tap->server_secret, sizeof(tap->server_secret));
	tap->client_len = tap->server_len = 0;
}
