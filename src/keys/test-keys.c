/* Unit tests for keys: TLS 1.3 and 1.2 handshakes whose signature is made
 * by a keys server in another process (P-256 and RSA-2048), and what keys
 * refuses: wrong shapes, wrong ops, floods, malformed links. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "keys/keys.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/ipc.h"
#include "lib/tls-key.h"
#include "lib/tls.h"

#define TEST_HOST "keys.test"

static char dir[64];
static char ec_cert[128], ec_key[128], rsa_cert[128], rsa_key[128];

/* write_pair writes key and a self-signed certificate for TEST_HOST. */
static void write_pair(EVP_PKEY *key, const char *cert_path, const char *key_path)
{
	X509 *cert = X509_new();
	assert_non_null(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)TEST_HOST,
				   -1, -1, 0);
	X509_set_issuer_name(cert, name);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	FILE *f = fopen(key_path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, cert), 1);
	fclose(f);
	X509_free(cert);
}

/* setup makes a temporary directory with a P-256 and an RSA-2048 pair. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-keys-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ec_cert, sizeof(ec_cert), "%s/ec-cert.pem", dir);
	snprintf(ec_key, sizeof(ec_key), "%s/ec-key.pem", dir);
	snprintf(rsa_cert, sizeof(rsa_cert), "%s/rsa-cert.pem", dir);
	snprintf(rsa_key, sizeof(rsa_key), "%s/rsa-key.pem", dir);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	if (ec == NULL || rsa == NULL)
		return -1;
	write_pair(ec, ec_cert, ec_key);
	write_pair(rsa, rsa_cert, rsa_key);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	return 0;
}

/* teardown removes the directory. */
static int teardown(void **state)
{
	(void)state;
	unlink(ec_cert);
	unlink(ec_key);
	unlink(rsa_cert);
	unlink(rsa_key);
	rmdir(dir);
	return 0;
}

/* A keys server in a child process, and our ends of its two links. */
struct keys_child {
	pid_t pid;
	int preauth; /* a pre-auth link, as master would hand it */
	int spawner; /* the spawner's link */
};

/* child_term stops the child's loop. */
static void child_term(int signo, void *ctx)
{
	(void)signo;
	ev_stop(ctx);
}

/* start_keys forks a keys server for the pair (no process start-up, no
 * jail: the serving code only) and returns the parent's link ends. */
static struct keys_child start_keys(const char *cert, const char *key)
{
	int a[2], b[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct keys_key *k;
		const char *error;
		close(a[0]);
		close(b[0]);
		struct ev *ev = ev_new();
		if (ev == NULL || keys_key_load(cert, key, &k, &error) < 0) {
			fprintf(stderr, "keys child: %s\n", ev == NULL ? "no loop" : error);
			exit(2);
		}
		struct keys_server *s = keys_server_new(ev, k, 64);
		ev_signal_add(ev, SIGTERM, child_term, ev);
		signal(SIGPIPE, SIG_IGN);
		if (s == NULL || keys_server_add_link(s, a[1], IPC_ROLE_PREAUTH, 1) < 0 ||
		    keys_server_add_link(s, b[1], IPC_ROLE_SPAWNER, 0) < 0)
			exit(3);
		ev_run(ev);
		keys_server_free(&s);
		keys_key_free(&k);
		ev_free(&ev);
		exit(0); /* not _exit: LeakSanitizer checks the server too */
	}
	close(a[1]);
	close(b[1]);
	return (struct keys_child){ .pid = pid, .preauth = a[0], .spawner = b[0] };
}

/* stop_keys ends the child and checks that it exited cleanly. */
static void stop_keys(struct keys_child *c)
{
	int status;
	close(c->preauth);
	if (c->spawner >= 0)
		close(c->spawner);
	assert_int_equal(kill(c->pid, SIGTERM), 0);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* preauth_via_spawner makes a new pre-auth link the way the spawner does:
 * one end to keys in IPC_PEER on the spawner's link, the other ours. */
static int preauth_via_spawner(int spawner, uint64_t index)
{
	int sv[2];
	uint64_t peer[2] = { IPC_ROLE_PREAUTH, index };
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_send_blocking(spawner, IPC_PEER, 0, peer, sizeof(peer), sv[1]), 0);
	close(sv[1]);
	return sv[0];
}

