/*
 * ipc peer: one end of a SOCK_SEQPACKET socketpair on a libev loop, one
 * message per datagram, with a bounded write queue. Runs in lk-supervisor
 * (one per job process) and in lk-jobproc (the end on fd 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "common/err.h"
#include "common/util.h"
#include "ipc/ipc.h"

/* Datagrams handled per read wake-up, so one chatty peer cannot starve the loop. */
#define IPC_READ_BATCH 32
/*
 * Asked-for send buffer. AF_UNIX refuses a datagram larger than the sender's
 * buffer (EMSGSIZE) and the usual default (212992) is below IPC_MAX_MSG; the
 * kernel doubles this value and caps it at net.core.wmem_max.
 */
#define IPC_SNDBUF (IPC_RAW_MAX + 65536)

struct ipc_qent {
	uint8_t *data;
	size_t len;
};

struct ipc_peer {
	struct ev_loop *loop;
	int fd;
	ev_io rio;
	ev_io wio;
	ipc_msg_cb on_msg;
	ipc_close_cb on_close;
	void *arg;
	uint8_t *rbuf; /* one received datagram, IPC_MAX_MSG bytes */
	uint8_t *tbuf; /* one packed message, IPC_MAX_MSG bytes */
	struct ipc_qent q[IPC_QUEUE_MAX];
	unsigned qhead;
	unsigned qlen;
	int werr; /* write error waiting to be reported from the loop */
	int closed; /* on_close delivered (or about to be): no more reads or sends */
	int busy; /* inside on_msg / on_close */
	int freed; /* ipc_peer_free called while busy: release on the way out */
};

static void
ipc_peer_release(struct ipc_peer *peer)
{
	while (peer->qlen > 0) {
		free(peer->q[peer->qhead].data);
		peer->qhead = (peer->qhead + 1) % IPC_QUEUE_MAX;
		peer->qlen--;
	}
	free(peer->rbuf);
	free(peer->tbuf);
	free(peer);
}

/*
 * Deliver on_close once. Returns 1 if the peer memory is gone (the callback
 * freed it), so the caller must return without touching it.
 */
static int
ipc_peer_fail(struct ipc_peer *peer, int err)
{
	if (peer->closed)
		return 0;
	peer->closed = 1;
	/* a broken peer is read no further: nothing after a bad datagram is trusted */
	ev_io_stop(peer->loop, &peer->rio);
	ev_io_stop(peer->loop, &peer->wio);
	peer->busy++;
	peer->on_close(peer, err, peer->arg);
	peer->busy--;
	if (peer->freed && peer->busy == 0) {
		ipc_peer_release(peer);
		return 1;
	}
	return 0;
}

/*
 * recv returned 0: on SOCK_SEQPACKET that is either EOF or an empty
 * datagram. The peer has shut down only if the socket reports RDHUP.
 */
static int
ipc_peer_is_eof(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	if (poll(&p, 1, 0) < 0)
		return 1;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * Receive and dispatch up to max datagrams already waiting on the socket.
 * Returns 1 if the peer memory is gone (a callback freed it).
 */
static int
ipc_peer_read(struct ipc_peer *peer, int max)
{
	struct ipc_msg msg;
	ssize_t n;
	int i, rc;

	for (i = 0; i < max && !peer->closed && !peer->freed; i++) {
		/* MSG_TRUNC: recv returns the datagram's real length even when it
		 * did not fit, so an oversized datagram is detected, not truncated */
		n = recv(peer->fd, peer->rbuf, IPC_MAX_MSG, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return ipc_peer_fail(peer, -errno);
		}
		if (n == 0)
			return ipc_peer_fail(peer, ipc_peer_is_eof(peer->fd) ? 0 : LK_EINVAL);
		if ((size_t)n > IPC_MAX_MSG)
			return ipc_peer_fail(peer, LK_ETOOBIG);
		rc = ipc_unpack(peer->rbuf, (size_t)n, &msg);
		if (rc < 0)
			return ipc_peer_fail(peer, rc);
		peer->busy++;
		peer->on_msg(peer, &msg, peer->arg);
		peer->busy--;
		if (peer->freed) {
			if (peer->busy == 0) {
				ipc_peer_release(peer);
				return 1;
			}
			return 0;
		}
	}
	return 0;
}

static void
ipc_peer_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)ipc_peer_read(w->data, IPC_READ_BATCH);
}

void
ipc_peer_read_pending(struct ipc_peer *peer)
{
	if (peer == NULL || peer->closed || peer->freed)
		return;
	/* bounded: the other side is gone, so only what the socket holds is read */
	(void)ipc_peer_read(peer, 4 * IPC_QUEUE_MAX);
}

