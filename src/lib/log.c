/* log: the one logger (see log.h). */
#include "log.h"

#include <stdbool.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_name[64] = "ravelin";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static log_sink_fn *log_sink;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *process_name)
{
	snprintf(log_name, sizeof(log_name), "%s", process_name);
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_set_sink(log_sink_fn *sink)
{
	log_sink = sink;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "?";
}

size_t log_escape(char *out, size_t size, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		bool control = ch < 0x20 || ch == 0x7f;
		if (n + (control ? 4 : 1) >= size)
			break;
		if (!control) {
			out[n++] = (char)ch;
			continue;
		}
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[ch >> 4];
		out[n++] = hex[ch & 15];
	}
	out[n] = '\0';
	return n;
}

size_t log_format_line(char *out, size_t size, const char *record, size_t len)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(out, size, "%s %.*s\n", stamp, (int)len, record);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char record[LOG_MAX_RECORD];
	int saved_errno = errno;
	va_list ap;

	if (level < log_threshold)
		return;
	int n = snprintf(record, sizeof(record), "%s[%ld]: %s: ", log_name, (long)getpid(),
			 log_level_name(level));
	if (n < 0 || (size_t)n >= sizeof(record))
		return;
	errno = saved_errno; /* for %m */
	va_start(ap, fmt);
	int m = vsnprintf(record + n, sizeof(record) - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len >= sizeof(record))
		len = sizeof(record) - 1;
	/* Records are single lines: control characters from outside are masked. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)record[i] < 0x20 || record[i] == 0x7f)
			record[i] = '?';
	if (log_sink != NULL) {
		log_sink(level, record, len);
	} else {
		char line[LOG_MAX_RECORD + 64];
		size_t l = log_format_line(line, sizeof(line), record, len);
		if (write(STDERR_FILENO, line, l) < 0) {
			/* Nowhere left to report it. */
		}
	}
	errno = saved_errno;
}
