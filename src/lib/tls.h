#ifndef RAVELIN_TLS_H
#define RAVELIN_TLS_H
/*
 * tls: OpenSSL 3 server contexts and the first-run certificate.
 * Contexts allow TLS 1.2 and 1.3 only, with OpenSSL's default secure
 * ciphers, no compression, no renegotiation, and session tickets (except
 * the remote-key contexts of pre-auth processes).
 */
#include <openssl/ssl.h>

/* tls_server_ctx loads a PEM chain and key; NULL with *error_r on failure. */
SSL_CTX *tls_server_ctx(const char *cert_path, const char *key_path, const char **error_r);
/* tls_server_ctx_remote loads a PEM chain and uses, for the key, the leaf's
 * public key with private operations sent to the keys process (see
 * tls-key.h; each process sets its link with tls_key_set_fd).  No session
 * tickets, no session cache, no RSA key exchange.  NULL with *error_r. */
SSL_CTX *tls_server_ctx_remote(const char *cert_path, const char **error_r);
/* tls_server_ctx_remote_fd does that with the chain read from fd (from
 * its current offset; the descriptor stays the caller's): how a process
 * that may open no file gets a renewed certificate. */
SSL_CTX *tls_server_ctx_remote_fd(int fd, const char **error_r);
/* tls_make_self_signed writes a new P-256 key and a self-signed
 * certificate for hostname (valid ten years) unless both files exist.
 * The key file is created mode 0600.  Returns 1 if made, 0 if present,
 * -1 with *error_r. */
int tls_make_self_signed(const char *cert_path, const char *key_path, const char *hostname,
			 const char **error_r);
/* tls_check_files loads cert_path (a PEM chain) and key_path (its PEM
 * key) as a server would and checks that they belong together; 0, or -1
 * with the reason in err: the file that failed and OpenSSL's reason.  An
 * empty path is refused by name of its key, never shown as a path. */
int tls_check_files(const char *cert_path, const char *key_path, char *err, size_t err_size);
/* tls_error returns OpenSSL's last error as text (static buffer). */
const char *tls_error(void);

#endif
