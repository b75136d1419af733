/* config: the typed, bounded configuration table (see config.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "str.h"

/* A configuration file is small; anything bigger is a mistake. */
#define CONFIG_MAX_FILE (256 * 1024)

/* CT_DURATION: seconds, written with a unit or not (config_parse_duration);
 * CT_SCHEDULE: a comma-separated list of them (struct config_schedule);
 * CT_BOOL: true/yes/1 or false/no/0, kept as a u64 1 or 0. */
enum config_type { CT_STRING, CT_U64, CT_LISTEN, CT_DURATION, CT_SCHEDULE, CT_BOOL };

struct config_param {
	const char *name;
	enum config_type type;
	size_t offset;
	size_t size;          /* for strings: the field size */
	const char *def;
	uint64_t min, max;    /* for numbers */
	const char *help;
};

#define S(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define U(field) offsetof(struct config, field), 0

static const struct config_param params[] = {
	{ "hostname", CT_STRING, S(hostname), "localhost", 0, 0,
	  "name in greetings and Received: headers" },
	{ "data", CT_STRING, S(data), "./data", 0, 0, "data directory" },
	{ "user", CT_STRING, S(user), "", 0, 0,
	  "when started as root, every child runs as this one user (empty: a uid per "
	  "process kind and per account, from uid_base and worker.uid_base)" },
	/* Both ranges are numbers only, with no /etc/passwd entry (as systemd's
	 * DynamicUser): the defaults sit between the user-namespace ranges
	 * (subuid from 100000, systemd's containers up to 1879048191) and the
	 * ids newer systemd reserves below 2^31; docs/design-notes.md says why. */
	{ "uid_base", CT_U64, U(uid_base), "2000000000", CONFIG_UID_MIN,
	  CONFIG_UID_MAX - CONFIG_ROLE_UIDS + 1,
	  "when started as root with `user` empty: spawner (and its pre-auth processes) "
	  "runs as this uid, auth +1, queue +2, keys +3, resolver +4, relay +5, spam +6 (16 are kept for roles)" },
	{ "worker.uid_base", CT_U64, U(worker_uid_base), "2000065536", CONFIG_UID_MIN,
	  CONFIG_UID_MAX - 1,
	  "account N's worker runs as this uid + N (an id past the range is not served)" },
	{ "log.level", CT_STRING, S(log_level), "info", 0, 0, "debug, info, warn or error" },
	{ "tls.cert", CT_STRING, S(tls_cert), "", 0, 0,
	  "PEM certificate chain (empty: DATA/tls/cert.pem, self-signed on first start)" },
	{ "tls.key", CT_STRING, S(tls_key), "", 0, 0,
	  "PEM private key (empty: DATA/tls/key.pem)" },
	{ "listen.smtp", CT_LISTEN, S(listen_smtp), "127.0.0.1:2525", 0, 0,
	  "SMTP (MX) listeners, comma-separated host:port" },
	{ "listen.pop3", CT_LISTEN, S(listen_pop3), "127.0.0.1:2110", 0, 0,
	  "POP3 listeners (STLS offered; passwords only after it)" },
	{ "listen.pop3s", CT_LISTEN, S(listen_pop3s), "127.0.0.1:2995", 0, 0,
	  "POP3 over TLS listeners" },
	{ "listen.imap", CT_LISTEN, S(listen_imap), "127.0.0.1:2143", 0, 0,
	  "IMAP listeners (STARTTLS offered; passwords only after it)" },
	{ "listen.imaps", CT_LISTEN, S(listen_imaps), "127.0.0.1:2993", 0, 0,
	  "IMAP over TLS listeners" },
	{ "listen.submission", CT_LISTEN, S(listen_submission), "127.0.0.1:2587", 0, 0,
	  "mail submission listeners (RFC 6409: STARTTLS, then AUTH)" },
	{ "listen.submissions", CT_LISTEN, S(listen_submissions), "127.0.0.1:2465", 0, 0,
	  "mail submission over TLS listeners (RFC 8314)" },
	{ "listen.https", CT_LISTEN, S(listen_https), "127.0.0.1:8443", 0, 0,
	  "HTTPS listeners: CalDAV, CardDAV, client set-up" },
	{ "listen.http", CT_LISTEN, S(listen_http), "127.0.0.1:8080", 0, 0,
	  "plain HTTP listeners: a redirect to HTTPS and the autoconfig documents only" },
	{ "submission.received_ip", CT_BOOL, U(submission_received_ip), "false", 0, 1,
	  "name the client's address in the Received: line of submitted mail" },
	{ "front.processes", CT_U64, U(front_processes), "0", 0, 64,
	  "front processes (0: one per core)" },
	{ "smtp.max_message_size", CT_U64, U(smtp_max_message_size), "52428800", 1024,
	  1073741824, "largest message accepted, bytes (SIZE)" },
	{ "smtp.max_recipients", CT_U64, U(smtp_max_recipients), "1000", 1, 100000,
	  "recipients per message" },
	{ "smtp.idle_timeout", CT_U64, U(smtp_idle_timeout), "300", 1, 3600,
	  "seconds a client may stay silent (RFC 5321 4.5.3.2)" },
	{ "smtp.session_timeout", CT_U64, U(smtp_session_timeout), "3600", 1, 86400,
	  "seconds one SMTP connection may last in all" },
	{ "front.max_connections", CT_U64, U(front_max_connections), "1000", 1, 1000000,
	  "client connections (all services) per front process" },
	{ "front.max_connections_per_ip", CT_U64, U(front_max_connections_per_ip), "50", 1,
	  100000, "client connections from one address (all fronts together)" },
	{ "pop3.idle_timeout", CT_U64, U(pop3_idle_timeout), "600", 1, 3600,
	  "seconds a POP3 client may stay silent (RFC 1939: at least 600)" },
	{ "imap.login_timeout", CT_U64, U(imap_login_timeout), "180", 1, 1800,
	  "seconds an IMAP client may stay silent before it logs in (after it: 30 minutes)" },
	{ "imap.park_delay", CT_U64, U(imap_park_delay), "10000", 0, 3600000,
	  "milliseconds an IMAP session waits in IDLE with nothing to do before its worker "
	  "parks it (0: never)" },
	{ "http.idle_timeout", CT_U64, U(http_idle_timeout), "60", 1, 3600,
	  "seconds an HTTP connection after login may stay silent before its worker closes it" },
	{ "worker.idle_timeout", CT_U64, U(worker_idle_timeout), "60", 1, 86400,
	  "seconds an account's worker stays without work before it exits" },
	{ "queue.retry_delay", CT_U64, U(queue_retry_delay), "60", 1, 86400,
	  "seconds before the first retry of a delivery that failed for now" },
	{ "spam.rspamd", CT_STRING, S(spam_rspamd), "", 0, 0,
	  "rspamd's normal worker, numeric IP:port (empty: no spam filtering)" },
	{ "spam.rspamd_controller", CT_STRING, S(spam_rspamd_controller), "", 0, 0,
	  "rspamd's controller worker, numeric IP:port, for learning from Junk moves "
	  "(empty: no learning)" },
	{ "spam.fail_closed", CT_U64, U(spam_fail_closed), "0", 0, 1,
	  "true: refuse (451) mail rspamd could not check; false: accept it, tagged" },
	{ "checks.spf", CT_U64, U(checks_spf), "1", 0, 1,
	  "1: check SPF (RFC 7208) of mail received on SMTP in" },
	{ "checks.dkim", CT_U64, U(checks_dkim), "1", 0, 1,
	  "1: verify DKIM signatures (RFC 6376) of mail received on SMTP in" },
	{ "checks.dmarc", CT_U64, U(checks_dmarc), "1", 0, 1,
	  "1: evaluate DMARC (RFC 7489) for mail received on SMTP in" },
	{ "checks.dmarc_reject", CT_U64, U(checks_dmarc_reject), "1", 0, 1,
	  "1: refuse with 550 5.7.1 mail that fails DMARC under p=reject (0: to Junk)" },
	{ "checks.dmarc_quarantine", CT_U64, U(checks_dmarc_quarantine), "1", 0, 1,
	  "1: deliver into Junk mail that fails DMARC under p=quarantine" },
	{ "dns.resolver", CT_STRING, S(dns_resolver), "", 0, 0,
	  "the DNS resolver every question goes to, IP:port (empty: those of /etc/resolv.conf)" },
	{ "dns.trust_anchor", CT_STRING, S(dns_trust_anchor), "", 0, 0,
	  "DNSSEC trust anchor file, one DS or DNSKEY record a line (empty: no validation)" },
	{ "queue.retry_schedule", CT_SCHEDULE, S(queue_retry_schedule), "5m,10m,30m,1h,2h,4h",
	  CONFIG_RETRY_STEP_MIN, CONFIG_RETRY_STEP_MAX,
	  "waits between attempts of a remote delivery that failed for now, the last repeated" },
	{ "queue.expire", CT_DURATION, U(queue_expire), "5d", 1, CONFIG_MAX_DURATION,
	  "a remote delivery failing for now this long after the first attempt is bounced" },
	{ "queue.delay_notice", CT_DURATION, U(queue_delay_notice), "4h", 0, CONFIG_MAX_DURATION,
	  "the sender is told a message waits after this long (0: never)" },
	{ "relay.smarthost", CT_STRING, S(relay_smarthost), "", 0, 0,
	  "host:port that receives all outbound mail (empty: each domain's MX)" },
	{ "relay.smarthost_tls", CT_STRING, S(relay_smarthost_tls), "required", 0, 0,
	  "required or opportunistic: STARTTLS to the smarthost" },
	{ "relay.smarthost_auth_file", CT_STRING, S(relay_smarthost_auth_file), "", 0, 0,
	  "file of one line \"user password\" for AUTH PLAIN at the smarthost (empty: none)" },
	{ "relay.max_per_destination", CT_U64, U(relay_max_per_destination), "2", 1, 50,
	  "connections at once to one destination domain (or the smarthost)" },
	{ "relay.ca_file", CT_STRING, S(relay_ca_file), "", 0, 0,
	  "PEM file of the CAs an MTA-STS policy host and MX host must chain to (empty: the system's)" },
	{ "relay.connect_timeout", CT_U64, U(relay_connect_timeout), "30", 1, 600,
	  "seconds to wait for an outbound connection, and for a TLS handshake" },
	{ "relay.reply_timeout", CT_U64, U(relay_reply_timeout), "300", 1, 3600,
	  "seconds to wait for a remote server's reply (RFC 5321 4.5.3.2 says 5 to 10 min)" },
};

