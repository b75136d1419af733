/* handoff: the session hand-off message (see handoff.h). */
#include "handoff.h"

#include <string.h>

#include <sodium.h>

int handoff_encode(const struct handoff *h, struct buf *out)
{
	if (h->secret_len > HANDOFF_MAX_SECRET ||
	    h->cipher_in.len + h->plain_in.len > HANDOFF_MAX_PENDING)
		return -1;
	if (ipc_put_u64(out, h->protocol) < 0 || ipc_put_u64(out, h->mode) < 0 ||
	    ipc_put_u64(out, h->suite) < 0 ||
	    ipc_put_str(out, str_from((const char *)h->client_secret, h->secret_len)) < 0 ||
	    ipc_put_str(out, str_from((const char *)h->server_secret, h->secret_len)) < 0 ||
	    ipc_put_u64(out, h->read_seq) < 0 || ipc_put_u64(out, h->write_seq) < 0 ||
	    ipc_put_str(out, h->cipher_in) < 0 || ipc_put_str(out, h->plain_in) < 0 ||
	    ipc_put_str(out, str_from((const char *)h->http_auth_key,
				      h->http_auth ? HANDOFF_AUTH_KEY : 0)) < 0 ||
	    ipc_put_str(out, str_from((const char *)h->http_auth_mac,
				      h->http_auth ? HANDOFF_AUTH_MAC : 0)) < 0)
		return -1;
	return 0;
}

/* The suites the worker's record layer speaks, with their secret sizes. */
static size_t suite_secret_len(uint64_t suite)
{
	switch (suite) {
	case 0x1301: /* TLS_AES_128_GCM_SHA256 */
	case 0x1303: /* TLS_CHACHA20_POLY1305_SHA256 */
		return 32;
	case 0x1302: /* TLS_AES_256_GCM_SHA384 */
		return 48;
	}
	return 0;
}

int handoff_decode(const unsigned char *payload, size_t len, struct handoff *h,
		   const char **error_r)
{
	struct ipc_msg msg = { .kind = IPC_HANDOFF, .payload = payload, .len = len, .fd = -1 };
	struct ipc_reader r;

	memset(h, 0, sizeof(*h));
	ipc_reader_init(&r, &msg);
	h->protocol = ipc_get_u64(&r);
	uint64_t mode = ipc_get_u64(&r);
	uint64_t suite = ipc_get_u64(&r);
	struct str cs = ipc_get_str(&r, HANDOFF_MAX_SECRET);
	struct str ss = ipc_get_str(&r, HANDOFF_MAX_SECRET);
	h->read_seq = ipc_get_u64(&r);
	h->write_seq = ipc_get_u64(&r);
	h->cipher_in = ipc_get_str(&r, HANDOFF_MAX_PENDING);
	h->plain_in = ipc_get_str(&r, HANDOFF_MAX_PENDING);
	struct str auth_key = ipc_get_str(&r, HANDOFF_AUTH_KEY);
	struct str auth_mac = ipc_get_str(&r, HANDOFF_AUTH_MAC);
	if (!ipc_reader_ok(&r)) {
		*error_r = "malformed hand-off";
		return -1;
	}
	if (h->protocol != IPC_PROTO_POP3 && h->protocol != IPC_PROTO_IMAP &&
	    h->protocol != IPC_PROTO_HTTP) {
		*error_r = "hand-off of an unknown protocol";
		return -1;
	}
	/* HTTP comes bound to its credentials, and nothing else is. */
	bool bound = auth_key.len == HANDOFF_AUTH_KEY && auth_mac.len == HANDOFF_AUTH_MAC;
	if ((h->protocol == IPC_PROTO_HTTP) != bound ||
	    (!bound && (auth_key.len != 0 || auth_mac.len != 0))) {
		*error_r = "hand-off with a wrong credential binding";
		return -1;
	}
	h->http_auth = bound;
	if (bound) {
		memcpy(h->http_auth_key, auth_key.ptr, HANDOFF_AUTH_KEY);
		memcpy(h->http_auth_mac, auth_mac.ptr, HANDOFF_AUTH_MAC);
	}
	if (h->cipher_in.len + h->plain_in.len > HANDOFF_MAX_PENDING) {
		*error_r = "hand-off with too many pending bytes";
		return -1;
	}
	switch (mode) {
	case HANDOFF_TLS13:
		if (suite_secret_len(suite) == 0 || cs.len != suite_secret_len(suite) ||
		    ss.len != cs.len) {
			*error_r = "hand-off with an unknown suite or wrong secrets";
			return -1;
		}
		break;
	case HANDOFF_PLAIN:
	case HANDOFF_RELAY:
		if (suite != 0 || cs.len != 0 || ss.len != 0 || h->cipher_in.len != 0 ||
		    h->read_seq != 0 || h->write_seq != 0) {
			*error_r = "hand-off without TLS carries TLS state";
			return -1;
		}
		break;
	default:
		*error_r = "hand-off of an unknown mode";
		return -1;
	}
	h->mode = (enum handoff_mode)mode;
	h->suite = (uint16_t)suite;
	h->secret_len = cs.len;
	memcpy(h->client_secret, cs.ptr, cs.len);
	memcpy(h->server_secret, ss.ptr, ss.len);
	return 0;
}

void handoff_wipe(struct handoff *h)
{
	sodium_memzero(h->client_secret, sizeof(h->client_secret));
	sodium_memzero(h->server_secret, sizeof(h->server_secret));
	sodium_memzero(h->http_auth_key, sizeof(h->http_auth_key));
	sodium_memzero(h->http_auth_mac, sizeof(h->http_auth_mac));
}
