/*
 * fuzz_ws_frames: arbitrary bytes from a WebSocket client, fed to a
 * server-role connection (src/net/ws.c over wslay) through a socketpair.
 * Every input must end in exactly one on_close (or a ws_free from a
 * callback) without crashing or hanging.
 */
#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct ev_loop *loop;
	struct ws *ws;
	ev_timer guard;
	int closes;
	int freed;
};

static void
fz_message(struct ws *ws, int binary, const uint8_t *data, size_t len, void *arg)
{
	struct fz *fz = arg;

	if (len >= 4 && memcmp(data, "free", 4) == 0) {
		/* Freeing from inside on_message must be safe. */
		ws_free(ws);
		fz->freed = 1;
		ev_timer_stop(fz->loop, &fz->guard);
		return;
	}
	if (len >= 5 && memcmp(data, "close", 5) == 0) {
		ws_close(ws, 1000, "bye");
		return;
	}
	if (len >= 4 && memcmp(data, "ping", 4) == 0)
		ws_ping(ws);
	ws_send(ws, binary, data, len);
}

static void
fz_close(struct ws *ws, int code, int http_status, const char *reason, void *arg)
{
	struct fz *fz = arg;

	if (++fz->closes != 1)
		abort();
	if (reason == NULL || http_status != 0 || code < 1000 || code > 4999)
		abort();
	ev_timer_stop(fz->loop, &fz->guard);
}

static void
fz_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fz *fz = w->data;

	/* Not a failure in itself (e.g. the peer never reads); just end it. */
	ws_abort(fz->ws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ws_cbs cbs = {NULL, fz_message, fz_close};
	struct fz fz;
	int sv[2];
	size_t off, npend = 0;
	ssize_t n;
	/* A small limit so that the 1009 path is reachable from short inputs. */
	size_t max_msg = 256;

	memset(&fz, 0, sizeof(fz));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	if (size > 0) {
		npend = data[0] % 64;
		if (npend > size - 1)
			npend = size - 1;
	}
	off = size > 0 ? 1 + npend : 0;
	while (off < size) {
		n = write(sv[1], data + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(sv[1], SHUT_WR);
	fz.loop = ev_loop_new(EVFLAG_AUTO);
	/* The first byte, when there is one, splits the input into "already
	 * read by the HTTP layer" and "still on the socket". */
	fz.ws = ws_accept(
	        fz.loop, sv[0], size > 0 ? data + 1 : NULL, npend, max_msg, NULL, NULL, &cbs, &fz);
	if (fz.ws == NULL)
		abort();
	ev_timer_init(&fz.guard, fz_guard, 5., 0.);
	fz.guard.data = &fz;
	ev_timer_start(fz.loop, &fz.guard);
	ev_run(fz.loop, 0);
	if (!fz.freed) {
		if (fz.closes != 1)
			abort();
		ws_free(fz.ws);
	}
	close(sv[1]);
	ev_loop_destroy(fz.loop);
	return 0;
}