#define N_PARAMS (sizeof(params) / sizeof(params[0]))

static const struct config_param *param_find(const char *key)
{
	for (size_t i = 0; i < N_PARAMS; i++)
		if (strcmp(params[i].name, key) == 0)
			return &params[i];
	return NULL;
}

int config_parse_listen(const char *addr, char *host, size_t hostsize, uint16_t *port)
{
	const char *colon;
	const char *h = addr;
	size_t hlen;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = addr + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - addr);
	}
	uint64_t p;
	if (hlen == 0 || hlen >= hostsize || str_to_u64(str_c(colon + 1), 65535, &p) < 0 || p == 0)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* list_next takes the next item of a comma-separated list off *rest,
 * trimmed. */
static struct str list_next(struct str *rest)
{
	long comma = str_chr(*rest, ',');
	struct str item = str_trim(comma < 0 ? *rest : str_sub(*rest, 0, (size_t)comma));
	*rest = comma < 0 ? STR_NULL : str_sub(*rest, (size_t)comma + 1, SIZE_MAX);
	return item;
}

static int set_listen(struct config_listen *l, const char *value)
{
	struct str rest = str_c(value);

	l->count = 0;
	while (rest.len > 0) {
		struct str item = list_next(&rest);
		if (item.len == 0)
			continue;
		if (l->count == CONFIG_MAX_LISTEN || item.len >= sizeof(l->addr[0]))
			return -1;
		memcpy(l->addr[l->count], item.ptr, item.len);
		l->addr[l->count][item.len] = '\0';
		char host[80];
		uint16_t port;
		if (config_parse_listen(l->addr[l->count], host, sizeof(host), &port) < 0)
			return -1;
		l->count++;
	}
	return 0;
}

