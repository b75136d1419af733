/*
 * Unit tests of vcard: cards as Apple Contacts (3.0) and DAVx5 (4.0) write
 * them, every refusal with its precondition, each limit one past, and the
 * addressbook-query filters of RFC 6352 10.5.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ical/vcard.h"
#include "lib/buf.h"

/* Apple's shape: 3.0, lower-case type=, item groups, a folded PHOTO. */
static const char apple[] =
	"BEGIN:VCARD\r\n"
	"VERSION:3.0\r\n"
	"PRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n"
	"N:Lindqvist;Anna;Maria;;\r\n"
	"FN:Anna Maria Lindqvist\r\n"
	"ORG:Lindqvist & S\\;ons AB;Sales\r\n"
	"EMAIL;type=INTERNET;type=WORK;type=pref:anna@lindqvist.example\r\n"
	"item1.EMAIL;type=INTERNET:anna.private@example.org\r\n"
	"item1.X-ABLabel:_$!<Other>!$_\r\n"
	"TEL;type=CELL;type=VOICE;type=pref:+46 70 123 45 67\r\n"
	"NOTE:Met at the fair\\, 2019.\\nLikes tea.\r\n"
	"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n"
	" /2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRof\r\n"
	"UID:7D5E2B1C-8F3A-4C6D-9E0B-1A2B3C4D5E6F\r\n"
	"END:VCARD\r\n";

/* DAVx5's shape (ez-vcard): 4.0, urn:uuid UID, quoted multi-valued TYPE. */
static const char davx5[] =
	"BEGIN:VCARD\r\n"
	"VERSION:4.0\r\n"
	"PRODID:ez-vcard 0.12.1\r\n"
	"UID:urn:uuid:4b1f0a52-9c1e-4d39-8a61-2f7c0d1e9b33\r\n"
	"FN:J\xc3\xb6rg M\xc3\xbcller\r\n"
	"N:M\xc3\xbcller;J\xc3\xb6rg;;Dr.;\r\n"
	"EMAIL;TYPE=work:joerg.mueller@firma.example\r\n"
	"TEL;TYPE=\"home,voice\";PREF=1:+49 30 1234567\r\n"
	"ADR;TYPE=home;LABEL=\"Hauptstr. 5\\n10115 Berlin\":;;Hauptstr. 5;Berlin;;10115;DE\r\n"
	"CATEGORIES:Freunde,Arbeit\r\n"
	"END:VCARD\r\n";

/* refused checks that text is refused with precondition. */
static void refused(const char *text, const char *precondition)
{
	struct vcard_info info;
	const char *pre = NULL, *error = NULL;
	if (vcard_validate(str_c(text), &info, &pre, &error) != -1)
		fail_msg("accepted: %s", text);
	assert_non_null(error);
	assert_string_equal(pre, precondition);
}

static void accepted(const char *text, unsigned version, const char *uid)
{
	struct vcard_info info;
	const char *pre = NULL, *error = NULL;
	if (vcard_validate(str_c(text), &info, &pre, &error) != 0)
		fail_msg("refused: %s", error);
	assert_int_equal(info.version, version);
	assert_string_equal(info.uid, uid);
}

static void test_clients(void **state)
{
	(void)state;
	accepted(apple, 30, "7D5E2B1C-8F3A-4C6D-9E0B-1A2B3C4D5E6F");
	accepted(davx5, 40, "urn:uuid:4b1f0a52-9c1e-4d39-8a61-2f7c0d1e9b33");
	/* Bare LF line ends, a fold by a tab, lower-case names, no final
	 * line end, blank lines after the card, 2.1's bare TEL type. */
	accepted("begin:vcard\nversion:3.0\nfn:A\n\tB\nTEL;CELL:1\nuid:x\nend:vcard", 30, "x");
	accepted("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:y\r\nEND:VCARD\r\n\r\n\r\n", 40, "y");
}

static void test_refused(void **state)
{
	(void)state;
	const char *v = "valid-address-data";
	refused("BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n",
		"supported-address-data");
	refused("BEGIN:VCARD\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);                 /* no VERSION */
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nVERSION:4.0\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nEND:VCARD\r\n", v);          /* no FN */
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n", v);           /* no UID */
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:x\r\nUID:y\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:x\r\n", v);               /* no END */
	refused("VERSION:4.0\r\nBEGIN:VCARD\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", v);
	refused("", v);
	/* Two cards; a nested one. */
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n"
		"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:B\r\nUID:y\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nBEGIN:VCARD\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	/* Bad lines: no colon, no name, a bare CR, an open quote, a control
	 * character, invalid UTF-8. */
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\n:A\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\rFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nTEL;TYPE=\"home:1\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\x01\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\xff\r\nUID:x\r\nEND:VCARD\r\n", v);
	refused("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:x\r\nEND:VCARD\r\nX:1\r\n", v);
}

