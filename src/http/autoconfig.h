#ifndef RAVELIN_AUTOCONFIG_H
#define RAVELIN_AUTOCONFIG_H
/*
 * autoconfig: the documents mail clients fetch to set themselves up, no
 * I/O: Thunderbird's config-v1.1.xml, Microsoft's Autodiscover (POX,
 * Outlook 2006a response schema) and Apple's .mobileconfig profile (mail,
 * CalDAV and CardDAV accounts).  They are served before login, so the one
 * piece of client input read here, the Autodiscover request's
 * <EMailAddress>, is found by a small bounded scanner rather than an XML
 * parser, and every value written is XML-escaped.
 */
#include <stddef.h>

#include "lib/buf.h"
#include "lib/str.h"

/* An address (RFC 5321 4.5.3.1.3: a path is at most 256 octets with its
 * angle brackets) and its local part (4.5.3.1.1). */
#define AUTOCONFIG_MAX_EMAIL 254
#define AUTOCONFIG_MAX_LOCAL 64
/* An Autodiscover request body: Outlook's is under 1 KiB; this is what
 * the pre-auth process reads at most (HTTP_PREAUTH_MAX_BODY). */
#define AUTOCONFIG_MAX_REQUEST (64 * 1024)

struct autoconfig_settings {
	const char *hostname; /* the server's name, as in its certificate */
	const char *domain;   /* of the address asked about; NULL or "": the address's */
	/* 0: not offered */
	unsigned imaps_port, imap_port, submissions_port, submission_port, https_port;
};

struct config;
/* autoconfig_settings_from: this server as c says it is (its hostname and
 * the first listener of each service; 0 for one not offered), for
 * addresses of domain (NULL: the address's own). */
void autoconfig_settings_from(const struct config *c, const char *domain,
			      struct autoconfig_settings *s);

/* autoconfig_email_check: local@domain, printable ASCII without blanks,
 * quotes or angle brackets, one '@', a domain of letters, digits, '-' and
 * dots between non-empty labels, within AUTOCONFIG_MAX_EMAIL and
 * AUTOCONFIG_MAX_LOCAL.  0 or -1. */
int autoconfig_email_check(struct str email);

/*
 * autoconfig_thunderbird appends Thunderbird's clientConfig 1.1 for email
 * (empty: for s->domain, which then must be set): IMAP with SSL on
 * imaps_port, STARTTLS on imap_port, SMTP with SSL on submissions_port,
 * STARTTLS on submission_port (those that are not 0), user name
 * %EMAILADDRESS%, password-cleartext.  0, or -1 (a malformed email, or out
 * full: out may then hold part of the document; the caller resets it).
 */
int autoconfig_thunderbird(const struct autoconfig_settings *s, struct str email,
			   struct buf *out);

/*
 * autoconfig_autodiscover_email finds the address in an Autodiscover
 * request (the text of its first EMailAddress element, any namespace
 * prefix).  0 with *email_r a view into body (checked with
 * autoconfig_email_check), or -1: over AUTOCONFIG_MAX_REQUEST, any "<!"
 * (DOCTYPE, ENTITY, CDATA, comments: none is needed and each is a way
 * around a small scanner), no element, an entity or '<' in it.
 */
int autoconfig_autodiscover_email(struct str body, struct str *email_r);

/* autoconfig_autodiscover_response appends the POX response for email:
 * one IMAP and one SMTP Protocol, implicit TLS preferred (SSL on), else
 * STARTTLS (Encryption TLS), LoginName the address.  0 or -1 as above. */
int autoconfig_autodiscover_response(const struct autoconfig_settings *s, struct str email,
				     struct buf *out);

/* autoconfig_autodiscover: both of the above, for a POST body. */
int autoconfig_autodiscover(const struct autoconfig_settings *s, struct str request_xml_body,
			    struct buf *out);

/*
 * autoconfig_mobileconfig appends an unsigned configuration profile
 * (plist XML) for email: a com.apple.mail.managed payload (IMAP and SMTP,
 * implicit TLS preferred, the address as user name, no password) when an
 * IMAP and an SMTP port are offered, and com.apple.caldav.account and
 * com.apple.carddav.account payloads (https_port, SSL, principal
 * /dav/principals/<addr>/) when https_port is.  display_name (may be empty)
 * names the mail account.  The PayloadUUIDs are derived from hostname and
 * address (SHA-256, shaped as UUIDs), so the same account's profile is the
 * same document and installing it again replaces it; PayloadIdentifier is
 * the hostname reversed.  0 or -1 as above.
 */
int autoconfig_mobileconfig(const struct autoconfig_settings *s, struct str email,
			    struct str display_name, struct buf *out);

#endif
