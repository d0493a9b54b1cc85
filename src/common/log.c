/*
 * log: structured log lines on stderr (one JSON object per line, or console
 * text), used by every lkworker process. Each line is written with a single
 * write(2) so lines from concurrent processes sharing stderr do not interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define LOG_LINE_MAX 8192
/* msg of log_fatal is a printf format; say so here for -Wformat checks. */
void log_fatal(int code, const char *msg, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Bytes kept free at the end of a line for the closing "}\n". */
#define LOG_TAIL 8

static struct {
	enum log_level level;
	enum log_format format;
	char service[64];
	char worker_id[128];
	char job_id[128];
	char room[512];
} log_state = {
        .level = LOG_INFO,
        .format = LOG_FORMAT_JSON,
        .service = "lkworker",
};

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};
static const char *const log_level_upper[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void
log_init(const char *service)
{
	if (service != NULL && service[0] != '\0')
		lk_strlcpy(log_state.service, service, sizeof(log_state.service));
}

void
log_set_level(enum log_level level)
{
	if (level >= LOG_DEBUG && level <= LOG_ERROR)
		log_state.level = level;
}

void
log_set_format(enum log_format format)
{
	if (format == LOG_FORMAT_JSON || format == LOG_FORMAT_CONSOLE)
		log_state.format = format;
}

enum log_level
log_get_level(void)
{
	return log_state.level;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "json") == 0) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	if (strcasecmp(s, "console") == 0) {
		*out = LOG_FORMAT_CONSOLE;
		return 0;
	}
	return -1;
}

static void
log_set_field(char *dst, size_t size, const char *v)
{
	if (v == NULL)
		dst[0] = '\0';
	else
		lk_strlcpy(dst, v, size);
}

void
log_set_worker_id(const char *worker_id)
{
	log_set_field(log_state.worker_id, sizeof(log_state.worker_id), worker_id);
}

void
log_set_job(const char *job_id, const char *room)
{
	log_set_field(log_state.job_id, sizeof(log_state.job_id), job_id);
	log_set_field(log_state.room, sizeof(log_state.room), room);
}

const char *
log_fmt(const char *fmt, ...)
{
	static char ring[16][256];
	static unsigned next;
	char *b = ring[next++ % 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(ring[0]), fmt, ap);
	va_end(ap);
	return b;
}

/*
 * Line writer over a fixed buffer. Once something does not fit, `full` is
 * set and later appends are dropped whole, so the line stays well-formed.
 */
struct log_w {
	char buf[LOG_LINE_MAX];
	size_t len;
	size_t cap; /* LOG_LINE_MAX - LOG_TAIL */
	int full;
};

static int
log_room(struct log_w *w, size_t n)
{
	if (w->full || w->len + n > w->cap) {
		w->full = 1;
		return 0;
	}
	return 1;
}

