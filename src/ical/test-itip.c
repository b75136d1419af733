/* itip: the messages an organiser's and an attendee's saves call for, the
 * mail that carries them, and applying what arrives, over invitations
 * shaped as Thunderbird, Apple Calendar and Outlook write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ical/itip.h"

static const char *const alice_addrs[] = { "alice@a.test", "a.liddell@a.test" };
static const struct itip_self alice = { alice_addrs, 2 };
static const char *const bob_addrs[] = { "bob@a.test" };
static const struct itip_self bob = { bob_addrs, 1 };

/* Thunderbird (Lightning) as the organiser saves it through CalDAV. */
static const char thunderbird[] =
	"BEGIN:VCALENDAR\r\n"
	"PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n"
	"VERSION:2.0\r\n"
	"BEGIN:VTIMEZONE\r\n"
	"TZID:Europe/Paris\r\n"
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
	"DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
	"DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n"
	"END:VTIMEZONE\r\n"
	"BEGIN:VEVENT\r\n"
	"CREATED:20261206T100000Z\r\n"
	"LAST-MODIFIED:20261206T100000Z\r\n"
	"DTSTAMP:20261206T100000Z\r\n"
	"UID:2b7c1a7e-5f3d-4b7a-9a0e-1f0c2d3e4f50\r\n"
	"SUMMARY:Budget review\r\n"
	"ORGANIZER;RSVP=TRUE;CN=Alice;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@a.test\r\n"
	"ATTENDEE;RSVP=TRUE;CN=Alice;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@a.test\r\n"
	"ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:bob@a.test\r\n"
	"ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:carol@c.test\r\n"
	"DTSTART;TZID=Europe/Paris:20261210T150000\r\n"
	"DTEND;TZID=Europe/Paris:20261210T160000\r\n"
	"LOCATION:Room 4\r\n"
	"SEQUENCE:0\r\n"
	"X-MOZ-GENERATION:1\r\n"
	"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DURATION:-PT15M\r\n"
	"DESCRIPTION:Default Mozilla Description\r\nEND:VALARM\r\n"
	"END:VEVENT\r\n"
	"END:VCALENDAR\r\n";

/* replace returns a malloc'd copy of s with the first from made to. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	assert_non_null(out);
	snprintf(out, n + 1, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

/* line_has: the (unfolded) content line of text holding who also holds what. */
static bool line_has(const char *text, const char *who, const char *what)
{
	char *copy = strdup(text), *w = copy;
	for (char *r = copy; *r != '\0'; r++) {
		if (r[0] == '\r' && r[1] == '\n' && r[2] == ' ') {
			r += 2;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	bool found = false;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\r\n", &save); line != NULL && !found;
	     line = strtok_r(NULL, "\r\n", &save))
		found = strstr(line, who) != NULL && strstr(line, what) != NULL;
	free(copy);
	return found;
}

static const struct itip_message *find(const struct itip_message *m, size_t n,
				       enum itip_method method, const char *to)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].method == method && strcmp(m[i].recipient, to) == 0)
			return &m[i];
	return NULL;
}

static void test_organizer_new(void **state)
{
	struct itip_message *m;
	size_t n;
	bool truncated;
	const char *error;
	(void)state;
	assert_int_equal(itip_changes(STR(""), STR(thunderbird), &alice, &m, &n, &truncated,
				      &error), 0);
	/* Bob and carol, not alice who organises. */
	assert_int_equal(n, 2);
	assert_false(truncated);
	const struct itip_message *b = find(m, n, ITIP_REQUEST, "bob@a.test");
	assert_non_null(b);
	assert_non_null(find(m, n, ITIP_REQUEST, "carol@c.test"));
	assert_non_null(strstr(b->data, "METHOD:REQUEST"));
	assert_null(strstr(b->data, "VALARM"));
	/* It reads back as the iTIP it is. */
	struct itip_info info;
	assert_int_equal(itip_parse(str_c(b->data), &info, &error), 0);
	assert_int_equal(info.method, ITIP_REQUEST);
	assert_string_equal(info.uid, "2b7c1a7e-5f3d-4b7a-9a0e-1f0c2d3e4f50");
	assert_string_equal(info.organizer, "alice@a.test");
	assert_int_equal(info.attendee_count, 3);
	assert_int_equal(info.first, 1796911200);   /* 2026-12-10 14:00 UTC */
	assert_int_equal(info.last, 1796911200 + 3600);
	itip_messages_free(&m, n);
	assert_null(m);

	/* Saved again unchanged (a client's own PUT of the same data): nothing. */
	assert_int_equal(itip_changes(STR(thunderbird), STR(thunderbird), &alice, &m, &n,
				      &truncated, &error), 0);
	assert_int_equal(n, 0);
	itip_messages_free(&m, n);
	/* The same object saved by bob, an attendee, with no answer: nothing. */
	assert_int_equal(itip_changes(STR(""), STR(thunderbird), &bob, &m, &n, &truncated,
				      &error), 0);
	assert_int_equal(n, 0);
	itip_messages_free(&m, n);
}

