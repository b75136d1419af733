/*
 * Unit tests for the head of a FETCH (store_message_head_list): which
 * plans can be answered from a message's state and header copy alone
 * (imap_fetch_needs.head), and that such an answer is byte for byte the
 * one from the full meta and the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test-imap-fetch-fixture.h"
#include "test-imap-fetch-messages.h"

/* head_of makes m's meta what store_message_head_list gives (store.h):
 * state, the header copy and one part, the whole message; the file can
 * no longer be read, so only the copy answers. */
static void head_of(struct message *m, struct store_message_meta *head, struct store_part *part)
{
	size_t n = (size_t)m->meta.parts[0].header_size;

	memset(head, 0, sizeof(*head));
	head->msg = m->meta.msg;
	head->sent_date = -1;
	head->header_copy = m->data;
	head->header_copy_size = n;
	*part = (struct store_part){
		.section = "", .header_size = n, .body_offset = n, .body_size = m->size - n,
	};
	head->parts = part;
	head->part_count = 1;
	m->meta = *head;
	m->fd = -1;
}

/* A FETCH of state and the message's own header is answered from a head
 * (store_message_head_list) byte for byte as from the full meta and the
 * file; only such plans say needs.head. */
static void test_head(void **state)
{
	static const char *const heads[] = {
		"(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID"
		" REFERENCES IN-REPLY-TO CONTENT-TYPE)])",
		"(BODY.PEEK[HEADER.FIELDS.NOT (From Received)] INTERNALDATE MODSEQ)",
		"BODY.PEEK[HEADER]",
		"(BODY.PEEK[HEADER]<5.20> BODY.PEEK[HEADER]<900.5>)",
		"(RFC822.HEADER FLAGS)",
		"BODY[HEADER.FIELDS (Subject X-None)]",
		"(BODY.PEEK[HEADER.FIELDS (Subject)]<3.7> UID)",
	};
	static const char *const fulls[] = {
		"(FLAGS ENVELOPE)", "BODY.PEEK[1.HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1.MIME]",
		"BINARY.PEEK[1]", "(RFC822.HEADER RFC822.TEXT)", "BODYSTRUCTURE", "RFC822",
		"(BODY.PEEK[HEADER] BODY.PEEK[1])", "(BODY.PEEK[HEADER] BODY.PEEK[])",
	};
	static const struct {
		const char *text;
		size_t size;
	} messages[] = {
		{ msg_nested, sizeof(msg_nested) - 1 },
		{ msg_simple, sizeof(msg_simple) - 1 },
		{ msg_forward, sizeof(msg_forward) - 1 },
		{ msg_not_mime, sizeof(msg_not_mime) - 1 },
		{ msg_nul, sizeof(msg_nul) - 1 },
	};
	const size_t nheads = sizeof(heads) / sizeof(heads[0]);
	struct imap_fetch_needs n;

	(void)state;
	for (size_t i = 0; i < nheads; i++) {
		needs_of(heads[i], false, &n);
		assert_true(n.head && n.meta);
	}
	for (size_t i = 0; i < sizeof(fulls) / sizeof(fulls[0]); i++) {
		needs_of(fulls[i], false, &n);
		assert_false(n.head);
	}
	/* Without a meta to spare, there is no head to read. */
	needs_of("(UID FLAGS RFC822.SIZE INTERNALDATE)", true, &n);
	assert_false(n.head || n.meta);
	needs_of("BODY.PEEK[]", false, &n);
	assert_false(n.head || n.meta);

	for (size_t k = 0; k < sizeof(messages) / sizeof(messages[0]); k++) {
		struct message m;
		struct store_message_meta head;
		struct store_part part;
		char *want[sizeof(heads) / sizeof(heads[0])];
		message_open(&m, messages[k].text, messages[k].size, false);
		for (size_t i = 0; i < nheads; i++)
			want[i] = fetch_text(&m, heads[i]);
		struct store_message_meta full = m.meta;
		int fd = m.fd;
		head_of(&m, &head, &part);
		for (size_t i = 0; i < nheads; i++) {
			char *got = fetch_text(&m, heads[i]);
			assert_string_equal(got, want[i]);
			free(got);
			free(want[i]);
		}
		m.meta = full;
		m.fd = fd;
		message_close(&m);
	}
}

/* A FETCH of state and ENVELOPE is answered from an envelope
 * (store_message_envelope_list: state and ENVELOPE, nothing else) byte
 * for byte as from the full meta; any other item needs more. */
static void test_envelope(void **state)
{
	static const char *const envelopes[] = {
		"(FLAGS UID RFC822.SIZE ENVELOPE)", "ENVELOPE", "(ENVELOPE MODSEQ INTERNALDATE)",
	};
	static const char *const others[] = {
		"(ENVELOPE BODY.PEEK[HEADER])", "(ENVELOPE RFC822.HEADER)", "(ENVELOPE BODYSTRUCTURE)",
		"(ENVELOPE BODY)", "(RFC822.HEADER FLAGS)", "BODY.PEEK[HEADER]", "(ENVELOPE RFC822)",
	};
	const size_t n_env = sizeof(envelopes) / sizeof(envelopes[0]);
	struct imap_fetch_needs n;

	(void)state;
	for (size_t i = 0; i < n_env; i++) {
		needs_of(envelopes[i], false, &n);
		assert_true(n.envelope && n.meta);
		assert_false(n.head || n.content);
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		needs_of(others[i], false, &n);
		assert_false(n.envelope);
	}
	needs_of("(UID FLAGS RFC822.SIZE INTERNALDATE)", true, &n);
	assert_false(n.envelope || n.meta);

	struct message m;
	message_open(&m, msg_nested, sizeof(msg_nested) - 1, false);
	char *want[sizeof(envelopes) / sizeof(envelopes[0])];
	for (size_t i = 0; i < n_env; i++)
		want[i] = fetch_text(&m, envelopes[i]);
	struct store_message_meta full = m.meta;
	int fd = m.fd;
	memset(&m.meta, 0, sizeof(m.meta));
	m.meta.msg = full.msg;
	m.meta.envelope = full.envelope;
	m.meta.sent_date = -1;
	m.fd = -1;
	for (size_t i = 0; i < n_env; i++) {
		char *got = fetch_text(&m, envelopes[i]);
		assert_string_equal(got, want[i]);
		free(got);
		free(want[i]);
	}
	m.meta = full;
	m.fd = fd;
	message_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