/* send_sign sends one IPC_KEY_SIGN with id. */
static void send_sign(int fd, uint64_t id, uint64_t op, const void *input, size_t len)
{
	struct buf b;
	buf_init(&b, 16 + IPC_KEY_MAX_INPUT);
	ipc_put_u64(&b, op);
	ipc_put_str(&b, str_from(input, len));
	assert_int_equal(ipc_send_blocking(fd, IPC_KEY_SIGN, id, b.data, b.len, -1), 0);
	buf_free(&b);
}

/* recv_signature reads one IPC_KEY_SIGNATURE for id; returns its status
 * and copies the signature. */
static uint64_t recv_signature(int fd, uint64_t id, unsigned char *sig, size_t *siglen)
{
	unsigned char buf[sizeof(struct ipc_header) + 16 + IPC_KEY_MAX_SIGNATURE];
	struct ipc_msg msg;
	struct ipc_reader r;
	assert_int_equal(ipc_recv_blocking(fd, &msg, buf, sizeof(buf), 5000), 0);
	assert_int_equal(msg.kind, IPC_KEY_SIGNATURE);
	assert_int_equal(msg.id, id);
	ipc_reader_init(&r, &msg);
	uint64_t status = ipc_get_u64(&r);
	struct str s = ipc_get_str(&r, IPC_KEY_MAX_SIGNATURE);
	assert_true(ipc_reader_ok(&r));
	if (sig != NULL) {
		memcpy(sig, s.ptr, s.len);
		*siglen = s.len;
	}
	return status;
}

/* sign_once is one request and its answer. */
static uint64_t sign_once(int fd, uint64_t op, const void *input, size_t len,
			  unsigned char *sig, size_t *siglen)
{
	static uint64_t id = 100;
	send_sign(fd, ++id, op, input, len);
	return recv_signature(fd, id, sig, siglen);
}

/* pump drives a handshake between two SSLs over a BIO pair to its end. */
static void pump(SSL *client, SSL *server)
{
	bool cdone = false, sdone = false;
	for (int i = 0; i < 64 && !(cdone && sdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(client);
			cdone = r == 1;
			if (!cdone)
				assert_true(SSL_get_error(client, r) == SSL_ERROR_WANT_READ);
		}
		if (!sdone) {
			int r = SSL_do_handshake(server);
			sdone = r == 1;
			if (!sdone)
				assert_true(SSL_get_error(server, r) == SSL_ERROR_WANT_READ);
		}
	}
	assert_true(cdone && sdone);
}

/* handshake runs a whole handshake of version with a server context whose
 * key is remote, checks the client verified the server and that the
 * signature was of type sig_nid, and sends data both ways. */
