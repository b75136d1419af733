/* Unit tests for autoconfig: the three documents, parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/autoconfig.h"

static const struct autoconfig_settings settings = {
	.hostname = "mail.example.org",
	.domain = NULL,
	.imaps_port = 993,
	.imap_port = 143,
	.submissions_port = 465,
	.submission_port = 587,
	.https_port = 8443,
};

#define PYTHON "/usr/bin/python3"

/* python_check runs a Python expression over the document (as bytes d)
 * and asserts it is true; skipped where there is no Python. */
static void python_check(const struct buf *doc, const char *expr)
{
	if (access(PYTHON, X_OK) != 0)
		return;
	char path[] = "/tmp/test-autoconfig-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc->data, doc->len), (ssize_t)doc->len);
	close(fd);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 PYTHON " -c 'import sys, plistlib, xml.etree.ElementTree as ET\n"
			"d = open(sys.argv[1], \"rb\").read()\nassert %s' %s",
		 expr, path);
	int ret = system(cmd);
	unlink(path);
	assert_int_equal(ret, 0);
}

static void contains(const struct buf *b, const char *text)
{
	if (strstr(b->data, text) == NULL)
		fail_msg("missing: %s\nin:\n%s", text, b->data);
}

static void test_email_check(void **state)
{
	(void)state;
	assert_int_equal(autoconfig_email_check(STR("a@b.example")), 0);
	assert_int_equal(autoconfig_email_check(STR("first.last+tag@mail-1.b.example")), 0);
	const char *bad[] = { "", "a", "@b", "a@", "a@b@c", "a b@c", "a@b c", "<a@b>", "a\"@b",
			      "a@.b", "a@b.", "a@b..c", "a@b_c", "a@b\xc3\xa9", "a\x01@b", "a&b;@c" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (autoconfig_email_check(str_c(bad[i])) == 0)
			fail_msg("accepted: %s", bad[i]);
	/* AUTOCONFIG_MAX_LOCAL and AUTOCONFIG_MAX_EMAIL, one past each. */
	char e[AUTOCONFIG_MAX_EMAIL + 2];
	memset(e, 'l', AUTOCONFIG_MAX_LOCAL);
	memcpy(e + AUTOCONFIG_MAX_LOCAL, "@b", 3);
	assert_int_equal(autoconfig_email_check(str_c(e)), 0);
	memset(e, 'l', AUTOCONFIG_MAX_LOCAL + 1);
	memcpy(e + AUTOCONFIG_MAX_LOCAL + 1, "@b", 3);
	assert_int_equal(autoconfig_email_check(str_c(e)), -1);
	memset(e, 'd', sizeof(e) - 1);
	e[0] = 'a';
	e[1] = '@';
	e[AUTOCONFIG_MAX_EMAIL] = '\0';
	assert_int_equal(autoconfig_email_check(str_c(e)), 0);
	e[AUTOCONFIG_MAX_EMAIL] = 'd';
	e[AUTOCONFIG_MAX_EMAIL + 1] = '\0';
	assert_int_equal(autoconfig_email_check(str_c(e)), -1);
}

static void test_thunderbird(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 16 * 1024);
	assert_int_equal(autoconfig_thunderbird(&settings, STR("a@b.example"), &b), 0);
	contains(&b, "<clientConfig version=\"1.1\">");
	contains(&b, "<emailProvider id=\"b.example\">");
	contains(&b, "<domain>b.example</domain>");
	contains(&b, "<incomingServer type=\"imap\">\n\t\t\t<hostname>mail.example.org</hostname>\n"
		     "\t\t\t<port>993</port>\n\t\t\t<socketType>SSL</socketType>");
	contains(&b, "<port>143</port>\n\t\t\t<socketType>STARTTLS</socketType>");
	contains(&b, "<outgoingServer type=\"smtp\">\n\t\t\t<hostname>mail.example.org</hostname>\n"
		     "\t\t\t<port>465</port>\n\t\t\t<socketType>SSL</socketType>");
	contains(&b, "<port>587</port>\n\t\t\t<socketType>STARTTLS</socketType>");
	contains(&b, "<username>%EMAILADDRESS%</username>");
	contains(&b, "<authentication>password-cleartext</authentication>");
	python_check(&b, "[s.find(\"port\").text for s in ET.fromstring(d).iter(\"incomingServer\")]"
			 " == [\"993\", \"143\"]");

	/* Ports not offered are left out; values are escaped. */
	struct autoconfig_settings s = settings;
	s.imap_port = s.submission_port = 0;
	s.hostname = "mail.<x>&\"y\"";
	s.domain = "d.example";
	buf_reset(&b);
	assert_int_equal(autoconfig_thunderbird(&s, STR(""), &b), 0);
	assert_null(strstr(b.data, "STARTTLS"));
	contains(&b, "<hostname>mail.&lt;x&gt;&amp;&quot;y&quot;</hostname>");
	contains(&b, "<domain>d.example</domain>");
	python_check(&b, "ET.fromstring(d).find(\"emailProvider/incomingServer/hostname\").text"
			 " == \"mail.<x>&\\\"y\\\"\"");

	buf_reset(&b);
	assert_int_equal(autoconfig_thunderbird(&settings, STR(""), &b), -1);
	assert_int_equal(autoconfig_thunderbird(&settings, STR("a<b>@c"), &b), -1);
	struct buf small;
	buf_init(&small, 100);
	assert_int_equal(autoconfig_thunderbird(&settings, STR("a@b.example"), &small), -1);
	buf_free(&small);
	buf_free(&b);
}

