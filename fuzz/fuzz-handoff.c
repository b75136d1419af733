/*
 * fuzz-handoff: the worker's decoder of the session hand-off message (the
 * bytes a pre-auth process sends after a login), and the TLS 1.3 state it
 * sets up from a message that decodes.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/handoff.h"
#include "lib/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handoff h;
	const char *error = NULL;

	if (handoff_decode(data, size, &h, &error) < 0)
		return 0;
	if (h.mode == HANDOFF_TLS13) {
		struct tls13 t;
		struct buf in, plain, out;
		if (tls13_init(&t, h.suite, h.client_secret, h.server_secret, h.secret_len, h.read_seq,
			       h.write_seq, &error) == 0) {
			buf_init(&in, HANDOFF_MAX_PENDING);
			buf_init(&plain, 2 * TLS13_MAX_PLAINTEXT);
			buf_init(&out, 4 * TLS13_CONTROL_RECORD);
			if (buf_append_str(&in, h.cipher_in) == 0)
				(void)tls13_read(&t, &in, &plain, &out, &error);
			buf_free(&in);
			buf_free(&plain);
			buf_free(&out);
		}
		tls13_clear(&t);
	}
	/* The encoder must take back what the decoder accepted. */
	struct buf again;
	buf_init(&again, 2 * HANDOFF_MAX_PENDING + 4096);
	if (handoff_encode(&h, &again) < 0)
		__builtin_trap();
	buf_free(&again);
	handoff_wipe(&h);
	return 0;
}
