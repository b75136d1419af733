/* autoconfig: mail client set-up documents (see autoconfig.h). */
#include "autoconfig.h"

#include <string.h>

#include <sodium.h>

#include "http/http-path.h"
#include "lib/config.h"

/* xml_append writes s with the five XML special characters escaped and
 * control octets (not allowed in XML 1.0 text) left out. */
static int xml_append(struct buf *out, struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		const char *esc = c == '&'   ? "&amp;"
				  : c == '<' ? "&lt;"
				  : c == '>' ? "&gt;"
				  : c == '"' ? "&quot;"
				  : c == '\'' ? "&apos;"
					      : NULL;
		int ret = 0;
		if (esc != NULL)
			ret = buf_append_str(out, str_c(esc));
		else if ((unsigned char)c >= 0x20 && c != 0x7f)
			ret = buf_putc(out, c);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* element writes <name>value</name>, value escaped, after indent tabs. */
static int element(struct buf *out, int indent, const char *name, struct str value)
{
	if (buf_printf(out, "%.*s<%s>", indent, "\t\t\t\t\t\t", name) < 0 ||
	    xml_append(out, value) < 0 || buf_printf(out, "</%s>\n", name) < 0)
		return -1;
	return 0;
}

static bool is_domain_char(char c)
{
	return str_is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

int autoconfig_email_check(struct str email)
{
	long at = str_chr(email, '@');
	if (email.len > AUTOCONFIG_MAX_EMAIL || at <= 0 || (size_t)at > AUTOCONFIG_MAX_LOCAL)
		return -1;
	struct str local = str_sub(email, 0, (size_t)at);
	struct str domain = str_sub(email, (size_t)at + 1, email.len);
	for (size_t i = 0; i < local.len; i++) {
		unsigned char c = (unsigned char)local.ptr[i];
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>()[]\\,;:@", c) != NULL)
			return -1;
	}
	if (domain.len == 0 || domain.ptr[0] == '.' || domain.ptr[domain.len - 1] == '.')
		return -1;
	for (size_t i = 0; i < domain.len; i++)
		if (!is_domain_char(domain.ptr[i]) ||
		    (domain.ptr[i] == '.' && domain.ptr[i + 1] == '.'))
			return -1;
	return 0;
}

/* email_domain: s->domain when set, else the address's (checked). */
static struct str email_domain(const struct autoconfig_settings *s, struct str email)
{
	if (s->domain != NULL && s->domain[0] != '\0')
		return str_c(s->domain);
	long at = str_chr(email, '@');
	return at < 0 ? STR("") : str_sub(email, (size_t)at + 1, email.len);
}

/* listen_port is the port of the first listener of l, 0 if none. */
static unsigned listen_port(const struct config_listen *l)
{
	char host[sizeof(l->addr[0])];
	uint16_t port;
	if (l->count == 0 || config_parse_listen(l->addr[0], host, sizeof(host), &port) < 0)
		return 0;
	return port;
}

void autoconfig_settings_from(const struct config *c, const char *domain,
			      struct autoconfig_settings *s)
{
	*s = (struct autoconfig_settings){
		.hostname = c->hostname,
		.domain = domain,
		.imaps_port = listen_port(&c->listen_imaps),
		.imap_port = listen_port(&c->listen_imap),
		.submissions_port = listen_port(&c->listen_submissions),
		.submission_port = listen_port(&c->listen_submission),
		.https_port = listen_port(&c->listen_https),
	};
}

/* One Thunderbird incomingServer or outgoingServer. */
static int tb_server(struct buf *out, const char *tag, const char *type, const char *host,
		     unsigned port, const char *socket_type)
{
	char port_text[8];
	snprintf(port_text, sizeof(port_text), "%u", port);
	if (port == 0)
		return 0;
	if (buf_printf(out, "\t\t<%s type=\"%s\">\n", tag, type) < 0 ||
	    element(out, 3, "hostname", str_c(host)) < 0 ||
	    element(out, 3, "port", str_c(port_text)) < 0 ||
	    element(out, 3, "socketType", str_c(socket_type)) < 0 ||
	    element(out, 3, "authentication", STR("password-cleartext")) < 0 ||
	    element(out, 3, "username", STR("%EMAILADDRESS%")) < 0 ||
	    buf_printf(out, "\t\t</%s>\n", tag) < 0)
		return -1;
	return 0;
}

/* One Thunderbird calendar or addressBook (siblings of emailProvider):
 * the DAV root, where the client finds the principal. */
static int tb_dav(struct buf *out, const char *tag, const char *type,
		  const struct autoconfig_settings *s)
{
	char url[300];
	if (s->https_port == 0)
		return 0;
	if (s->https_port == 443)
		snprintf(url, sizeof(url), "https://%s/dav/", s->hostname);
	else
		snprintf(url, sizeof(url), "https://%s:%u/dav/", s->hostname, s->https_port);
	if (buf_printf(out, "\t<%s type=\"%s\">\n", tag, type) < 0 ||
	    element(out, 2, "username", STR("%EMAILADDRESS%")) < 0 ||
	    element(out, 2, "authentication", STR("http-basic")) < 0 ||
	    element(out, 2, "serverURL", str_c(url)) < 0 || buf_printf(out, "\t</%s>\n", tag) < 0)
		return -1;
	return 0;
}

int autoconfig_thunderbird(const struct autoconfig_settings *s, struct str email,
			   struct buf *out)
{
	if (email.len > 0 ? autoconfig_email_check(email) < 0
			  : s->domain == NULL || s->domain[0] == '\0')
		return -1;
	struct str domain = email_domain(s, email);
	if (buf_append_str(out, STR("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				    "<clientConfig version=\"1.1\">\n\t<emailProvider id=\"")) < 0 ||
	    xml_append(out, domain) < 0 || buf_append_str(out, STR("\">\n")) < 0 ||
	    element(out, 2, "domain", domain) < 0 || element(out, 2, "displayName", domain) < 0 ||
	    element(out, 2, "displayShortName", domain) < 0 ||
	    tb_server(out, "incomingServer", "imap", s->hostname, s->imaps_port, "SSL") < 0 ||
	    tb_server(out, "incomingServer", "imap", s->hostname, s->imap_port, "STARTTLS") < 0 ||
	    tb_server(out, "outgoingServer", "smtp", s->hostname, s->submissions_port, "SSL") < 0 ||
	    tb_server(out, "outgoingServer", "smtp", s->hostname, s->submission_port,
		      "STARTTLS") < 0 ||
	    buf_append_str(out, STR("\t</emailProvider>\n")) < 0 ||
	    tb_dav(out, "addressBook", "carddav", s) < 0 || tb_dav(out, "calendar", "caldav", s) < 0 ||
	    buf_append_str(out, STR("</clientConfig>\n")) < 0)
		return -1;
	return 0;
}

/* tag_name: the local name of the tag whose text starts at t (past '<'),
 * without a namespace prefix; *end_r past the name. */
static struct str tag_name(struct str t, size_t *end_r)
{
	size_t end = 0;
	while (end < t.len && t.ptr[end] != '>' && t.ptr[end] != '/' && t.ptr[end] != ' ' &&
	       t.ptr[end] != '\t' && t.ptr[end] != '\r' && t.ptr[end] != '\n')
		end++;
	*end_r = end;
	struct str name = str_sub(t, 0, end);
	long colon = str_chr(name, ':');
	return colon < 0 ? name : str_sub(name, (size_t)colon + 1, name.len);
}

int autoconfig_autodiscover_email(struct str body, struct str *email_r)
{
	if (body.len > AUTOCONFIG_MAX_REQUEST || memmem(body.ptr, body.len, "<!", 2) != NULL)
		return -1;
	for (size_t i = 0; i < body.len; i++) {
		if (body.ptr[i] != '<')
			continue;
		size_t end;
		struct str rest = str_sub(body, i + 1, body.len);
		if (!str_eq(tag_name(rest, &end), STR("EMailAddress")) || end == rest.len ||
		    rest.ptr[end] != '>')
			continue;
		struct str text = str_sub(rest, end + 1, rest.len);
		long lt = str_chr(text, '<');
		if (lt < 0 || (size_t)lt + 1 == text.len || text.ptr[lt + 1] != '/')
			return -1;
		struct str close_tag = str_sub(text, (size_t)lt + 2, text.len);
		if (!str_eq(tag_name(close_tag, &end), STR("EMailAddress")) ||
		    end == close_tag.len || close_tag.ptr[end] != '>')
			return -1;
		*email_r = str_trim(str_sub(text, 0, (size_t)lt));
		if (str_chr(*email_r, '&') >= 0) /* entities are not decoded */
			return -1;
		return autoconfig_email_check(*email_r);
	}
	return -1;
}

/* One Autodiscover Protocol: implicit TLS on tls_port, else STARTTLS. */
static int ad_protocol(struct buf *out, const char *type, const char *host, unsigned tls_port,
		       unsigned starttls_port, struct str email)
{
	unsigned port = tls_port != 0 ? tls_port : starttls_port;
	if (port == 0)
		return 0;
	char port_text[8];
	snprintf(port_text, sizeof(port_text), "%u", port);
	if (buf_append_str(out, STR("\t\t\t<Protocol>\n")) < 0 ||
	    element(out, 4, "Type", str_c(type)) < 0 || element(out, 4, "Server", str_c(host)) < 0 ||
	    element(out, 4, "Port", str_c(port_text)) < 0 ||
	    element(out, 4, "DomainRequired", STR("off")) < 0 ||
	    element(out, 4, "LoginName", email) < 0 || element(out, 4, "SPA", STR("off")) < 0 ||
	    (tls_port != 0 ? element(out, 4, "SSL", STR("on"))
			   : element(out, 4, "Encryption", STR("TLS"))) < 0 ||
	    element(out, 4, "AuthRequired", STR("on")) < 0 ||
	    buf_append_str(out, STR("\t\t\t</Protocol>\n")) < 0)
		return -1;
	return 0;
}

int autoconfig_autodiscover_response(const struct autoconfig_settings *s, struct str email,
				     struct buf *out)
{
	if (autoconfig_email_check(email) < 0)
		return -1;
	if (buf_append_str(out, STR("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
				    "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
				    "autodiscover/responseschema/2006\">\n"
				    "\t<Response xmlns=\"http://schemas.microsoft.com/exchange/"
				    "autodiscover/outlook/responseschema/2006a\">\n"
				    "\t\t<Account>\n"
				    "\t\t\t<AccountType>email</AccountType>\n"
				    "\t\t\t<Action>settings</Action>\n")) < 0 ||
	    ad_protocol(out, "IMAP", s->hostname, s->imaps_port, s->imap_port, email) < 0 ||
	    ad_protocol(out, "SMTP", s->hostname, s->submissions_port, s->submission_port,
			email) < 0 ||
	    buf_append_str(out, STR("\t\t</Account>\n\t</Response>\n</Autodiscover>\n")) < 0)
		return -1;
	return 0;
}

int autoconfig_autodiscover(const struct autoconfig_settings *s, struct str request_xml_body,
			    struct buf *out)
{
	struct str email;
	if (autoconfig_autodiscover_email(request_xml_body, &email) < 0)
		return -1;
	return autoconfig_autodiscover_response(s, email, out);
}

/* The parts of a profile that every payload needs. */
struct profile {
	const struct autoconfig_settings *s;
	struct str email;
	char identifier[300]; /* the hostname reversed, ".ravelin" */
	struct buf *out;
};

/* profile_uuid shapes SHA-256(hostname NUL address NUL purpose) as a UUID
 * (RFC 9562 version 8: the bits are ours, only the shape is the UUID's). */
static void profile_uuid(const struct profile *p, const char *purpose, char out[37])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)p->s->hostname,
				  strlen(p->s->hostname) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)p->email.ptr, p->email.len);
	crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)purpose, strlen(purpose));
	crypto_hash_sha256_final(&st, h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x80);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
}