/* One datagram: 1 written, 0 the socket is full, or -errno. */
static int
ipc_peer_write1(struct ipc_peer *peer, const void *data, size_t len)
{
	ssize_t n;

	for (;;) {
		n = send(peer->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return 1; /* SOCK_SEQPACKET: a datagram is written whole or not at all */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
}

/* Write queued datagrams until the socket is full; 1 when the queue is empty. */
static int
ipc_peer_drain(struct ipc_peer *peer)
{
	struct ipc_qent *e;
	int rc;

	while (peer->qlen > 0) {
		e = &peer->q[peer->qhead];
		rc = ipc_peer_write1(peer, e->data, e->len);
		if (rc <= 0)
			return rc;
		free(e->data);
		e->data = NULL;
		peer->qhead = (peer->qhead + 1) % IPC_QUEUE_MAX;
		peer->qlen--;
	}
	return 1;
}

static void
ipc_peer_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_peer *peer = w->data;
	int rc;

	(void)revents;
	if (peer->closed)
		return;
	if (peer->werr) {
		ipc_peer_fail(peer, peer->werr);
		return;
	}
	rc = ipc_peer_drain(peer);
	if (rc < 0) {
		ipc_peer_fail(peer, rc);
		return;
	}
	/* write interest only while something is queued */
	if (rc == 1)
		ev_io_stop(loop, &peer->wio);
}

struct ipc_peer *
ipc_peer_new(struct ev_loop *loop, int fd, ipc_msg_cb on_msg, ipc_close_cb on_close, void *arg)
{
	struct ipc_peer *peer;
	int fl, sndbuf = IPC_SNDBUF;

	if (fd < 0)
		return NULL;
	if (loop == NULL || on_msg == NULL || on_close == NULL)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	/* best effort: without it messages above the default buffer fail with EMSGSIZE */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	peer = calloc(1, sizeof(*peer));
	if (peer == NULL)
		goto fail;
	/* preallocated once per connection: the message path allocates nothing
	 * unless the socket is full and a datagram has to wait in the queue */
	peer->rbuf = malloc(IPC_MAX_MSG);
	peer->tbuf = malloc(IPC_MAX_MSG);
	if (peer->rbuf == NULL || peer->tbuf == NULL) {
		ipc_peer_release(peer);
		goto fail;
	}
	peer->loop = loop;
	peer->fd = fd;
	peer->on_msg = on_msg;
	peer->on_close = on_close;
	peer->arg = arg;
	ev_io_init(&peer->rio, ipc_peer_read_cb, fd, EV_READ);
	ev_io_init(&peer->wio, ipc_peer_write_cb, fd, EV_WRITE);
	peer->rio.data = peer;
	peer->wio.data = peer;
	ev_io_start(loop, &peer->rio);
	return peer;
fail:
	close(fd);
	return NULL;
}

static int
ipc_peer_enqueue(struct ipc_peer *peer, const void *data, size_t len)
{
	struct ipc_qent *e;
	int rc;

	if (peer->closed || peer->freed || peer->werr)
		return LK_ECLOSED;
	/* keep order: write directly only when nothing is waiting */
	if (peer->qlen == 0) {
		rc = ipc_peer_write1(peer, data, len);
		if (rc == 1)
			return 0;
		if (rc < 0) {
			/* reported through on_close from the loop, never from inside a send */
			peer->werr = rc;
			ev_feed_event(peer->loop, &peer->wio, EV_WRITE);
			return rc;
		}
	}
	if (peer->qlen >= IPC_QUEUE_MAX)
		return LK_EAGAIN;
	e = &peer->q[(peer->qhead + peer->qlen) % IPC_QUEUE_MAX];
	e->data = malloc(len > 0 ? len : 1);
	if (e->data == NULL)
		return LK_ENOMEM;
	if (len > 0)
		memcpy(e->data, data, len);
	e->len = len;
	peer->qlen++;
	ev_io_start(peer->loop, &peer->wio);
	return 0;
}

int
ipc_peer_send(struct ipc_peer *peer, const struct ipc_msg *msg)
{
	int n;

	if (peer == NULL || msg == NULL)
		return LK_EINVAL;
	if (peer->closed || peer->freed)
		return LK_ECLOSED;
	n = ipc_pack(msg, peer->tbuf, IPC_MAX_MSG);
	if (n < 0)
		return n;
	return ipc_peer_enqueue(peer, peer->tbuf, (size_t)n);
}

int
ipc_peer_send_raw(struct ipc_peer *peer, const void *data, size_t len)
{
	if (peer == NULL || (data == NULL && len > 0))
		return LK_EINVAL;
	if (len > IPC_RAW_MAX)
		return LK_ETOOBIG;
	return ipc_peer_enqueue(peer, data, len);
}

void
ipc_peer_flush(struct ipc_peer *peer, int timeout_ms)
{
	int64_t deadline = lk_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd p;
	int64_t left;
	int rc;

	if (peer == NULL || peer->closed || peer->freed || peer->werr)
		return;
	for (;;) {
		rc = ipc_peer_drain(peer);
		if (rc < 0) {
			peer->werr = rc;
			ev_feed_event(peer->loop, &peer->wio, EV_WRITE);
			return;
		}
		if (rc == 1) {
			ev_io_stop(peer->loop, &peer->wio);
			return;
		}
		left = deadline - lk_mono_ms();
		if (left <= 0)
			return;
		p.fd = peer->fd;
		p.events = POLLOUT;
		p.revents = 0;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return;
	}
}

int
ipc_peer_fd(const struct ipc_peer *peer)
{
	return peer ? peer->fd : -1;
}

void
ipc_peer_free(struct ipc_peer *peer)
{
	if (peer == NULL || peer->freed)
		return;
	ev_io_stop(peer->loop, &peer->rio);
	ev_io_stop(peer->loop, &peer->wio);
	if (peer->fd >= 0)
		close(peer->fd);
	peer->fd = -1;
	peer->freed = 1;
	/* inside on_msg/on_close the message views still point into rbuf:
	 * the memory goes when the callback returns */
	if (peer->busy == 0)
		ipc_peer_release(peer);
}