/* card_with builds a 4.0 card around middle. */
static void card_with(struct buf *b, const char *middle)
{
	buf_reset(b);
	assert_int_equal(buf_printf(b, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:u\r\n%s"
				    "END:VCARD\r\n", middle), 0);
}

static void test_limits(void **state)
{
	(void)state;
	struct buf b, middle;
	struct vcard_info info;
	const char *pre, *error;

	buf_init(&b, 4 * 1024 * 1024);
	buf_init(&middle, 4 * 1024 * 1024);
	/* VCARD_MAX_LINES content lines (with the card's own 5), then one more. */
	for (int i = 0; i < VCARD_MAX_LINES - 5; i++)
		assert_int_equal(buf_printf(&middle, "NOTE:%d\r\n", i), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), 0);
	assert_int_equal(buf_printf(&middle, "NOTE:one past\r\n"), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), -1);

	/* A line of VCARD_MAX_LINE octets unfolded (folded at 75), then one more. */
	buf_reset(&middle);
	assert_int_equal(buf_printf(&middle, "NOTE:"), 0);
	for (size_t n = 5; n < VCARD_MAX_LINE; n++) {
		if (n % 75 == 0)
			assert_int_equal(buf_printf(&middle, "\r\n "), 0);
		assert_int_equal(buf_putc(&middle, 'x'), 0);
	}
	assert_int_equal(buf_printf(&middle, "\r\n"), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), 0);
	middle.len -= 2;
	assert_int_equal(buf_printf(&middle, "x\r\n"), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), -1);
	assert_string_equal(error, "vcard: content line too long");

	/* VCARD_MAX_PARAMS parameters, then one more. */
	buf_reset(&middle);
	assert_int_equal(buf_printf(&middle, "TEL"), 0);
	for (int i = 0; i < VCARD_MAX_PARAMS; i++)
		assert_int_equal(buf_printf(&middle, ";X-P%d=%d", i, i), 0);
	assert_int_equal(buf_printf(&middle, ":1\r\n"), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), 0);
	middle.len -= 4;
	assert_int_equal(buf_printf(&middle, ";X-LAST=1:1\r\n"), 0);
	card_with(&b, middle.data);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), -1);
	assert_string_equal(error, "vcard: too many parameters on a line");

	/* A UID of 255 octets fits, 256 does not. */
	char uid[300];
	memset(uid, 'u', sizeof(uid));
	snprintf(uid + 255, sizeof(uid) - 255, "\r\n");
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:%sEND:VCARD\r\n",
				    uid), 0);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), 0);
	assert_int_equal(strlen(info.uid), 255);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nUID:u%sEND:VCARD\r\n",
				    uid), 0);
	assert_int_equal(vcard_validate(buf_str(&b), &info, &pre, &error), -1);
	buf_free(&b);
	buf_free(&middle);
}

/* match runs one prop-filter (or none) over card. */
static int match1(const char *card, struct vcard_prop_filter *p, bool all_of)
{
	struct vcard_filter f = { .all_of = all_of, .props = p, .prop_count = p ? 1 : 0 };
	const char *error = NULL;
	int ret = vcard_match(str_c(card), &f, &error);
	if (ret < 0)
		fail_msg("match: %s", error);
	return ret;
}

static struct vcard_text_match text(const char *t, enum match_type m)
{
	return (struct vcard_text_match){ .text = str_c(t), .collation = COLLATION_UNICODE_CASEMAP,
					  .match = m };
}

static void test_match_text(void **state)
{
	(void)state;
	struct vcard_text_match t = text("lindqvist", MATCH_CONTAINS);
	struct vcard_prop_filter p = { .name = STR("FN"), .texts = &t, .text_count = 1 };

	assert_int_equal(match1(apple, NULL, false), 1);   /* no filter: every card */
	assert_int_equal(match1(apple, &p, false), 1);
	assert_int_equal(match1(davx5, &p, false), 0);
	t.negate = true;
	assert_int_equal(match1(apple, &p, false), 0);
	assert_int_equal(match1(davx5, &p, false), 1);
	/* Unicode case folding against the 4.0 card; a group is no part of the name. */
	t = text("M\xc3\x9cLLER", MATCH_ENDS_WITH);
	assert_int_equal(match1(davx5, &p, false), 1);
	t.collation = COLLATION_ASCII_CASEMAP;
	assert_int_equal(match1(davx5, &p, false), 0);
	t = text("anna.private@example.org", MATCH_EQUALS);
	p.name = STR("email");
	assert_int_equal(match1(apple, &p, false), 1);   /* the second EMAIL, in item1 */
	/* Escapes are undone: "\," and "\n" and "\;". */
	p.name = STR("NOTE");
	t = text("fair, 2019.\nLikes", MATCH_CONTAINS);
	assert_int_equal(match1(apple, &p, false), 1);
	p.name = STR("ORG");
	t = text("Lindqvist & S;ons AB;", MATCH_STARTS_WITH);
	assert_int_equal(match1(apple, &p, false), 1);
	t.collation = COLLATION_OCTET;
	t.text = STR("lindqvist");
	assert_int_equal(match1(apple, &p, false), 0);
}