static int plist_string(struct buf *out, const char *key, struct str value)
{
	if (buf_printf(out, "\t\t\t<key>%s</key>\n", key) < 0)
		return -1;
	return element(out, 3, "string", value);
}

static int plist_integer(struct buf *out, const char *key, unsigned value)
{
	return buf_printf(out, "\t\t\t<key>%s</key>\n\t\t\t<integer>%u</integer>\n", key, value);
}

static int plist_true(struct buf *out, const char *key)
{
	return buf_printf(out, "\t\t\t<key>%s</key>\n\t\t\t<true/>\n", key);
}

/* The keys every payload has; purpose names it ("mail", "caldav", ...). */
static int payload_common(const struct profile *p, const char *type, const char *purpose,
			  const char *display)
{
	char uuid[37], identifier[400];
	profile_uuid(p, purpose, uuid);
	snprintf(identifier, sizeof(identifier), "%s.%s.%s", p->identifier, uuid, purpose);
	if (plist_string(p->out, "PayloadDisplayName", str_c(display)) < 0 ||
	    plist_string(p->out, "PayloadIdentifier", str_c(identifier)) < 0 ||
	    plist_string(p->out, "PayloadType", str_c(type)) < 0 ||
	    plist_string(p->out, "PayloadUUID", str_c(uuid)) < 0 ||
	    plist_integer(p->out, "PayloadVersion", 1) < 0 ||
	    buf_append_str(p->out, STR("\t\t</dict>\n")) < 0)
		return -1;
	return 0;
}