int config_parse_duration(struct str s, uint64_t max, uint64_t *seconds)
{
	static const struct { char unit; uint64_t factor; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	uint64_t factor = 1, v;

	for (size_t i = 0; s.len > 1 && i < sizeof(units) / sizeof(units[0]); i++)
		if (s.ptr[s.len - 1] == units[i].unit) {
			factor = units[i].factor;
			s.len--;
		}
	if (str_to_u64(s, max / factor, &v) < 0)
		return -1;
	*seconds = v * factor;
	return 0;
}

/* set_schedule reads "5m,10m,..." into sc: 1 to CONFIG_MAX_RETRY_STEPS
 * steps, each within [min, max] seconds. */
static int set_schedule(struct config_schedule *sc, const char *value, uint64_t min,
			uint64_t max)
{
	struct str rest = str_c(value);

	sc->count = 0;
	while (rest.len > 0) {
		struct str item = list_next(&rest);
		uint64_t v;
		if (sc->count == CONFIG_MAX_RETRY_STEPS || config_parse_duration(item, max, &v) < 0 ||
		    v < min)
			return -1;
		sc->step[sc->count++] = (uint32_t)v;
	}
	return sc->count > 0 ? 0 : -1;
}

int config_set(struct config *config, const char *key, const char *value, char *errbuf,
	       size_t errsize)
{
	const struct config_param *p = param_find(key);
	char *field;

	if (p == NULL) {
		snprintf(errbuf, errsize, "unknown key '%s'", key);
		return -1;
	}
	field = (char *)config + p->offset;
	switch (p->type) {
	case CT_STRING:
		if (strlen(value) >= p->size) {
			snprintf(errbuf, errsize, "'%s': value longer than %zu bytes", key,
				 p->size - 1);
			return -1;
		}
		snprintf(field, p->size, "%s", value);
		if (strcmp(key, "log.level") == 0 && log_level_parse(value) < 0) {
			snprintf(errbuf, errsize, "'%s': must be debug, info, warn or error", key);
			return -1;
		}
		if (strcmp(key, "relay.smarthost_tls") == 0 && strcmp(value, "required") != 0 &&
		    strcmp(value, "opportunistic") != 0) {
			snprintf(errbuf, errsize, "'%s': must be required or opportunistic", key);
			return -1;
		}
		break;
	case CT_U64: {
		uint64_t v;
		/* A switch (0 to 1) reads true and false too. */
		if (p->max == 1 && (strcmp(value, "true") == 0 || strcmp(value, "false") == 0))
			v = value[0] == 't';
		else if (str_to_u64(str_c(value), UINT64_MAX, &v) < 0 || v < p->min || v > p->max) {
			snprintf(errbuf, errsize, "'%s': '%s' is not a number from %llu to %llu",
				 key, value, (unsigned long long)p->min,
				 (unsigned long long)p->max);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		break;
	}
	case CT_DURATION: {
		uint64_t v;
		if (config_parse_duration(str_c(value), p->max, &v) < 0 || v < p->min) {
			snprintf(errbuf, errsize, "'%s': '%s' is not a duration from %llus to %llus "
				 "(a number with s, m, h or d)", key, value,
				 (unsigned long long)p->min, (unsigned long long)p->max);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		break;
	}
	case CT_BOOL: {
		uint64_t v = 2;
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
			v = 1;
		else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
			 strcmp(value, "0") == 0)
			v = 0;
		if (v > 1) {
			snprintf(errbuf, errsize, "'%s': '%s' is not true or false", key, value);
			return -1;
		}
		memcpy(field, &v, sizeof(v));
		break;
	}
	case CT_SCHEDULE:
		if (set_schedule((struct config_schedule *)(void *)field, value, p->min, p->max) < 0) {
			snprintf(errbuf, errsize, "'%s': '%s' is not a list of 1 to %d durations from "
				 "%llus to %llus", key, value, CONFIG_MAX_RETRY_STEPS,
				 (unsigned long long)p->min, (unsigned long long)p->max);
			return -1;
		}
		break;
	case CT_LISTEN:
		if (set_listen((struct config_listen *)(void *)field, value) < 0) {
			snprintf(errbuf, errsize,
				 "'%s': '%s' is not a list of at most %d host:port addresses", key,
				 value, CONFIG_MAX_LISTEN);
			return -1;
		}
		break;
	}
	return 0;
}

void config_defaults(struct config *config, bool with_listeners)
{
	char err[256];

	memset(config, 0, sizeof(*config));
	for (size_t i = 0; i < N_PARAMS; i++) {
		const char *def = params[i].def;
		if (params[i].type == CT_LISTEN && !with_listeners)
			def = "";
		if (config_set(config, params[i].name, def, err, sizeof(err)) < 0)
			abort(); /* the table itself is wrong */
	}
}

int config_load_text(struct config *config, const char *text, size_t len, const char *origin,
		     char *errbuf, size_t errsize)
{
	struct str rest = str_from(text, len);
	unsigned lineno = 0;

	while (rest.len > 0) {
		long nl = str_chr(rest, '\n');
		struct str line = nl < 0 ? rest : str_sub(rest, 0, (size_t)nl);
		rest = nl < 0 ? STR_NULL : str_sub(rest, (size_t)nl + 1, SIZE_MAX);
		lineno++;
		long hash = str_chr(line, '#');
		if (hash >= 0)
			line = str_sub(line, 0, (size_t)hash);
		line = str_trim(line);
		if (line.len == 0)
			continue;
		long eq = str_chr(line, '=');
		if (eq < 0) {
			snprintf(errbuf, errsize, "%s:%u: expected 'key = value'", origin, lineno);
			return -1;
		}
		struct str k = str_trim(str_sub(line, 0, (size_t)eq));
		struct str v = str_trim(str_sub(line, (size_t)eq + 1, SIZE_MAX));
		char key[64], value[CONFIG_MAX_STRING * 2];
		if (k.len >= sizeof(key) || v.len >= sizeof(value) || memchr(v.ptr, '\0', v.len)) {
			snprintf(errbuf, errsize, "%s:%u: key or value too long", origin, lineno);
			return -1;
		}
		memcpy(key, k.ptr, k.len);
		key[k.len] = '\0';
		memcpy(value, v.ptr, v.len);
		value[v.len] = '\0';
		char err[512];
		if (config_set(config, key, value, err, sizeof(err)) < 0) {
			snprintf(errbuf, errsize, "%s:%u: %s", origin, lineno, err);
			return -1;
		}
	}
	return 0;
}

int config_load_file(struct config *config, const char *path, char *errbuf, size_t errsize)
{
	struct buf text;
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(errbuf, errsize, "open(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&text, CONFIG_MAX_FILE);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0 || buf_append(&text, chunk, (size_t)n) < 0) {
			snprintf(errbuf, errsize, "read(%s) failed: %s", path,
				 n < 0 ? strerror(errno) : "file too large");
			close(fd);
			buf_free(&text);
			return -1;
		}
	}
	close(fd);
	int r = config_load_text(config, text.data ? text.data : "", text.len, path, errbuf,
				 errsize);
	buf_free(&text);
	return r;
}

long config_dump(const struct config *config, char *out, size_t size)
{
	size_t used = 0;

	for (size_t i = 0; i < N_PARAMS; i++) {
		const struct config_param *p = &params[i];
		const char *field = (const char *)config + p->offset;
		char value[CONFIG_MAX_STRING * 2] = "";
		if (p->type == CT_STRING) {
			snprintf(value, sizeof(value), "%s", field);
		} else if (p->type == CT_U64 || p->type == CT_DURATION) {
			uint64_t v;
			memcpy(&v, field, sizeof(v));
			snprintf(value, sizeof(value), "%llu", (unsigned long long)v);
		} else if (p->type == CT_SCHEDULE) {
			const struct config_schedule *sc = (const void *)field;
			size_t vl = 0;
			for (unsigned j = 0; j < sc->count; j++) {
				int n = snprintf(value + vl, sizeof(value) - vl, "%s%u", j ? "," : "",
						 (unsigned)sc->step[j]);
				if (n > 0)
					vl += (size_t)n;
			}
		} else if (p->type == CT_BOOL) {
			uint64_t v;
			memcpy(&v, field, sizeof(v));
			snprintf(value, sizeof(value), "%s", v ? "true" : "false");
		} else {
			const struct config_listen *l = (const void *)field;
			size_t vl = 0;
			for (unsigned j = 0; j < l->count; j++) {
				int n = snprintf(value + vl, sizeof(value) - vl, "%s%s",
						 j ? "," : "", l->addr[j]);
				if (n > 0)
					vl += (size_t)n;
			}
		}
		int n = snprintf(out + used, size - used, "%s = %s\n", p->name, value);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return (long)used;
}

void config_describe(int fd)
{
	for (size_t i = 0; i < N_PARAMS; i++) {
		const struct config_param *p = &params[i];
		if (p->type == CT_U64 || p->type == CT_DURATION || p->type == CT_SCHEDULE)
			dprintf(fd, "%-28s default %-16s (%llu..%llu) %s\n", p->name, p->def,
				(unsigned long long)p->min, (unsigned long long)p->max, p->help);
		else
			dprintf(fd, "%-28s default %-16s %s\n", p->name,
				p->def[0] ? p->def : "\"\"", p->help);
	}
}