static void handshake(const char *cert, int version, const char *sigalgs, int sig_nid)
{
	const char *error = NULL;
	char buf[16];
	SSL_CTX *sctx = tls_server_ctx_remote(cert, &error);
	if (sctx == NULL)
		fail_msg("tls_server_ctx_remote: %s", error);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(cctx);
	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	assert_int_equal(SSL_CTX_load_verify_locations(cctx, cert, NULL), 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	if (sigalgs != NULL)
		assert_int_equal(SSL_CTX_set1_sigalgs_list(cctx, sigalgs), 1);
	SSL *client = SSL_new(cctx), *server = SSL_new(sctx);
	BIO *cb, *sb;
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	assert_int_equal(SSL_set1_host(client, TEST_HOST), 1);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);

	pump(client, server);
	assert_int_equal(SSL_get_verify_result(client), X509_V_OK);
	assert_int_equal(SSL_version(client), version);
	int nid = 0;
	assert_int_equal(SSL_get_peer_signature_type_nid(client, &nid), 1);
	assert_int_equal(nid, sig_nid);
	assert_int_equal(SSL_write(client, "ping", 4), 4);
	assert_int_equal(SSL_read(server, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(SSL_write(server, "pong", 4), 4);
	assert_int_equal(SSL_read(client, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* P-256: TLS 1.3, and TLS 1.2 with SHA-256 and SHA-384 digests. */
static void test_handshake_ec(void **state)
{
	(void)state;
	struct keys_child c = start_keys(ec_cert, ec_key);
	tls_key_set_fd(c.preauth);
	handshake(ec_cert, TLS1_3_VERSION, NULL, EVP_PKEY_EC);
	handshake(ec_cert, TLS1_2_VERSION, NULL, EVP_PKEY_EC);
	handshake(ec_cert, TLS1_2_VERSION, "ECDSA+SHA384", EVP_PKEY_EC);
	/* A pre-auth link the spawner handed over serves the same. */
	int fd = preauth_via_spawner(c.spawner, 2);
	tls_key_set_fd(fd);
	handshake(ec_cert, TLS1_3_VERSION, NULL, EVP_PKEY_EC);
	tls_key_set_fd(-1);
	close(fd);
	stop_keys(&c);
}

/* RSA-2048: PSS for TLS 1.3 and 1.2, PKCS#1 v1.5 for a TLS 1.2 client
 * that offers only that. */
static void test_handshake_rsa(void **state)
{
	(void)state;
	struct keys_child c = start_keys(rsa_cert, rsa_key);
	tls_key_set_fd(c.preauth);
	handshake(rsa_cert, TLS1_3_VERSION, NULL, EVP_PKEY_RSA_PSS);
	handshake(rsa_cert, TLS1_2_VERSION, NULL, EVP_PKEY_RSA_PSS);
	handshake(rsa_cert, TLS1_2_VERSION, "RSA+SHA256", EVP_PKEY_RSA);
	handshake(rsa_cert, TLS1_3_VERSION, "rsa_pss_rsae_sha512", EVP_PKEY_RSA_PSS);
	tls_key_set_fd(-1);
	stop_keys(&c);
}

/* Without a link to keys the handshake fails; nothing crashes. */
static void test_handshake_without_keys(void **state)
{
	const char *error;
	(void)state;
	tls_key_set_fd(-1);
	SSL_CTX *sctx = tls_server_ctx_remote(ec_cert, &error);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(sctx);
	SSL *client = SSL_new(cctx), *server = SSL_new(sctx);
	BIO *cb, *sb;
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	assert_true(SSL_do_handshake(client) < 0);
	assert_true(SSL_do_handshake(server) < 0);
	assert_int_equal(SSL_get_error(server, -1), SSL_ERROR_SSL);
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* verify_ec checks sig over digest with the certificate's key. */
static void verify_ec(const unsigned char *digest, size_t len, const unsigned char *sig,
		      size_t siglen)
{
	FILE *f = fopen(ec_cert, "r");
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(cert), NULL);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, digest, len), 1);
	EVP_PKEY_CTX_free(ctx);
	X509_free(cert);
}

/* ECDSA over IPC: every digest length is signed, other lengths, RSA ops,
 * unknown ops and unparsable payloads are refused, and the link stays. */
static void test_refuse_ec(void **state)
{
	unsigned char input[IPC_KEY_MAX_INPUT], sig[IPC_KEY_MAX_SIGNATURE];
	size_t siglen;
	(void)state;
	struct keys_child c = start_keys(ec_cert, ec_key);
	RAND_bytes(input, sizeof(input));
	const size_t good[] = { 20, 28, 32, 48, 64 };
	for (size_t i = 0; i < 5; i++) {
		int fd = preauth_via_spawner(c.spawner, 10 + i);
		assert_int_equal(sign_once(fd, IPC_KEY_OP_ECDSA, input, good[i], sig, &siglen),
				 IPC_KEY_OK);
		verify_ec(input, good[i], sig, siglen);
		close(fd);
	}
	const size_t bad[] = { 0, 1, 19, 31, 33, 65, 256 };
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_ECDSA, input, bad[i], sig, &siglen),
				 IPC_KEY_REFUSED);
		assert_int_equal(siglen, 0);
	}
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, input, 32, NULL, NULL),
			 IPC_KEY_REFUSED);
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, input, 256, NULL, NULL),
			 IPC_KEY_REFUSED);
	assert_int_equal(sign_once(c.preauth, 99, input, 32, NULL, NULL), IPC_KEY_REFUSED);
	/* Within the kind table's bounds but not op + str: refused, link kept. */
	uint64_t odd[3] = { IPC_KEY_OP_ECDSA, 32, 0 };
	assert_int_equal(ipc_send_blocking(c.preauth, IPC_KEY_SIGN, 7, odd, sizeof(odd), -1), 0);
	assert_int_equal(recv_signature(c.preauth, 7, NULL, NULL), IPC_KEY_REFUSED);
	/* Refusals cost no token: the link still signs. */
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_ECDSA, input, 32, sig, &siglen),
			 IPC_KEY_OK);
	stop_keys(&c);
}