static int payload_mail(const struct profile *p, struct str display_name)
{
	const struct autoconfig_settings *s = p->s;
	unsigned in = s->imaps_port != 0 ? s->imaps_port : s->imap_port;
	unsigned outp = s->submissions_port != 0 ? s->submissions_port : s->submission_port;
	if (in == 0 || outp == 0)
		return 0;
	struct buf *o = p->out;
	struct str host = str_c(s->hostname);
	if (buf_append_str(o, STR("\t\t<dict>\n")) < 0 ||
	    plist_string(o, "EmailAccountDescription", p->email) < 0 ||
	    plist_string(o, "EmailAccountName", display_name.len > 0 ? display_name : p->email) < 0 ||
	    plist_string(o, "EmailAccountType", STR("EmailTypeIMAP")) < 0 ||
	    plist_string(o, "EmailAddress", p->email) < 0 ||
	    plist_string(o, "IncomingMailServerAuthentication", STR("EmailAuthPassword")) < 0 ||
	    plist_string(o, "IncomingMailServerHostName", host) < 0 ||
	    plist_integer(o, "IncomingMailServerPortNumber", in) < 0 ||
	    plist_true(o, "IncomingMailServerUseSSL") < 0 ||
	    plist_string(o, "IncomingMailServerUsername", p->email) < 0 ||
	    plist_string(o, "OutgoingMailServerAuthentication", STR("EmailAuthPassword")) < 0 ||
	    plist_string(o, "OutgoingMailServerHostName", host) < 0 ||
	    plist_integer(o, "OutgoingMailServerPortNumber", outp) < 0 ||
	    plist_true(o, "OutgoingMailServerUseSSL") < 0 ||
	    plist_string(o, "OutgoingMailServerUsername", p->email) < 0 ||
	    plist_true(o, "OutgoingPasswordSameAsIncomingPassword") < 0)
		return -1;
	return payload_common(p, "com.apple.mail.managed", "mail", "Mail");
}

