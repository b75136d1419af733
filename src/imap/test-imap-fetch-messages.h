#ifndef RAVELIN_TEST_IMAP_FETCH_MESSAGES_H
#define RAVELIN_TEST_IMAP_FETCH_MESSAGES_H
/*
 * test-imap-fetch-messages: the messages test-imap-fetch.c fetches from
 * (its only includer), with LF line ends unless said; the fixture makes
 * them CRLF.
 */

static const char msg_nested[] =
	"From: Alice <alice@example.org>\n"
	"To: Bob <bob@example.org>\n"
	"Subject: Nested\n"
	"Date: Wed, 17 Jul 1996 02:44:25 -0700\n"
	"Message-ID: <nested@example.org>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"This is a multi-part message.\n"
	"--outer\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"Hello Bob.\n"
	"--outer\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\n"
	"\n"
	"--alt\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Caf=C3=A9 au lait, a long line that is broken =\n"
	"here.\n"
	"--alt\n"
	"Content-Type: text/html; charset=utf-8\n"
	"\n"
	"<p>Caf&eacute;</p>\n"
	"--alt--\n"
	"\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: Carol <carol@example.org>\n"
	"Subject: Inner\n"
	"Received: from a\n"
	"\tby b\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"inner\"\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain\n"
	"\n"
	"Inner text.\n"
	"--inner\n"
	"Content-Type: application/octet-stream; name=\"data.bin\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAECAwBoZWxsbwD/\n"
	"--inner--\n"
	"\n"
	"--outer\n"
	"Content-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVsbG8gd29y\n"
	"bGQ=\n"
	"--outer\n"
	"Content-Type: text/plain\n"
	"Content-Transfer-Encoding: x-uuencode\n"
	"\n"
	"begin 644 x\n"
	"end\n"
	"--outer--\n";

/* A single part in quoted-printable, with soft breaks and padding. */
static const char msg_simple[] =
	"From: a@example.org\n"
	"Subject: Simple\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Caf=C3=A9 line one, soft=\n"
	" break; trailing space  \n"
	"last line=\n";

/* A message whose body is a message (a forward as attachment, no multipart). */
static const char msg_forward[] =
	"From: a@example.org\n"
	"Subject: Forward\n"
	"MIME-Version: 1.0\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: b@example.org\n"
	"Subject: Original\n"
	"\n"
	"Original body.\n";

/* Not MIME: no MIME-Version, so its Content-Transfer-Encoding means nothing. */
static const char msg_not_mime[] =
	"From: a@example.org\n"
	"Subject: Not MIME\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVsbG8=\n";

/* 8bit text holding a NUL (already CRLF: the NUL stops strlen). */
static const char msg_nul[] =
	"From: a@example.org\r\n"
	"Subject: nul\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Transfer-Encoding: 8bit\r\n"
	"\r\n"
	"ab\0cd\r\n";

#endif
