#ifndef RAVELIN_FRONT_CHECKS_H
#define RAVELIN_FRONT_CHECKS_H
/*
 * front-checks: the inbound checks of SMTP in (SPF at MAIL FROM, DMARC at
 * the end of DATA, with the DKIM verifier's results), run in the pre-auth
 * process over its resolver link.  The evaluators (src/mail-auth) are pure
 * code evaluated by replay; this driver asks the resolver for what they
 * need, one question at a time, puts each answer into the transaction's
 * dns_cache and runs them again, until they are done.  It gives the
 * Authentication-Results field to put on top of the message and the
 * verdict: accept, accept into Junk, or refuse with 550 5.7.1.
 *
 * DNS goes through struct front_checks_dns, so that tests can answer from
 * a table; front_checks_dns_client wires it to the resolver link
 * (src/lib/dns-client.h).
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/dns.h"
#include "lib/str.h"

/* Up to this many DKIM results are taken (the rest are left out of the
 * field and of DMARC): as many as the field lists. */
#define FRONT_CHECKS_MAX_DKIM 8
/* MAIL FROM and HELO as kept for the checks (an SMTP path is at most 256
 * octets, RFC 5321 4.5.3.1.3; a HELO name is a domain). */
#define FRONT_CHECKS_MAX_SENDER 256

struct front_checks_config {
	bool spf, dkim, dmarc;     /* checks.spf / checks.dkim / checks.dmarc */
	bool dmarc_reject;         /* checks.dmarc_reject: p=reject fail -> 550 5.7.1 */
	bool dmarc_quarantine;     /* checks.dmarc_quarantine: p=quarantine fail -> Junk */
};

/* front_checks_config_from reads the checks.* keys. */
struct front_checks_config front_checks_config_from(const struct config *config);

/* THE SEAM for DKIM verification (src/mail-auth/dkim-verify): one
 * signature's outcome.  result is RFC 8601's word: "pass", "fail",
 * "neutral", "policy", "temperror" or "permerror".  b is the signature's
 * b= value (only its first 8 characters are kept).  Strings are copied. */
struct front_checks_dkim {
	const char *result;
	struct str d, s, b;
};

/* How the checks ask DNS: the same shape as dns_client_ask and
 * dns_client_cancel_all (CONTRACTS 1).  ask answers exactly once through
 * fn (maybe before it returns) or returns -1 (then never). */
typedef void front_checks_answer_fn(const struct dns_answer *a, void *ctx);
struct front_checks_dns {
	int (*ask)(void *resolver, enum dns_type type, struct str name,
		   front_checks_answer_fn *fn, void *ctx);
	void (*cancel)(void *resolver, void *ctx);
	void *resolver;            /* NULL: no resolver, every answer a DNS failure */
};

struct dns_client;
/* front_checks_dns_client wires the checks to a resolver link (NULL: none). */
struct front_checks_dns front_checks_dns_client(struct dns_client *client);

enum front_checks_verdict {
	FRONT_CHECKS_ACCEPT,
	FRONT_CHECKS_JUNK,         /* deliver into Junk (DMARC quarantine) */
	FRONT_CHECKS_REJECT,       /* answer front_checks_reply (550 5.7.1) */
};

struct front_checks;

/* front_checks_new makes the checks of one connection; hostname (our
 * authserv-id) is copied.  NULL when out of memory. */
struct front_checks *front_checks_new(const struct front_checks_config *config,
				      const char *hostname, const struct front_checks_dns *dns);
/* front_checks_free cancels any question out and frees; sets *fc NULL. */
void front_checks_free(struct front_checks **fc);

/* front_checks_mail starts a transaction: forgets the last one and starts
 * SPF for client_ip (text), HELO and MAIL FROM (without <>, empty for the
 * null sender: then HELO is checked).  Never waits: the answers come in
 * while the client sends the recipients and the message. */
void front_checks_mail(struct front_checks *fc, const char *client_ip, struct str helo,
		       struct str mail_from);

/* The header block held back while it streams in, to drop the
 * Authentication-Results fields that claim to be ours and to read From:
 * at the end; a real one is a few KB, Received: chains of a hundred hops
 * stay far under this.  A longer one goes on unfiltered (RFC 8601 5 asks
 * for removal; the field we add on top still comes first) and DMARC reads
 * what was held. */
#define FRONT_CHECKS_MAX_HEADER (128 * 1024)

/* front_checks_feed takes the message's bytes as they come (the session's
 * Received: first, CRLF line ends) and appends to out the bytes to pass
 * on: nothing while the header block is held back, then the header block
 * without the Authentication-Results fields naming our hostname, then
 * everything as it comes.  Returns 0, or -1 when out is full. */
int front_checks_feed(struct front_checks *fc, const char *data, size_t len, struct buf *out);
/* front_checks_feed_end passes on what is still held (a message that is
 * all header).  Returns 0 or -1 as above. */
int front_checks_feed_end(struct front_checks *fc, struct buf *out);
/* front_checks_headers: the header block as held (for front_checks_data),
 * valid until the next front_checks_mail or free. */
struct str front_checks_headers(const struct front_checks *fc);

typedef void front_checks_done_fn(void *ctx);
/* front_checks_data gives the message's header block (raw, as received)
 * and the DKIM results at the end of DATA and runs DMARC once SPF is done.
 * Returns 1 when the verdict is ready now (done is not called), or 0 when
 * done(ctx) will be called once it is (never from inside this call). */
int front_checks_data(struct front_checks *fc, struct str headers,
		      const struct front_checks_dkim *dkim, size_t dkim_count,
		      front_checks_done_fn *done, void *ctx);

/* After the verdict is ready: */
enum front_checks_verdict front_checks_verdict(const struct front_checks *fc);
/* front_checks_header: the Authentication-Results field, "...\r\n";
 * valid until the next front_checks_mail or free. */
struct str front_checks_header(const struct front_checks *fc);
/* front_checks_reply: the reply for FRONT_CHECKS_REJECT ("550 5.7.1 ..."). */
const char *front_checks_reply(const struct front_checks *fc);

#endif