static void test_organizer_changes(void **state)
{
	struct itip_message *m;
	size_t n;
	bool truncated;
	const char *error;
	(void)state;
	/* New time: everyone again. */
	char *moved = replace(thunderbird, "20261210T150000", "20261211T150000");
	assert_int_equal(itip_changes(STR(thunderbird), str_c(moved), &alice, &m, &n, &truncated,
				      &error), 0);
	assert_int_equal(n, 2);
	itip_messages_free(&m, n);
	/* Only an attendee's answer changed (a REPLY already said it): nothing. */
	char *answered = replace(thunderbird, "PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:bob",
				 "PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob");
	assert_int_equal(itip_changes(STR(thunderbird), str_c(answered), &alice, &m, &n,
				      &truncated, &error), 0);
	assert_int_equal(n, 0);
	itip_messages_free(&m, n);
	/* Carol removed: CANCEL to her, REQUEST to bob. */
	char *removed = replace(thunderbird, "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;"
				"ROLE=REQ-PARTICIPANT:mailto:carol@c.test\r\n", "");
	assert_int_equal(itip_changes(STR(thunderbird), str_c(removed), &alice, &m, &n,
				      &truncated, &error), 0);
	assert_int_equal(n, 2);
	const struct itip_message *c = find(m, n, ITIP_CANCEL, "carol@c.test");
	assert_non_null(c);
	assert_non_null(strstr(c->data, "STATUS:CANCELLED"));
	assert_non_null(find(m, n, ITIP_REQUEST, "bob@a.test"));
	itip_messages_free(&m, n);
	/* Deleted: CANCEL to both, SEQUENCE past the last. */
	assert_int_equal(itip_changes(STR(thunderbird), STR(""), &alice, &m, &n, &truncated,
				      &error), 0);
	assert_int_equal(n, 2);
	struct itip_info info;
	assert_int_equal(itip_parse(str_c(m[0].data), &info, &error), 0);
	assert_int_equal(info.method, ITIP_CANCEL);
	assert_int_equal(info.sequence, 1);
	itip_messages_free(&m, n);
	/* SCHEDULE-AGENT=CLIENT: the client sends it itself. */
	char *client = replace(thunderbird, "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:bob",
			       "ATTENDEE;SCHEDULE-AGENT=CLIENT;PARTSTAT=NEEDS-ACTION:mailto:bob");
	assert_int_equal(itip_changes(STR(""), str_c(client), &alice, &m, &n, &truncated, &error), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].recipient, "carol@c.test");
	itip_messages_free(&m, n);
	/* Unreadable data is an error, not a message. */
	assert_int_equal(itip_changes(STR(""), STR("BEGIN:VCARD\r\nEND:VCARD\r\n"), &alice, &m, &n,
				      &truncated, &error), -1);
	free(client);
	free(moved);
	free(answered);
	free(removed);
}