static const char *request =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
	"requestschema/2006\">\r\n"
	"  <Request>\r\n"
	"    <EMailAddress> a@b.example </EMailAddress>\r\n"
	"    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
	"outlook/responseschema/2006a</AcceptableResponseSchema>\r\n"
	"  </Request>\r\n"
	"</Autodiscover>\r\n";

static void test_autodiscover(void **state)
{
	(void)state;
	struct str email;
	assert_int_equal(autoconfig_autodiscover_email(str_c(request), &email), 0);
	assert_true(str_eq(email, STR("a@b.example")));
	assert_int_equal(
		autoconfig_autodiscover_email(STR("<a:Request><a:EMailAddressX>x@y</a:EMailAddressX>"
						  "<a:EMailAddress>c@d</a:EMailAddress>"),
					      &email),
		0);
	assert_true(str_eq(email, STR("c@d")));
	const char *bad[] = {
		"",
		"<Request></Request>",
		"<!DOCTYPE x [<!ENTITY e \"a@b\">]><EMailAddress>&e;</EMailAddress>",
		"<EMailAddress>a&amp;b@c</EMailAddress>",
		"<EMailAddress><![CDATA[a@b]]></EMailAddress>",
		"<!-- --><EMailAddress>a@b</EMailAddress>",
		"<EMailAddress>a@b",
		"<EMailAddress>a@b</Other>",
		"<EMailAddress>a@b<x/></EMailAddress>",
		"<EMailAddress>a@b</EMailAddress",
		"<EMailAddress>not an address</EMailAddress>",
		"<EMailAddress a=\"1\">a@b</EMailAddress>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (autoconfig_autodiscover_email(str_c(bad[i]), &email) == 0)
			fail_msg("accepted: %s", bad[i]);

	/* AUTOCONFIG_MAX_REQUEST, one past. */
	char *big = malloc(AUTOCONFIG_MAX_REQUEST + 1);
	memset(big, ' ', AUTOCONFIG_MAX_REQUEST + 1);
	memcpy(big, "<EMailAddress>a@b</EMailAddress>", 32);
	assert_int_equal(autoconfig_autodiscover_email(str_from(big, AUTOCONFIG_MAX_REQUEST), &email),
			 0);
	assert_int_equal(
		autoconfig_autodiscover_email(str_from(big, AUTOCONFIG_MAX_REQUEST + 1), &email), -1);
	free(big);

	struct buf b;
	buf_init(&b, 16 * 1024);
	assert_int_equal(autoconfig_autodiscover(&settings, str_c(request), &b), 0);
	contains(&b, "<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
		     "responseschema/2006a\">");
	contains(&b, "<AccountType>email</AccountType>");
	contains(&b, "<Action>settings</Action>");
	contains(&b, "<Type>IMAP</Type>\n\t\t\t\t<Server>mail.example.org</Server>\n"
		     "\t\t\t\t<Port>993</Port>");
	contains(&b, "<Type>SMTP</Type>\n\t\t\t\t<Server>mail.example.org</Server>\n"
		     "\t\t\t\t<Port>465</Port>");
	contains(&b, "<LoginName>a@b.example</LoginName>");
	contains(&b, "<SSL>on</SSL>");
	python_check(&b, "len(ET.fromstring(d).findall(\".//{*}Protocol\")) == 2");

	struct autoconfig_settings s = settings;
	s.imaps_port = s.submissions_port = 0;
	buf_reset(&b);
	assert_int_equal(autoconfig_autodiscover_response(&s, STR("a@b.example"), &b), 0);
	contains(&b, "<Port>143</Port>");
	contains(&b, "<Port>587</Port>");
	contains(&b, "<Encryption>TLS</Encryption>");
	assert_null(strstr(b.data, "<SSL>"));
	assert_int_equal(autoconfig_autodiscover(&settings, STR("<x/>"), &b), -1);
	buf_free(&b);
}

static void test_mobileconfig(void **state)
{
	(void)state;
	struct buf b, again;
	buf_init(&b, 32 * 1024);
	buf_init(&again, 32 * 1024);
	assert_int_equal(autoconfig_mobileconfig(&settings, STR("a@b.example"), STR("A <B> & C"), &b),
			 0);
	contains(&b, "<key>PayloadType</key>\n\t<string>Configuration</string>");
	contains(&b, "<string>com.apple.mail.managed</string>");
	contains(&b, "<string>com.apple.caldav.account</string>");
	contains(&b, "<string>com.apple.carddav.account</string>");
	contains(&b, "<key>CalDAVPrincipalURL</key>\n\t\t\t<string>/dav/principals/a@b.example/"
		     "</string>");
	contains(&b, "<key>CardDAVPort</key>\n\t\t\t<integer>8443</integer>");
	contains(&b, "<string>A &lt;B&gt; &amp; C</string>");
	contains(&b, "<key>PayloadIdentifier</key>\n\t<string>org.example.mail.ravelin.");
	assert_null(strstr(b.data, "<key>IncomingPassword</key>"));
	assert_null(strstr(b.data, "<key>OutgoingPassword</key>"));
	python_check(&b,
		     "(lambda p: p[\"PayloadType\"] == \"Configuration\" and p[\"PayloadVersion\"] == 1"
		     " and [c[\"PayloadType\"] for c in p[\"PayloadContent\"]] == "
		     "[\"com.apple.mail.managed\", \"com.apple.caldav.account\", "
		     "\"com.apple.carddav.account\"] and p[\"PayloadContent\"][0][\"EmailAccountName\"]"
		     " == \"A <B> & C\" and p[\"PayloadContent\"][2][\"CardDAVUsername\"] == "
		     "\"a@b.example\" and len(set([p[\"PayloadUUID\"]] + [c[\"PayloadUUID\"] for c in "
		     "p[\"PayloadContent\"]])) == 4)(plistlib.loads(d))");
	/* The same account gives the same document; another, other UUIDs. */
	assert_int_equal(autoconfig_mobileconfig(&settings, STR("a@b.example"), STR("A <B> & C"),
						 &again),
			 0);
	assert_string_equal(b.data, again.data);
	buf_reset(&again);
	assert_int_equal(autoconfig_mobileconfig(&settings, STR("c@b.example"), STR(""), &again), 0);
	const char *uuid = strstr(b.data, "<key>PayloadUUID</key>\n\t<string>");
	assert_non_null(uuid);
	uuid += strlen("<key>PayloadUUID</key>\n\t<string>");
	assert_int_equal(strchr(uuid, '<') - uuid, 36);
	assert_int_equal(uuid[14], '8'); /* version 8 */
	char one[37];
	memcpy(one, uuid, 36);
	one[36] = '\0';
	assert_null(strstr(again.data, one));

	/* No DAV payloads without an HTTPS port. */
	struct autoconfig_settings s = settings;
	s.https_port = 0;
	buf_reset(&b);
	assert_int_equal(autoconfig_mobileconfig(&s, STR("a@b.example"), STR(""), &b), 0);
	assert_null(strstr(b.data, "caldav"));
	contains(&b, "<key>EmailAccountName</key>\n\t\t\t<string>a@b.example</string>");
	python_check(&b, "len(plistlib.loads(d)[\"PayloadContent\"]) == 1");
	assert_int_equal(autoconfig_mobileconfig(&s, STR("a b@c"), STR(""), &b), -1);
	buf_free(&again);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email_check),
		cmocka_unit_test(test_thunderbird),
		cmocka_unit_test(test_autodiscover),
		cmocka_unit_test(test_mobileconfig),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