/* rsa_public recovers sig^e mod n with the certificate's key. */
static void rsa_public(const unsigned char *sig, size_t len, unsigned char *out)
{
	FILE *f = fopen(rsa_cert, "r");
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, X509_get0_pubkey(cert), NULL);
	size_t outlen = len;
	assert_int_equal(EVP_PKEY_verify_recover_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify_recover(ctx, out, &outlen, sig, len), 1);
	assert_int_equal(outlen, len);
	EVP_PKEY_CTX_free(ctx);
	X509_free(cert);
}

/* RSA over IPC: a PKCS#1 v1.5 block is signed; a block that only looks
 * like PSS on the outside (0xbc, top bit clear), a wrong size, a bad
 * DigestInfo and ECDSA are refused. */
static void test_refuse_rsa(void **state)
{
	static const unsigned char di256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					       0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned char block[256], sig[IPC_KEY_MAX_SIGNATURE], back[256];
	size_t siglen;
	(void)state;
	struct keys_child c = start_keys(rsa_cert, rsa_key);

	memset(block, 0xff, sizeof(block));
	block[0] = 0x00;
	block[1] = 0x01;
	block[256 - 52] = 0x00;
	memcpy(block + 256 - 51, di256, sizeof(di256));
	RAND_bytes(block + 256 - 32, 32);
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, block, 256, sig, &siglen),
			 IPC_KEY_OK);
	assert_int_equal(siglen, 256);
	rsa_public(sig, siglen, back);
	assert_memory_equal(back, block, 256);

	unsigned char bad[256];
	memcpy(bad, block, sizeof(bad));
	bad[256 - 51 + 14] = 0x05; /* SHA-256's OID turned into an unknown one */
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, bad, 256, NULL, NULL),
			 IPC_KEY_REFUSED);
	memcpy(bad, block, sizeof(bad));
	bad[5] = 0xfe; /* padding that is not all 0xff */
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, bad, 256, NULL, NULL),
			 IPC_KEY_REFUSED);
	/* Random, with just the outward marks of PSS: what blinding a chosen
	 * ciphertext would give. */
	RAND_bytes(bad, sizeof(bad));
	bad[0] &= 0x7f;
	bad[255] = 0xbc;
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, bad, 256, NULL, NULL),
			 IPC_KEY_REFUSED);
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_RSA_RAW, block, 255, NULL, NULL),
			 IPC_KEY_REFUSED);
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_ECDSA, block + 256 - 32, 32, NULL, NULL),
			 IPC_KEY_REFUSED);
	stop_keys(&c);
}

/* A flood on one link: the burst is signed, the rest refused; another
 * link is not held back by it. */
static void test_rate_flood(void **state)
{
	unsigned char digest[32] = { 1 };
	unsigned ok = 0, refused = 0;
	(void)state;
	struct keys_child c = start_keys(ec_cert, ec_key);
	int fd = preauth_via_spawner(c.spawner, 20);
	for (uint64_t id = 1; id <= 24; id++)
		send_sign(fd, id, IPC_KEY_OP_ECDSA, digest, sizeof(digest));
	for (uint64_t id = 1; id <= 24; id++) {
		uint64_t status = recv_signature(fd, id, NULL, NULL);
		if (status == IPC_KEY_OK)
			ok++;
		else if (status == IPC_KEY_REFUSED)
			refused++;
	}
	/* 8 at once, and 4 a second: one more only if the flood took 250 ms. */
	assert_true(ok >= 8 && ok <= 9);
	assert_int_equal(ok + refused, 24);
	assert_int_equal(sign_once(c.preauth, IPC_KEY_OP_ECDSA, digest, 32, NULL, NULL),
			 IPC_KEY_OK);
	close(fd);
	stop_keys(&c);
}