static void test_too_many(void **state)
{
	struct itip_message *m;
	size_t n;
	bool truncated;
	const char *error;
	struct buf b;
	(void)state;
	buf_init(&b, ITIP_MAX_DATA);
	const char *at = strstr(thunderbird, "DTSTART;TZID");
	buf_append(&b, thunderbird, (size_t)(at - thunderbird));
	for (int i = 0; i < ITIP_MAX_RECIPIENTS + 1; i++)
		buf_printf(&b, "ATTENDEE:mailto:p%d@c.test\r\n", i);
	buf_printf(&b, "%s", at);
	assert_int_equal(itip_changes(STR(""), buf_str(&b), &alice, &m, &n, &truncated, &error), 0);
	assert_int_equal(n, ITIP_MAX_RECIPIENTS);
	assert_true(truncated);
	itip_messages_free(&m, n);
	buf_free(&b);
}

/* Apple Calendar's REQUEST as it arrives by mail at bob. */
static const char apple_request[] =
	"BEGIN:VCALENDAR\r\n"
	"METHOD:REQUEST\r\n"
	"PRODID:-//Apple Inc.//macOS 14.2//EN\r\n"
	"VERSION:2.0\r\n"
	"BEGIN:VEVENT\r\n"
	"ATTENDEE;CN=Bob;CUTYPE=INDIVIDUAL;EMAIL=bob@a.test;PARTSTAT=NEEDS-ACTION;\r\n"
	" ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:bob@a.test\r\n"
	"ATTENDEE;CN=Dave;CUTYPE=INDIVIDUAL;EMAIL=dave@d.test;PARTSTAT=ACCEPTED;\r\n"
	" ROLE=CHAIR:mailto:dave@d.test\r\n"
	"CREATED:20261206T091500Z\r\n"
	"DTEND:20261212T100000Z\r\n"
	"DTSTAMP:20261206T091512Z\r\n"
	"DTSTART:20261212T090000Z\r\n"
	"LAST-MODIFIED:20261206T091512Z\r\n"
	"ORGANIZER;CN=Dave;EMAIL=dave@d.test:mailto:dave@d.test\r\n"
	"SEQUENCE:0\r\n"
	"SUMMARY:Caf\xc3\xa9 planning\r\n"
	"TRANSP:OPAQUE\r\n"
	"UID:A7C6F5E4-1111-2222-3333-444455556666\r\n"
	"END:VEVENT\r\n"
	"END:VCALENDAR\r\n";