static void test_match_combined(void **state)
{
	(void)state;
	struct vcard_text_match ts[2] = { text("anna", MATCH_STARTS_WITH),
					  text("nobody", MATCH_CONTAINS) };
	struct vcard_prop_filter p = { .name = STR("EMAIL"), .texts = ts, .text_count = 2 };

	assert_int_equal(match1(apple, &p, false), 1);   /* anyof */
	p.all_of = true;
	assert_int_equal(match1(apple, &p, false), 0);
	ts[1] = text("example.org", MATCH_ENDS_WITH);    /* met by another instance */
	assert_int_equal(match1(apple, &p, false), 1);

	/* is-not-defined, and a bare existence test. */
	struct vcard_prop_filter q = { .name = STR("NICKNAME"), .is_not_defined = true };
	assert_int_equal(match1(apple, &q, false), 1);
	q.name = STR("TEL");
	assert_int_equal(match1(apple, &q, false), 0);
	q.is_not_defined = false;
	assert_int_equal(match1(apple, &q, false), 1);
	q.name = STR("X-NONE");
	assert_int_equal(match1(apple, &q, false), 0);

	/* The filter's anyof / allof over two prop-filters. */
	struct vcard_prop_filter two[2] = { { .name = STR("TEL") }, { .name = STR("X-NONE") } };
	struct vcard_filter f = { .props = two, .prop_count = 2 };
	const char *error;
	assert_int_equal(vcard_match(str_c(apple), &f, &error), 1);
	f.all_of = true;
	assert_int_equal(vcard_match(str_c(apple), &f, &error), 0);
	assert_int_equal(vcard_match(STR("BEGIN:VCARD\r\n"), &f, &error), -1);
}

static void test_match_params(void **state)
{
	(void)state;
	struct vcard_param_filter pf = { .name = STR("TYPE"), .has_text = true,
					 .text = { .text = STR("voice"), .match = MATCH_EQUALS,
						   .collation = COLLATION_ASCII_CASEMAP } };
	struct vcard_prop_filter p = { .name = STR("TEL"), .params = &pf, .param_count = 1 };

	/* 3.0: repeated type= parameters; 4.0: one quoted list. */
	assert_int_equal(match1(apple, &p, false), 1);
	assert_int_equal(match1(davx5, &p, false), 1);
	pf.text.text = STR("fax");
	assert_int_equal(match1(davx5, &p, false), 0);
	pf.text.negate = true;
	assert_int_equal(match1(davx5, &p, false), 1);
	/* 2.1's bare type reads as TYPE. */
	pf.text = (struct vcard_text_match){ .text = STR("cell"), .match = MATCH_EQUALS,
					     .collation = COLLATION_ASCII_CASEMAP };
	assert_int_equal(match1("BEGIN:VCARD\nVERSION:3.0\nFN:A\nTEL;CELL:1\nUID:x\nEND:VCARD\n",
				&p, false), 1);
	/* Existence and absence of a parameter. */
	pf = (struct vcard_param_filter){ .name = STR("PREF") };
	assert_int_equal(match1(davx5, &p, false), 1);
	assert_int_equal(match1(apple, &p, false), 0);
	pf.is_not_defined = true;
	assert_int_equal(match1(apple, &p, false), 1);
	/* LABEL's quoted value keeps its comma-free text whole. */
	p.name = STR("ADR");
	pf = (struct vcard_param_filter){ .name = STR("label"), .has_text = true,
					  .text = { .text = STR("Berlin"), .match = MATCH_CONTAINS,
						    .collation = COLLATION_ASCII_CASEMAP } };
	assert_int_equal(match1(davx5, &p, false), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_match_text),
		cmocka_unit_test(test_match_combined),
		cmocka_unit_test(test_match_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