static void
log_raw(struct log_w *w, const char *s, size_t n)
{
	if (!log_room(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
log_cstr(struct log_w *w, const char *s)
{
	log_raw(w, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (RFC 3629), or 0 if invalid. */
static size_t
log_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * A JSON string (RFC 8259 §7). Invalid UTF-8 becomes U+FFFD so the line
 * stays parseable. The caller has checked room for the two quotes; a value
 * that does not fit is cut at a character boundary.
 */
static void
log_json_str(struct log_w *w, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	char esc[8];
	const char *piece;
	size_t n;

	w->buf[w->len++] = '"';
	while (*s != '\0') {
		piece = esc;
		switch (*s) {
		case '"':
			piece = "\\\"";
			n = 2;
			break;
		case '\\':
			piece = "\\\\";
			n = 2;
			break;
		case '\n':
			piece = "\\n";
			n = 2;
			break;
		case '\r':
			piece = "\\r";
			n = 2;
			break;
		case '\t':
			piece = "\\t";
			n = 2;
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *s);
			} else if ((n = log_utf8_len(s)) == 0) {
				piece = "\\ufffd";
				n = 6;
			} else {
				piece = (const char *)s;
			}
			break;
		}
		/* Keep one byte for the closing quote. */
		if (w->len + n + 1 > w->cap) {
			w->full = 1;
			break;
		}
		memcpy(w->buf + w->len, piece, n);
		w->len += n;
		s += (piece == (const char *)s) ? n : 1;
	}
	w->buf[w->len++] = '"';
}

static void
log_json_kv(struct log_w *w, const char *key, const char *val)
{
	size_t klen = strlen(key);

	/* ,"key": plus the smallest value ("" or null) must fit, or skip the pair. */
	if (!log_room(w, klen + 4 + 4))
		return;
	log_raw(w, ",\"", 2);
	log_raw(w, key, klen);
	log_raw(w, "\":", 2);
	if (val == NULL)
		log_raw(w, "null", 4);
	else
		log_json_str(w, val);
}

static int
log_console_needs_quotes(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (*s == '\0')
		return 1;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
			return 1;
	return 0;
}

static void
log_console_kv(struct log_w *w, const char *key, const char *val)
{
	const unsigned char *s;
	char esc[8];

	log_raw(w, " ", 1);
	log_cstr(w, key);
	log_raw(w, "=", 1);
	if (val == NULL) {
		log_raw(w, "null", 4);
		return;
	}
	if (!log_console_needs_quotes(val)) {
		log_cstr(w, val);
		return;
	}
	log_raw(w, "\"", 1);
	for (s = (const unsigned char *)val; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			log_raw(w, esc, 2);
		} else if (*s == '\n') {
			log_raw(w, "\\n", 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			log_raw(w, esc, (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *s));
		} else {
			log_raw(w, (const char *)s, 1);
		}
	}
	log_raw(w, "\"", 1);
}

static void
log_emit(struct log_w *w)
{
	const char *p = w->buf;
	size_t left = w->len;
	ssize_t n;

	while (left > 0) {
		n = write(STDERR_FILENO, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		p += n;
		left -= (size_t)n;
	}
}

static void
log_line(enum log_level level, const char *msg, va_list ap)
{
	static struct log_w w; /* 8 KiB: too big for small thread stacks */
	struct timespec ts;
	struct tm tm;
	const char *key, *val;
	char tbuf[128];

	clock_gettime(CLOCK_REALTIME, &ts);
	w.len = 0;
	w.cap = LOG_LINE_MAX - LOG_TAIL;
	w.full = 0;
	if (msg == NULL)
		msg = "";

	if (log_state.format == LOG_FORMAT_CONSOLE) {
		localtime_r(&ts.tv_sec, &tm);
		snprintf(tbuf, sizeof(tbuf), "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min,
		        tm.tm_sec, ts.tv_nsec / 1000000);
		log_cstr(&w, tbuf);
		log_cstr(&w, log_level_upper[level]);
		log_raw(&w, " ", 1);
		log_cstr(&w, msg);
		if (log_state.worker_id[0] != '\0')
			log_console_kv(&w, "worker_id", log_state.worker_id);
		if (log_state.job_id[0] != '\0')
			log_console_kv(&w, "job_id", log_state.job_id);
		if (log_state.room[0] != '\0')
			log_console_kv(&w, "room", log_state.room);
		while ((key = va_arg(ap, const char *)) != NULL) {
			val = va_arg(ap, const char *);
			log_console_kv(&w, key, val);
		}
	} else {
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(tbuf, sizeof(tbuf), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"",
		        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		        tm.tm_sec, ts.tv_nsec / 1000000);
		log_cstr(&w, tbuf);
		log_json_kv(&w, "level", log_level_names[level]);
		log_json_kv(&w, "msg", msg);
		log_json_kv(&w, "service", log_state.service);
		log_json_kv(&w, "version", PACKAGE_VERSION);
		log_json_kv(&w, "commit", LK_GIT_COMMIT);
		snprintf(tbuf, sizeof(tbuf), ",\"pid\":%ld", (long)getpid());
		log_cstr(&w, tbuf);
		if (log_state.worker_id[0] != '\0')
			log_json_kv(&w, "worker_id", log_state.worker_id);
		if (log_state.job_id[0] != '\0')
			log_json_kv(&w, "job_id", log_state.job_id);
		if (log_state.room[0] != '\0')
			log_json_kv(&w, "room", log_state.room);
		while ((key = va_arg(ap, const char *)) != NULL) {
			val = va_arg(ap, const char *);
			log_json_kv(&w, key, val);
		}
		/* The tail reserve always has room for the closing brace. */
		w.buf[w.len++] = '}';
	}
	w.buf[w.len++] = '\n';
	log_emit(&w);
}

void
log_vkv(enum log_level level, const char *msg, va_list ap)
{
	if (level < LOG_DEBUG || level > LOG_ERROR)
		level = LOG_ERROR;
	if (level < log_state.level)
		return;
	log_line(level, msg, ap);
}

void
log_kv(enum log_level level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_vkv(level, msg, ap);
	va_end(ap);
}

void
log_fatal(int code, const char *msg, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(text, sizeof(text), msg, ap);
	va_end(ap);
	log_kv(LOG_ERROR, text, (const char *)NULL);
	exit(code);
}