static void test_apply_request_cancel(void **state)
{
	struct itip_info info;
	struct buf out;
	const char *error;
	(void)state;
	buf_init(&out, ITIP_MAX_DATA);
	assert_int_equal(itip_parse(STR(apple_request), &info, &error), 0);
	assert_int_equal(info.method, ITIP_REQUEST);
	assert_string_equal(info.organizer, "dave@d.test");
	/* A DURATION instead of DTEND, a rule: the span as a query needs it. */
	struct itip_info span;
	char *dur = replace(apple_request, "DTEND:20261212T100000Z", "DURATION:PT90M");
	assert_int_equal(itip_parse(str_c(dur), &span, &error), 0);
	assert_int_equal(span.last - span.first, 5400);
	char *rule = replace(apple_request, "DTEND:20261212T100000Z", "RRULE:FREQ=WEEKLY");
	assert_int_equal(itip_parse(str_c(rule), &span, &error), 0);
	assert_true(span.last == INT64_MAX);
	free(dur);
	free(rule);
	/* Not from the organiser: refused. */
	assert_int_equal(itip_apply(STR(""), STR(apple_request), &info, "mallory@d.test", &bob,
				    &out, &error), 0);
	assert_non_null(strstr(error, "ORGANIZER"));
	/* From the organiser (any case): the stored object, no METHOD. */
	assert_int_equal(itip_apply(STR(""), STR(apple_request), &info, "Dave@D.test", &bob, &out,
				    &error), 1);
	assert_null(strstr(out.data, "METHOD"));
	assert_non_null(strstr(out.data, "UID:A7C6F5E4"));
	char *stored = strndup(out.data, out.len);
	/* bob accepts in his client: a REPLY to dave only, with bob alone. */
	char *accepted = replace(stored, "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED");
	struct itip_message *m;
	size_t n;
	bool truncated;
	assert_int_equal(itip_changes(str_c(stored), str_c(accepted), &bob, &m, &n, &truncated,
				      &error), 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].method, ITIP_REPLY);
	assert_string_equal(m[0].recipient, "dave@d.test");
	struct itip_info reply;
	assert_int_equal(itip_parse(str_c(m[0].data), &reply, &error), 0);
	assert_int_equal(reply.attendee_count, 1);
	assert_string_equal(reply.attendee, "bob@a.test");
	itip_messages_free(&m, n);
	/* The same REQUEST again (same SEQUENCE) keeps bob's answer. */
	assert_int_equal(itip_apply(str_c(accepted), STR(apple_request), &info, "dave@d.test", &bob,
				    &out, &error), 1);
	assert_non_null(strstr(out.data, "PARTSTAT=ACCEPTED"));
	/* A newer one asks again. */
	char *seq2 = replace(apple_request, "SEQUENCE:0", "SEQUENCE:2");
	struct itip_info info2;
	assert_int_equal(itip_parse(str_c(seq2), &info2, &error), 0);
	assert_int_equal(itip_apply(str_c(accepted), str_c(seq2), &info2, "dave@d.test", &bob, &out,
				    &error), 1);
	char *stored2 = strndup(out.data, out.len);
	assert_non_null(strstr(stored2, "SEQUENCE:2"));
	/* An older one than stored: ignored. */
	assert_int_equal(itip_apply(str_c(stored2), STR(apple_request), &info, "dave@d.test", &bob,
				    &out, &error), 0);
	/* CANCEL: the stored copy, cancelled. */
	char *cancel = replace(apple_request, "METHOD:REQUEST", "METHOD:CANCEL");
	struct itip_info ci;
	assert_int_equal(itip_parse(str_c(cancel), &ci, &error), 0);
	assert_int_equal(ci.method, ITIP_CANCEL);
	assert_int_equal(itip_apply(str_c(stored), str_c(cancel), &ci, "dave@d.test", &bob, &out,
				    &error), 1);
	assert_non_null(strstr(out.data, "STATUS:CANCELLED"));
	/* Nothing stored, or another organiser's copy: nothing to do. */
	assert_int_equal(itip_apply(STR(""), str_c(cancel), &ci, "dave@d.test", &bob, &out, &error), 0);
	assert_int_equal(itip_apply(str_c(stored), str_c(cancel), &ci, "mallory@d.test", &bob, &out,
				    &error), 0);
	/* The attendee deletes a cancelled event: no DECLINED. */
	char *cancelled = strndup(out.data, out.len);
	assert_int_equal(itip_apply(str_c(stored), str_c(cancel), &ci, "dave@d.test", &bob, &out,
				    &error), 1);
	free(cancelled);
	cancelled = strndup(out.data, out.len);
	assert_int_equal(itip_changes(str_c(cancelled), STR(""), &bob, &m, &n, &truncated, &error), 0);
	assert_int_equal(n, 0);
	itip_messages_free(&m, n);
	/* Deleting a live one declines it. */
	assert_int_equal(itip_changes(str_c(stored), STR(""), &bob, &m, &n, &truncated, &error), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(m[0].data, "PARTSTAT=DECLINED"));
	itip_messages_free(&m, n);
	free(cancelled);
	free(cancel);
	free(seq2);
	free(stored2);
	free(accepted);
	free(stored);
	buf_free(&out);
}

/* Outlook's REPLY from carol, the way it arrives at alice. */
static const char outlook_reply[] =
	"BEGIN:VCALENDAR\r\n"
	"METHOD:REPLY\r\n"
	"PRODID:Microsoft Exchange Server 2010\r\n"
	"VERSION:2.0\r\n"
	"BEGIN:VEVENT\r\n"
	"ATTENDEE;PARTSTAT=ACCEPTED;CN=Carol:mailto:carol@c.test\r\n"
	"COMMENT;LANGUAGE=en-US:\\n\r\n"
	"SUMMARY;LANGUAGE=en-US:Accepted: Budget review\r\n"
	"DTSTART;TZID=Europe/Paris:20261210T150000\r\n"
	"DTEND;TZID=Europe/Paris:20261210T160000\r\n"
	"UID:2b7c1a7e-5f3d-4b7a-9a0e-1f0c2d3e4f50\r\n"
	"ORGANIZER:mailto:alice@a.test\r\n"
	"CLASS:PUBLIC\r\n"
	"PRIORITY:5\r\n"
	"DTSTAMP:20261206T120000Z\r\n"
	"TRANSP:OPAQUE\r\n"
	"STATUS:CONFIRMED\r\n"
	"SEQUENCE:0\r\n"
	"X-MICROSOFT-CDO-APPT-SEQUENCE:0\r\n"
	"END:VEVENT\r\n"
	"END:VCALENDAR\r\n";

