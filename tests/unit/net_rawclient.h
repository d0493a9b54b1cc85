/*
 * net_rawclient: a byte-level TCP client on the test's libev loop, for the
 * src/net suites (check_http, check_ws): it writes fixed bytes, collects
 * everything it reads until EOF, then calls on_done. Test code only.
 */
#ifndef LK_TEST_NET_RAWCLIENT_H
#define LK_TEST_NET_RAWCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"

struct rawc {
	struct ev_loop *loop;
	ev_io io;
	int fd;
	struct buf out;
	size_t off;
	struct buf in;
	int done;
	int shut_wr; /* half-close once everything is written */
	void (*on_done)(struct rawc *rc);
	void (*on_read)(struct rawc *rc); /* after new bytes arrived, if set */
	void *arg;
};

static void
rawc_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rawc *rc = w->data;
	uint8_t tmp[65536];
	ssize_t n;

	while (rc->off < rc->out.len) {
		n = send(rc->fd, rc->out.data + rc->off, rc->out.len - rc->off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		rc->off += (size_t)n;
	}
	if (rc->shut_wr == 1 && rc->off == rc->out.len) {
		shutdown(rc->fd, SHUT_WR);
		rc->shut_wr = 2;
	}
	for (;;) {
		n = recv(rc->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			buf_append(&rc->in, tmp, (size_t)n);
			if (rc->on_read)
				rc->on_read(rc);
			if (rc->fd < 0)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* EOF or reset: done */
		ev_io_stop(loop, &rc->io);
		close(rc->fd);
		rc->fd = -1;
		rc->done = 1;
		if (rc->on_done)
			rc->on_done(rc);
		return;
	}
	ev_io_stop(loop, &rc->io);
	ev_io_set(&rc->io, rc->fd, rc->off < rc->out.len ? EV_READ | EV_WRITE : EV_READ);
	ev_io_start(loop, &rc->io);
}

/* Connect to 127.0.0.1:port and send data; returns 0 or -1. */
static int
rawc_start(struct rawc *rc, struct ev_loop *loop, uint16_t port, const void *data, size_t len)
{
	struct sockaddr_in sin;

	/* Callers set on_done and arg after this call (nothing runs before ev_run). */
	memset(rc, 0, sizeof(*rc));
	rc->loop = loop;
	buf_init(&rc->out, 0);
	buf_init(&rc->in, 0);
	buf_append(&rc->out, data, len);
	rc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc->fd < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Loopback connects complete at once (the listen backlog accepts). */
	if (connect(rc->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(rc->fd);
		rc->fd = -1;
		return -1;
	}
	fcntl(rc->fd, F_SETFL, fcntl(rc->fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&rc->io, rawc_cb, rc->fd, EV_READ | EV_WRITE);
	rc->io.data = rc;
	ev_io_start(loop, &rc->io);
	return 0;
}

static void
rawc_free(struct rawc *rc)
{
	if (rc->fd >= 0) {
		ev_io_stop(rc->loop, &rc->io);
		close(rc->fd);
		rc->fd = -1;
	}
	buf_free(&rc->out);
	buf_free(&rc->in);
}

/* Status code of an HTTP response in rc->in, or -1. */
static inline int
rawc_status(const struct rawc *rc)
{
	if (rc->in.len < 12 || memcmp(rc->in.data, "HTTP/1.", 7) != 0)
		return -1;
	return atoi((const char *)rc->in.data + 9);
}

/* The bytes after the response head (NUL-terminated copy in a static). */
static inline const char *
rawc_body(const struct rawc *rc, size_t *len)
{
	static char body[1 << 16];
	const uint8_t *p = memmem(rc->in.data, rc->in.len, "\r\n\r\n", 4);
	size_t n;

	if (p == NULL) {
		*len = 0;
		return NULL;
	}
	p += 4;
	n = rc->in.len - (size_t)(p - rc->in.data);
	if (n >= sizeof(body))
		n = sizeof(body) - 1;
	memcpy(body, p, n);
	body[n] = '\0';
	*len = n;
	return body;
}

#endif
