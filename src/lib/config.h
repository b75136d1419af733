#ifndef RAVELIN_CONFIG_H
#define RAVELIN_CONFIG_H
/*
 * config: every configuration parameter has a name, a default and bounds,
 * declared once in the table in config.c.  A file is "key = value" lines
 * ('#' starts a comment).  The loader refuses an unknown key or a value out
 * of bounds, naming the key and line.
 *
 * Without a file the embedded defaults apply, including the listeners of a
 * first run (SMTP on 127.0.0.1:2525).  With a file, a listen.* key that the
 * file leaves out is not started: the file says which services run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* A listen.* value holds up to this many "addr:port" entries. */
#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_STRING 512
/* The ids Ravelin hands its processes (uid_base, worker.uid_base).  The
 * lowest is above the 16-bit ids (nobody is 65534, and Debian's adduser
 * hands out nothing at or above 65536); the highest stays below 2^31,
 * since some tools read uid_t as signed, and below 0x7FFE0000, where newer
 * systemd versions keep ids of their own. */
#define CONFIG_UID_MIN 65536
#define CONFIG_UID_MAX 0x7FFDFFFFu
/* uids kept for roles from uid_base on: five in use (spawner, auth, queue,
 * keys, resolver), the rest for roles to come (relay) without moving
 * anyone. */
#define CONFIG_ROLE_UIDS 16

/* A retry schedule (queue.retry_schedule) has at most this many steps: the
 * default has 6; 32 steps of up to a day each cover any sensible plan. */
#define CONFIG_MAX_RETRY_STEPS 32
/* A step of it lies within [1 s, 1 day]: a shorter wait hammers the remote
 * server, a longer one leaves mail stuck past the point anyone waits. */
#define CONFIG_RETRY_STEP_MIN 1
#define CONFIG_RETRY_STEP_MAX 86400
/* A duration (queue.expire, queue.delay_notice) is at most 30 days. */
#define CONFIG_MAX_DURATION (30 * 86400)

struct config_schedule {
	unsigned count;
	uint32_t step[CONFIG_MAX_RETRY_STEPS];   /* seconds */
};

struct config_listen {
	unsigned count;
	char addr[CONFIG_MAX_LISTEN][80]; /* "127.0.0.1:2525", "[::1]:2525" */
};

struct config {
	char hostname[256];
	char data[CONFIG_MAX_STRING];
	char user[64];
	char log_level[16];
	char tls_cert[CONFIG_MAX_STRING];
	char tls_key[CONFIG_MAX_STRING];
	struct config_listen listen_smtp;
	struct config_listen listen_pop3;
	struct config_listen listen_pop3s;
	struct config_listen listen_imap;
	struct config_listen listen_imaps;
	struct config_listen listen_submission;
	struct config_listen listen_submissions;
	struct config_listen listen_https;
	struct config_listen listen_http;
	uint64_t submission_received_ip; /* 0 or 1 */
	uint64_t front_processes;
	uint64_t smtp_max_message_size;
	uint64_t smtp_max_recipients;
	uint64_t smtp_idle_timeout;
	uint64_t smtp_session_timeout;
	uint64_t front_max_connections;
	uint64_t front_max_connections_per_ip;
	uint64_t pop3_idle_timeout;
	uint64_t imap_login_timeout;
	uint64_t worker_idle_timeout;
	uint64_t imap_park_delay;     /* ms in IDLE before a session is parked; 0 never */
	uint64_t http_idle_timeout;   /* seconds; WORKER_HTTP_IDLE_SECONDS by default */
	uint64_t queue_retry_delay;
	char spam_rspamd[80];
	char spam_rspamd_controller[80];
	uint64_t spam_fail_closed;
	uint64_t checks_spf, checks_dkim, checks_dmarc;     /* 0 or 1 */
	uint64_t checks_dmarc_reject, checks_dmarc_quarantine;
	struct config_schedule queue_retry_schedule;
	uint64_t queue_expire;        /* seconds */
	uint64_t queue_delay_notice;  /* seconds; 0: never */
	char relay_smarthost[CONFIG_MAX_STRING];
	char relay_smarthost_tls[16];
	char relay_smarthost_auth_file[CONFIG_MAX_STRING];
	uint64_t relay_max_per_destination;
	char relay_ca_file[CONFIG_MAX_STRING]; /* empty: the system's bundle */
	uint64_t relay_connect_timeout;
	uint64_t relay_reply_timeout;
	uint64_t uid_base;
	uint64_t worker_uid_base;
	char dns_resolver[80];        /* "IP:port"; empty: /etc/resolv.conf */
	char dns_trust_anchor[CONFIG_MAX_STRING];
};

/* config_defaults fills the embedded defaults (with_listeners: the first
 * run's listeners too). */
void config_defaults(struct config *config, bool with_listeners);
/* config_load_file applies a file over config.  Returns 0, or -1 with an
 * error in errbuf naming the file, line and key. */
int config_load_file(struct config *config, const char *path, char *errbuf, size_t errsize);
/* config_load_text does the same for text already in memory (the copy
 * master hands to its children). */
int config_load_text(struct config *config, const char *text, size_t len, const char *origin,
		     char *errbuf, size_t errsize);
/* config_set applies one key = value (also for --set on the command line). */
int config_set(struct config *config, const char *key, const char *value, char *errbuf,
	       size_t errsize);
/* config_dump writes every key as "key = value\n" into out (NUL-terminated);
 * returns the length, or -1 if it does not fit. */
long config_dump(const struct config *config, char *out, size_t size);
/* config_describe prints the table (key, default, bounds, meaning). */
void config_describe(int fd);

/* config_parse_duration reads "300", "30s", "5m", "4h" or "5d" as seconds
 * (at most max); 0, or -1 for anything else. */
int config_parse_duration(struct str s, uint64_t max, uint64_t *seconds);
/* config_parse_listen splits "host:port" / "[v6]:port" into parts. */
int config_parse_listen(const char *addr, char *host, size_t hostsize, uint16_t *port);

#endif
