#ifndef RAVELIN_LOG_H
#define RAVELIN_LOG_H
/*
 * log: the one logger.  Every process formats records the same way; where
 * they go is the sink: master writes them to stderr and data/log/, every
 * other process hands them to master over its link (so a child can neither
 * forge nor erase the log).  Format strings are printf's, with %m for the
 * current errno text: log_error("open(%s) failed: %m", path).
 */
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* One record is at most this long; longer text is cut (never split). */
#define LOG_MAX_RECORD 2048

typedef void log_sink_fn(enum log_level level, const char *record, size_t len);

/* log_init names this process in every record ("spawner 0", "worker 12"). */
void log_init(const char *process_name);
void log_set_level(enum log_level level);
/* log_set_sink sends records to sink instead of stderr (NULL: stderr). */
void log_set_sink(log_sink_fn *sink);
/* log_level_parse maps "debug", "info", "warn", "error"; -1 if none. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* log_format_line writes "2026-01-02T03:04:05Z name[pid]: level: text\n"
 * for master's file and stderr; returns the length (cut to size). */
size_t log_format_line(char *out, size_t size, const char *record, size_t len);
/* log_escape copies len bytes of in to out (size bytes, NUL-terminated),
 * with control characters written as \xNN so a record is one line whose
 * bytes cannot pose as another; returns the length written. */
size_t log_escape(char *out, size_t size, const char *in, size_t len);

#endif