static void test_apply_reply(void **state)
{
	struct itip_info info;
	struct buf out;
	const char *error;
	(void)state;
	buf_init(&out, ITIP_MAX_DATA);
	assert_int_equal(itip_parse(STR(outlook_reply), &info, &error), 0);
	assert_int_equal(info.method, ITIP_REPLY);
	assert_string_equal(info.attendee, "carol@c.test");
	/* From carol: her line in alice's copy says ACCEPTED; bob's unchanged. */
	assert_int_equal(itip_apply(STR(thunderbird), STR(outlook_reply), &info, "carol@c.test",
				    &alice, &out, &error), 1);
	assert_true(line_has(out.data, "mailto:carol@c.test", "PARTSTAT=ACCEPTED"));
	assert_true(line_has(out.data, "mailto:bob@a.test", "PARTSTAT=NEEDS-ACTION"));
	/* Anyone else sending carol's answer: refused. */
	assert_int_equal(itip_apply(STR(thunderbird), STR(outlook_reply), &info, "mallory@c.test",
				    &alice, &out, &error), 0);
	/* A copy alice does not organise (bob's): refused. */
	assert_int_equal(itip_apply(STR(thunderbird), STR(outlook_reply), &info, "carol@c.test",
				    &bob, &out, &error), 0);
	/* No stored copy: nothing. */
	assert_int_equal(itip_apply(STR(""), STR(outlook_reply), &info, "carol@c.test", &alice,
				    &out, &error), 0);
	/* A REPLY by someone not invited changes nothing. */
	char *stranger = replace(outlook_reply, "carol@c.test", "eve@c.test");
	struct itip_info si;
	assert_int_equal(itip_parse(str_c(stranger), &si, &error), 0);
	assert_int_equal(itip_apply(STR(thunderbird), str_c(stranger), &si, "eve@c.test", &alice,
				    &out, &error), 0);
	free(stranger);
	buf_free(&out);
}

static void test_parse_refuses(void **state)
{
	struct itip_info info;
	const char *error;
	(void)state;
	/* A stored object (no METHOD), a PUBLISH, two UIDs, garbage. */
	assert_int_equal(itip_parse(STR(thunderbird), &info, &error), -1);
	char *publish = replace(apple_request, "METHOD:REQUEST", "METHOD:PUBLISH");
	assert_int_equal(itip_parse(str_c(publish), &info, &error), -1);
	char *two = replace(apple_request, "END:VEVENT\r\n",
			    "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:other\r\nDTSTAMP:20261206T091512Z\r\n"
			    "DTSTART:20261212T090000Z\r\nEND:VEVENT\r\n");
	assert_int_equal(itip_parse(str_c(two), &info, &error), -1);
	assert_int_equal(itip_parse(STR("hello"), &info, &error), -1);
	assert_int_equal(itip_parse(STR(""), &info, &error), -1);
	assert_int_equal(itip_parse(str_from("BEGIN:VCALENDAR\0", 16), &info, &error), -1);
	/* One past the component limit. */
	struct buf b;
	buf_init(&b, 2 * ITIP_MAX_DATA);
	buf_printf(&b, "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\n");
	for (int i = 0; i < ITIP_MAX_COMPONENTS + 1; i++)
		buf_printf(&b, "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261212T090000Z\r\nEND:VEVENT\r\n");
	buf_printf(&b, "END:VCALENDAR\r\n");
	assert_int_equal(itip_parse(buf_str(&b), &info, &error), -1);
	assert_string_equal(error, "too many components");
	/* One past the size limit. */
	buf_reset(&b);
	buf_reserve(&b, ITIP_MAX_DATA + 1);
	memset(b.data, 'x', ITIP_MAX_DATA + 1);
	b.len = ITIP_MAX_DATA + 1;
	assert_int_equal(itip_parse(buf_str(&b), &info, &error), -1);
	buf_free(&b);
	free(two);
	free(publish);
}

