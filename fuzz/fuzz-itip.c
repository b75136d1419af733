/*
 * fuzz-itip: an incoming iTIP object (a mail's text/calendar part is
 * whatever the sender wrote) read, applied to a stored copy as organiser
 * and as attendee, and answered in a mail, without crash or leak.
 */
#include <assert.h>
#include <stdint.h>

#include "ical/itip.h"

static const char stored[] =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\n"
	"UID:u1\r\nDTSTAMP:20261206T100000Z\r\nDTSTART:20261210T140000Z\r\n"
	"ORGANIZER:mailto:alice@a.test\r\nATTENDEE:mailto:bob@a.test\r\n"
	"ATTENDEE:mailto:carol@c.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const alice_addrs[] = { "alice@a.test" };
	static const struct itip_self alice = { alice_addrs, 1 };
	struct str in = str_from((const char *)data, size);
	struct itip_info info;
	const char *error;
	struct buf out;

	if (itip_parse(in, &info, &error) < 0) {
		assert(error != NULL);
		return 0;
	}
	buf_init(&out, 4 * ITIP_MAX_DATA);
	itip_apply(STR(stored), in, &info, info.method == ITIP_REPLY ? info.attendee : info.organizer,
		   &alice, &out, &error);
	itip_apply(STR(""), in, &info, info.organizer, &alice, &out, &error);
	struct itip_mail m = { "alice@a.test", "A", "bob@a.test", "<x@a.test>", 0 };
	buf_reset(&out);
	itip_mail_write(&m, in, &out, &error);
	buf_free(&out);
	/* As a stored object saved twice: the messages it calls for. */
	struct itip_message *msgs;
	size_t n;
	bool truncated;
	if (itip_changes(STR(stored), in, &alice, &msgs, &n, &truncated, &error) == 0)
		itip_messages_free(&msgs, n);
	return 0;
}
