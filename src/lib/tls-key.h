#ifndef RAVELIN_TLS_KEY_H
#define RAVELIN_TLS_KEY_H
/*
 * tls-key: a TLS private key that lives in another process.  The EVP_PKEY
 * made here holds only the certificate's public key; each private-key
 * operation libssl asks of it (the handshake signature) is sent to the
 * keys process as IPC_KEY_SIGN and the answer awaited, blocking, for at
 * most TLS_KEY_TIMEOUT_MS.  Blocking is right where this is used: a
 * pre-auth process serves exactly one connection.
 *
 * The descriptor is process-global: the spawner builds one SSL_CTX with
 * this key, and each pre-auth process it forks calls tls_key_set_fd with
 * its own link to keys before its first handshake.  Not thread-safe (the
 * processes that use it have one thread).
 *
 * Keys: EC (ECDSA) and RSA (PKCS#1 v1.5 and PSS signatures).  RSA
 * decryption is refused: contexts using these keys offer no RSA key
 * exchange (see tls_server_ctx_remote).
 */
#include <openssl/evp.h>
#include <openssl/x509.h>

/* How long a handshake waits for keys' signature before it fails: far
 * beyond a signature's cost (under 2 ms for RSA-4096), short enough that a
 * stuck keys process fails connections instead of piling them up. */
#define TLS_KEY_TIMEOUT_MS 5000

/* tls_key_set_fd names the link to keys (-1: none; signing then fails).
 * The descriptor stays the caller's. */
void tls_key_set_fd(int fd);
/* tls_key_remote returns a new EVP_PKEY (the caller's, EVP_PKEY_free)
 * with cert's public key whose private operations go to keys; NULL with
 * *error_r if the key type is neither EC nor RSA or is too big for
 * IPC_KEY_MAX_INPUT. */
EVP_PKEY *tls_key_remote(X509 *cert, const char **error_r);

#endif
