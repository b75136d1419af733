/* tls: server contexts and the first-run self-signed certificate. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls-key.h"

const char *tls_error(void)
{
	static char text[256];
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	return text;
}

/* server_ctx_new makes a server context with the options every Ravelin
 * context has (TLS 1.2 and 1.3, no compression, no renegotiation). */
static SSL_CTX *server_ctx_new(const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = tls_error();
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				      SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert_path, const char *key_path, const char **error_r)
{
	SSL_CTX *ctx = server_ctx_new(error_r);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t err_size)
{
	const char *error;

	if (cert_path[0] == '\0' || key_path[0] == '\0') {
		snprintf(err, err_size, "%s is set but %s is not: give both",
			 cert_path[0] ? "tls.cert" : "tls.key", cert_path[0] ? "tls.key" : "tls.cert");
		return -1;
	}
	SSL_CTX *ctx = server_ctx_new(&error);
	if (ctx == NULL) {
		snprintf(err, err_size, "%s", error);
		return -1;
	}
	int r = -1;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1)
		snprintf(err, err_size, "TLS certificate %s: %s", cert_path, tls_error());
	else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1)
		snprintf(err, err_size, "TLS key %s: %s", key_path, tls_error());
	else if (SSL_CTX_check_private_key(ctx) != 1)
		snprintf(err, err_size, "TLS key %s does not belong to the certificate %s: %s",
			 key_path, cert_path, tls_error());
	else
		r = 0;
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return r;
}

/* use_chain sets ctx's certificate and chain from PEM text in bio: the
 * leaf first, then its issuers, as SSL_CTX_use_certificate_chain_file
 * would read them from a file.  1 on success, 0 with OpenSSL's error. */
static int use_chain(SSL_CTX *ctx, BIO *bio)
{
	X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (leaf == NULL || SSL_CTX_use_certificate(ctx, leaf) != 1) {
		X509_free(leaf);
		return 0;
	}
	X509_free(leaf);
	SSL_CTX_clear_chain_certs(ctx);
	X509 *ca;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			return 0;
		}
	}
	/* The end of the text is how the loop ends, not an error. */
	unsigned long e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	return ERR_peek_error() == 0;
}

SSL_CTX *tls_server_ctx_remote(const char *cert_path, const char **error_r)
{
	int fd = open(cert_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = strerror(errno);
		return NULL;
	}
	SSL_CTX *ctx = tls_server_ctx_remote_fd(fd, error_r);
	close(fd);
	return ctx;
}

SSL_CTX *tls_server_ctx_remote_fd(int fd, const char **error_r)
{
	SSL_CTX *ctx = server_ctx_new(error_r);
	if (ctx == NULL)
		return NULL;
	/* A pre-auth process holds no ticket key and lives for one
	 * connection, so there is nothing to resume: no tickets (TLS 1.3 and
	 * 1.2) and no session cache. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* RSA key exchange would need keys to decrypt, which it never does
	 * (a decryption oracle for whoever holds a link); ECDHE and DHE
	 * suites need only a signature. */
	ERR_clear_error();
	BIO *bio = BIO_new_fd(fd, BIO_NOCLOSE);
	if (bio == NULL || SSL_CTX_set_cipher_list(ctx, "DEFAULT:!kRSA") != 1 ||
	    use_chain(ctx, bio) != 1) {
		*error_r = tls_error();
		BIO_free(bio);
		SSL_CTX_free(ctx);
		return NULL;
	}
	BIO_free(bio);
	EVP_PKEY *key = tls_key_remote(SSL_CTX_get0_certificate(ctx), error_r);
	if (key == NULL) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(key);
	if (!ok) {
		*error_r = tls_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	int ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
			     : PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int tls_make_self_signed(const char *cert_path, const char *key_path, const char *hostname,
			 const char **error_r)
{
	if (access(cert_path, F_OK) == 0 && access(key_path, F_OK) == 0)
		return 0;

	int ret = -1;
	X509 *cert = NULL;
	X509_EXTENSION *ext = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	if (key == NULL || (cert = X509_new()) == NULL) {
		*error_r = tls_error();
		goto out;
	}
	X509_set_version(cert, 2);
	unsigned char serial[16];
	FILE *r = fopen("/dev/urandom", "re");
	if (r == NULL || fread(serial, 1, sizeof(serial), r) != sizeof(serial)) {
		if (r != NULL)
			fclose(r);
		*error_r = "cannot read /dev/urandom";
		goto out;
	}
	fclose(r);
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Ravelin", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(cert, name);
	char san[512];
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (ext == NULL || !X509_add_ext(cert, ext, -1) || !X509_sign(cert, key, EVP_sha256())) {
		*error_r = tls_error();
		goto out;
	}
	if (write_pem(key_path, 0600, key, NULL) < 0 || write_pem(cert_path, 0644, NULL, cert) < 0) {
		*error_r = strerror(errno);
		goto out;
	}
	ret = 1;
out:
	X509_EXTENSION_free(ext);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
