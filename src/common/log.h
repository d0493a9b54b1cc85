/*
 * log: structured log lines on stderr, JSON by default or console text.
 * Used by every lkworker process. Each line carries ts, level, msg, service,
 * version, commit, pid, and worker_id/job_id/room once they are known.
 */
#ifndef LK_LOG_H
#define LK_LOG_H

#include <stdarg.h>
#include <stddef.h> /* NULL, for the value lists */

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3,
};

enum log_format {
	LOG_FORMAT_JSON = 0,
	LOG_FORMAT_CONSOLE = 1,
};

/* service: the binary's name ("lk-supervisor"). Call once at start-up. */
void log_init(const char *service);
void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
enum log_level log_get_level(void);
/* Parse "debug|info|warn|error" / "json|console"; 0 on success, -1 if unknown. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_format *out);

/* Process-wide context fields added to every line; NULL or "" clears. */
void log_set_worker_id(const char *worker_id);
void log_set_job(const char *job_id, const char *room);

/*
 * Emit one line. After msg comes a NULL-terminated list of key/value string
 * pairs: log_kv(LOG_WARN, "job start failed", "job_id", id, "err", e, NULL).
 * A NULL value is written as JSON null. Keys are not escaped (use literals).
 */
void log_kv(enum log_level level, const char *msg, ...);
void log_vkv(enum log_level level, const char *msg, va_list ap);

/*
 * printf into one of a small ring of thread-unsafe static buffers (16 x 256
 * bytes), so integers can be passed as values: log_kv(..., "pid", log_fmt("%d", pid), NULL).
 */
const char *log_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_debug(msg, ...) log_kv(LOG_DEBUG, msg, ##__VA_ARGS__, (const char *)0)
#define log_info(msg, ...) log_kv(LOG_INFO, msg, ##__VA_ARGS__, (const char *)0)
#define log_warn(msg, ...) log_kv(LOG_WARN, msg, ##__VA_ARGS__, (const char *)0)
#define log_error(msg, ...) log_kv(LOG_ERROR, msg, ##__VA_ARGS__, (const char *)0)

/* Startup misconfiguration / impossible states only: log at error, exit(code). */
void log_fatal(int code, const char *msg, ...) __attribute__((noreturn));

#endif