/* expect_closed checks that keys has closed the link at fd. */
static void expect_closed(int fd)
{
	unsigned char buf[sizeof(struct ipc_header) + 64];
	struct ipc_msg msg;
	assert_int_equal(ipc_recv_blocking(fd, &msg, buf, sizeof(buf), 5000), -1);
	assert_int_equal(errno, ECONNRESET);
}

/* What the kind table or a link's role forbids closes that link: a short
 * IPC_KEY_SIGN, a kind a pre-auth process may not send, a spawner handing
 * over a link that is not a pre-auth one. */
static void test_malformed_links(void **state)
{
	uint64_t op = IPC_KEY_OP_ECDSA;
	uint64_t peer[2] = { IPC_ROLE_SPAWNER, 1 };
	int sv[2];
	(void)state;
	struct keys_child c = start_keys(ec_cert, ec_key);

	int fd = preauth_via_spawner(c.spawner, 30);
	assert_int_equal(ipc_send_blocking(fd, IPC_KEY_SIGN, 1, &op, sizeof(op), -1), 0);
	expect_closed(fd);
	close(fd);

	fd = preauth_via_spawner(c.spawner, 31);
	assert_int_equal(ipc_send_blocking(fd, IPC_KEY_SIGNATURE, 1, peer, sizeof(peer), -1), 0);
	expect_closed(fd);
	close(fd);

	/* A pre-auth process cannot pose as the spawner. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_send_blocking(c.preauth, IPC_PEER, 0, peer, sizeof(peer), sv[1]), 0);
	expect_closed(c.preauth);
	close(sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ipc_send_blocking(c.spawner, IPC_PEER, 0, peer, sizeof(peer), sv[1]), 0);
	expect_closed(c.spawner);
	close(sv[0]);
	close(sv[1]);
	stop_keys(&c);
}

/* The buckets' arithmetic: burst, refill, cap. */
static void test_bucket(void **state)
{
	struct keys_bucket b;
	(void)state;
	keys_bucket_init(&b, 8, 4, 1000);
	for (int i = 0; i < 8; i++) {
		assert_true(keys_bucket_ready(&b, 1000));
		keys_bucket_take(&b);
	}
	assert_false(keys_bucket_ready(&b, 1000));
	assert_false(keys_bucket_ready(&b, 1249));
	assert_true(keys_bucket_ready(&b, 1250));
	keys_bucket_take(&b);
	assert_false(keys_bucket_ready(&b, 1250));
	/* An idle hour refills to the burst, no more. */
	assert_true(keys_bucket_ready(&b, 3600 * 1000));
	for (int i = 0; i < 8; i++)
		keys_bucket_take(&b);
	assert_false(keys_bucket_ready(&b, 3600 * 1000));
}

/* Loading refuses a key that is not the certificate's. */
static void test_load_mismatch(void **state)
{
	struct keys_key *key = NULL;
	const char *error = NULL;
	(void)state;
	assert_int_equal(keys_key_load(ec_cert, rsa_key, &key, &error), -1);
	assert_null(key);
	assert_non_null(error);
	assert_int_equal(keys_key_load(rsa_cert, rsa_key, &key, &error), 0);
	assert_string_equal(keys_key_type(key), "RSA 2048");
	keys_key_free(&key);
	assert_null(key);
	assert_int_equal(keys_key_load(ec_cert, "/nonexistent/key.pem", &key, &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_load_mismatch),
		cmocka_unit_test(test_handshake_ec),
		cmocka_unit_test(test_handshake_rsa),
		cmocka_unit_test(test_handshake_without_keys),
		cmocka_unit_test(test_refuse_ec),
		cmocka_unit_test(test_refuse_rsa),
		cmocka_unit_test(test_rate_flood),
		cmocka_unit_test(test_malformed_links),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