/* decode_part returns the decoded base64 body that follows header in
 * mail (up to the next boundary line). */
static char *decode_part(const char *mail, const char *header)
{
	const char *at = strstr(mail, header);
	assert_non_null(at);
	at = strstr(at, "\r\n\r\n");
	assert_non_null(at);
	at += 4;
	const char *end = strstr(at, "--=_");
	assert_non_null(end);
	char *out = calloc(1, (size_t)(end - at));
	size_t n = 0;
	unsigned v = 0;
	int bits = 0;
	for (const char *p = at; p < end; p++) {
		const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *c = *p != '\0' ? strchr(tab, *p) : NULL;
		if (c == NULL)
			continue;
		v = (v << 6) | (unsigned)(c - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((v >> bits) & 0xff);
		}
	}
	return out;
}

static void test_mail(void **state)
{
	struct itip_message *m;
	size_t n;
	bool truncated;
	const char *error;
	struct buf out;
	(void)state;
	buf_init(&out, 4 * ITIP_MAX_DATA);
	assert_int_equal(itip_changes(STR(""), STR(thunderbird), &alice, &m, &n, &truncated, &error), 0);
	struct itip_mail mail = { "alice@a.test", "Alice Liddell", "carol@c.test",
				  "<x1@a.test>", 1796551200 };
	assert_int_equal(itip_mail_write(&mail, str_c(m[0].data), &out, &error), 0);
	const char *t = out.data;
	assert_non_null(strstr(t, "From: Alice Liddell <alice@a.test>\r\n"));
	assert_non_null(strstr(t, "To: <carol@c.test>\r\n"));
	assert_non_null(strstr(t, "Subject: Invitation: Budget review\r\n"));
	assert_non_null(strstr(t, "Message-ID: <x1@a.test>\r\n"));
	assert_non_null(strstr(t, "Date: "));
	assert_non_null(strstr(t, "Content-Type: multipart/alternative;"));
	assert_non_null(strstr(t, "Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n"));
	/* Every line within 76 characters in the body, CRLF only. */
	const char *body = strstr(t, "\r\n\r\n");
	for (const char *l = body + 4; *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 76);
		l = e + 2;
	}
	char *text = decode_part(t, "text/plain");
	assert_non_null(strstr(text, "Title: Budget review"));
	assert_non_null(strstr(text, "When: 2026-12-10 14:00 UTC (2026-12-10 15:00 Europe/Paris)"));
	assert_non_null(strstr(text, "Where: Room 4"));
	assert_non_null(strstr(text, "Organiser: Alice <alice@a.test>"));
	char *cal = decode_part(t, "text/calendar");
	assert_string_equal(cal, m[0].data);
	free(text);
	free(cal);
	itip_messages_free(&m, n);

	/* A reply from bob of Apple's invitation, with a title not in ASCII. */
	buf_reset(&out);
	struct itip_mail r = { "bob@a.test", "", "dave@d.test", "<x2@a.test>", 1796551200 };
	char *reply = replace(apple_request, "METHOD:REQUEST", "METHOD:REPLY");
	char *accepted = replace(reply, "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED");
	assert_int_equal(itip_mail_write(&r, str_c(accepted), &out, &error), 0);
	assert_non_null(strstr(out.data, "From: <bob@a.test>\r\n"));
	assert_non_null(strstr(out.data, "Subject: Accepted: =?utf-8?B?Q2Fmw6kgcGxhbm5pbmc=?=\r\n"));
	assert_non_null(strstr(out.data, "method=REPLY"));
	free(reply);
	free(accepted);
	/* A stored object without a method is not mail. */
	assert_int_equal(itip_mail_write(&r, STR(thunderbird), &out, &error), -1);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_organizer_new),
		cmocka_unit_test(test_organizer_changes),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_apply_request_cancel),
		cmocka_unit_test(test_apply_reply),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
