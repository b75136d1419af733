#ifndef RAVELIN_BOUNCE_H
#define RAVELIN_BOUNCE_H
/*
 * bounce: delivery status notifications (RFC 3464) as complete RFC 5322
 * messages, multipart/report; report-type=delivery-status:
 *   1. text/plain: what happened, naming each recipient and the remote
 *      server's answer;
 *   2. message/delivery-status: Reporting-MTA, Arrival-Date, then per
 *      recipient Final-Recipient, Action (failed or delayed), Status,
 *      Remote-MTA (when known), Diagnostic-Code (smtp; <answer>);
 *   3. text/rfc822-headers: the original's header block (never its body).
 * From "Mail Delivery System <MAILER-DAEMON@hostname>", with
 * Auto-Submitted: auto-replied (RFC 3834), to the original sender; the
 * caller sends it with the null sender, so it is never bounced itself.
 * Pure: no I/O.  What came from outside (answers, addresses, headers) is
 * kept to printable ASCII in the report's own fields.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

/* The original's header block quoted in part 3 is cut (at a line end)
 * to this: a DSN identifies the message, it need not carry a 1 MB
 * header block back. */
#define BOUNCE_MAX_HEADERS (64 * 1024)
/* A report names at most this many recipients one by one (the rest are
 * counted): 1000 is smtp.max_recipients' default. */
#define BOUNCE_MAX_RCPTS 1000
/* A DSN's size: the parts above with BOUNCE_MAX_RCPTS recipients of the
 * longest address and answer fit. */
#define BOUNCE_MAX_SIZE (8 * 1024 * 1024)

enum bounce_action { BOUNCE_FAILED, BOUNCE_DELAYED };

struct bounce_rcpt {
	struct str address;
	struct str answer;      /* "550 5.1.1 no such user"; empty: none */
	struct str remote_mta;  /* the host that answered; empty: not known */
};

struct bounce_report {
	enum bounce_action action;
	const char *hostname;   /* ours: Reporting-MTA, From:, Message-ID */
	struct str to;          /* the original's envelope sender */
	struct str id;          /* unique: Message-ID and MIME boundary */
	int64_t arrived;        /* when the original was accepted */
	int64_t now;
	int64_t retry_until;    /* delayed: when it will be given up */
	const struct bounce_rcpt *rcpts;
	size_t rcpt_count;
	struct str headers;     /* the original's header block */
};

/* bounce_build appends the whole DSN (CRLF line ends, at most
 * BOUNCE_MAX_SIZE) to out, which must have room for that much.  0, or -1
 * when it has not (out then as it was). */
int bounce_build(const struct bounce_report *r, struct buf *out);
/* bounce_header_block gives the header block at the start of message
 * (up to its empty line), at most BOUNCE_MAX_HEADERS, cut at a line end. */
struct str bounce_header_block(struct str message);
/* bounce_status gives the enhanced status code (RFC 3463) of an SMTP
 * answer ("550 5.1.1 ..." gives "5.1.1"), or the default for action
 * (5.0.0 failed, 4.0.0 delayed) when it has none of the right class. */
struct str bounce_status(struct str answer, enum bounce_action action);

#endif
