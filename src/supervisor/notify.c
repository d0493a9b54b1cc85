/*
 * notify: sd_notify(3) over the NOTIFY_SOCKET datagram socket, written
 * without libsystemd, and the watchdog keep-alive timer. Runs in
 * lk-supervisor on its libev loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/notify.h"

struct sup_notify {
	struct ev_loop *loop;
	int fd;
	struct sockaddr_un sa;
	socklen_t salen;
	uint64_t watchdog_usec;
	ev_timer watchdog;
	int watchdog_on;
};

/* NOTIFY_SOCKET -> sockaddr_un; the address length, or -1. */
static int
sup_notify_parse_addr(const char *s, struct sockaddr_un *sa)
{
	size_t n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	/* sd_notify(3): an absolute path, or '@' for the abstract namespace. */
	if (n < 2 || (s[0] != '/' && s[0] != '@') || n >= sizeof(sa->sun_path))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0';
	/* Abstract names are length-delimited, paths NUL-terminated. */
	return (int)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/' ? 1 : 0));
}

/* Send one state string ("READY=1\nSTATUS=..."). 0, or negative errno. */
static int
sup_notify_send(struct sup_notify *n, const char *state)
{
	ssize_t r;

	if (n == NULL || n->fd < 0)
		return 0;
	do {
		r = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&n->sa,
		        n->salen);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;

		log_warn("sd_notify failed", "err", strerror(e));
		return -e;
	}
	return 0;
}

static int
sup_notify_with_status(struct sup_notify *n, const char *head, const char *status)
{
	char buf[512];

	if (status == NULL)
		return sup_notify_send(n, head);
	snprintf(buf, sizeof(buf), "%s%sSTATUS=%s", head, head[0] != '\0' ? "\n" : "", status);
	return sup_notify_send(n, buf);
}

int
sup_notify_ready(struct sup_notify *n, const char *status)
{
	return sup_notify_with_status(n, "READY=1", status);
}

int
sup_notify_status(struct sup_notify *n, const char *status)
{
	return sup_notify_with_status(n, "", status);
}

int
sup_notify_stopping(struct sup_notify *n, const char *status)
{
	return sup_notify_with_status(n, "STOPPING=1", status);
}

static void
sup_notify_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* sd_watchdog_enabled(3): keep-alive at half the period. The loop must be alive to get
	 * here. */
	sup_notify_send(w->data, "WATCHDOG=1");
}

struct sup_notify *
sup_notify_new(struct ev_loop *loop)
{
	struct sup_notify *n = lk_xcalloc(1, sizeof(*n));
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *wd = getenv("WATCHDOG_USEC");
	const char *wdpid = getenv("WATCHDOG_PID");
	int len;

	n->loop = loop;
	n->fd = -1;
	if (sock != NULL) {
		len = sup_notify_parse_addr(sock, &n->sa);
		if (len < 0) {
			log_warn("NOTIFY_SOCKET ignored: not a unix socket address", "value", sock);
		} else {
			n->salen = (socklen_t)len;
			n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (n->fd < 0)
				log_warn("notify socket failed", "err", strerror(errno));
		}
	}
	if (wd != NULL && n->fd >= 0) {
		char *end;
		unsigned long long v = strtoull(wd, &end, 10);
		int for_us = 1;

		/* WATCHDOG_PID names the process systemd watches; honour it when set. */
		if (wdpid != NULL && strtol(wdpid, NULL, 10) != (long)getpid())
			for_us = 0;
		if (*wd != '\0' && *end == '\0' && v > 0 && for_us)
			n->watchdog_usec = v;
	}
	/* Job processes inherit our environment: they must not speak for the service. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");

	if (n->watchdog_usec > 0 && loop != NULL) {
		double period = (double)n->watchdog_usec / 2e6;

		ev_timer_init(&n->watchdog, sup_notify_watchdog_cb, period, period);
		n->watchdog.data = n;
		ev_timer_start(loop, &n->watchdog);
		ev_unref(loop);
		n->watchdog_on = 1;
		log_info("systemd watchdog enabled", "interval_ms",
		        log_fmt("%llu", (unsigned long long)(n->watchdog_usec / 2000)));
	}
	return n;
}

void
sup_notify_free(struct sup_notify *n)
{
	if (n == NULL)
		return;
	if (n->watchdog_on) {
		ev_ref(n->loop);
		ev_timer_stop(n->loop, &n->watchdog);
	}
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}