/* A CalDAV or CardDAV account payload; prefix is "CalDAV" or "CardDAV". */
static int payload_dav(const struct profile *p, const char *prefix, const char *type,
		       const char *purpose, struct str principal)
{
	char key[64];
	struct buf *o = p->out;
	if (buf_append_str(o, STR("\t\t<dict>\n")) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sAccountDescription", prefix);
	if (plist_string(o, key, p->email) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sHostName", prefix);
	if (plist_string(o, key, str_c(p->s->hostname)) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sPort", prefix);
	if (plist_integer(o, key, p->s->https_port) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sPrincipalURL", prefix);
	if (plist_string(o, key, principal) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sUseSSL", prefix);
	if (plist_true(o, key) < 0)
		return -1;
	snprintf(key, sizeof(key), "%sUsername", prefix);
	if (plist_string(o, key, p->email) < 0)
		return -1;
	return payload_common(p, type, purpose, prefix);
}

/* reverse_dns: "mail.example.org" -> "org.example.mail". */
static void reverse_dns(const char *host, char *out, size_t size)
{
	struct str h = str_c(host);
	size_t o = 0;
	while (h.len > 0 && o + 1 < size) {
		size_t start = h.len;
		while (start > 0 && h.ptr[start - 1] != '.')
			start--;
		size_t n = h.len - start;
		if (o > 0 && o + 1 < size)
			out[o++] = '.';
		if (n > size - 1 - o)
			n = size - 1 - o;
		memcpy(out + o, h.ptr + start, n);
		o += n;
		h.len = start > 0 ? start - 1 : 0;
	}
	out[o] = '\0';
}

int autoconfig_mobileconfig(const struct autoconfig_settings *s, struct str email,
			    struct str display_name, struct buf *out)
{
	if (autoconfig_email_check(email) < 0)
		return -1;
	struct profile p = { .s = s, .email = email, .out = out };
	char rev[256], uuid[37];
	reverse_dns(s->hostname, rev, sizeof(rev));
	snprintf(p.identifier, sizeof(p.identifier), "%s.ravelin", rev);
	/* The principal's href: the address percent-encoded at worst. */
	struct buf principal;
	buf_init(&principal, AUTOCONFIG_MAX_EMAIL * 3 + 512);
	const struct str segs[] = { STR("dav"), STR("principals"), email };
	int ret = -1;
	if (http_href_append(&principal, segs, 3, true) < 0)
		goto out;
	if (buf_append_str(out, STR("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
				    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
				    "<plist version=\"1.0\">\n<dict>\n"
				    "\t<key>PayloadContent</key>\n\t<array>\n")) < 0 ||
	    payload_mail(&p, display_name) < 0)
		goto out;
	if (s->https_port != 0 &&
	    (payload_dav(&p, "CalDAV", "com.apple.caldav.account", "caldav", buf_str(&principal)) <
		     0 ||
	     payload_dav(&p, "CardDAV", "com.apple.carddav.account", "carddav",
			 buf_str(&principal)) < 0))
		goto out;
	profile_uuid(&p, "profile", uuid);
	char identifier[400];
	snprintf(identifier, sizeof(identifier), "%s.%s", p.identifier, uuid);
	/* The title reuses principal's buffer: the href is written already. */
	buf_reset(&principal);
	if (buf_printf(&principal, "%s (%.*s)", s->hostname, (int)email.len, email.ptr) < 0 ||
	    buf_append_str(out, STR("\t</array>\n\t<key>PayloadDisplayName</key>\n")) < 0 ||
	    element(out, 1, "string", buf_str(&principal)) < 0 ||
	    buf_append_str(out, STR("\t<key>PayloadIdentifier</key>\n")) < 0 ||
	    element(out, 1, "string", str_c(identifier)) < 0 ||
	    buf_printf(out, "\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
			    "\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
			    "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
			    "</dict>\n</plist>\n",
			uuid) < 0)
		goto out;
	ret = 0;
out:
	buf_free(&principal);
	return ret;
}
