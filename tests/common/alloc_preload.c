/*
 * alloc_preload: an LD_PRELOAD object that counts the heap allocations of a
 * real lkworker process (lk-jobproc during a media session), for
 * tests/integration/media_alloc.sh and the media benchmark. Built only for
 * tests, never linked into lkworker.
 *
 * It replaces malloc and its relatives (glibc supports that) and forwards to
 * glibc's own entry points (__libc_malloc ...), so there is no dlsym
 * bootstrapping. The counter leaves the process through a file:
 *   LK_ALLOC_COUNT_FILE=PATH  a thread rewrites PATH with the count every
 *                             100 ms ("%p" in PATH becomes the pid, since a
 *                             supervisor runs several job processes at once)
 *   LK_ALLOC_TRACE=1          from when PATH.start exists until PATH.stop
 *                             exists (the window), every allocation's call
 *                             stack is recorded. PATH.sites then holds
 *                             "window N open|closed" (allocations in the
 *                             window), "untraced N" (those whose stack was
 *                             not kept), one "site COUNT ADDR..." line per
 *                             distinct stack, and a copy of /proc/self/maps,
 *                             for tests/common/alloc_sites.mjs to resolve
 * The thread and the writes use only system calls and stack buffers: it
 * allocates nothing, so it does not disturb the count it reports.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AP_PATH_MAX 512
#define AP_PERIOD_NS 100000000L
#define AP_FRAMES 16 /* stack depth kept per traced allocation */
#define AP_SITES 1024 /* distinct stacks kept; more are counted as untraced */
#define AP_SKIP 2 /* ap_trace and the wrapper itself */

struct ap_site {
	uint64_t hash; /* 0: free slot */
	unsigned long count;
	int n;
	void *pc[AP_FRAMES];
};

static unsigned long ap_allocs;
static char ap_path[AP_PATH_MAX];
static int ap_trace_wanted;
static int ap_tracing; /* set by the writer thread inside the window */
static int ap_window_state; /* 0 before, 1 open, 2 closed */
static unsigned long ap_window_start, ap_window_end;
static unsigned long ap_untraced; /* stack not kept: unwinding failed or table full */
static struct ap_site ap_sites[AP_SITES];
/* Inside the tracer: allocations made by backtrace itself are not ours. */
static __thread int ap_in_trace __attribute__((tls_model("initial-exec")));

static uint64_t
ap_hash(void *const *pc, int n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a offset basis */

	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)pc[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

/* Frames 0 and 1 of the stack are this function and the wrapper (AP_SKIP). */
__attribute__((noinline)) static void
ap_trace(void)
{
	void *pc[AP_FRAMES + AP_SKIP];
	uint64_t h, want = 0;
	int n;

	ap_in_trace = 1;
	n = backtrace(pc, AP_FRAMES + AP_SKIP) - AP_SKIP;
	ap_in_trace = 0;
	if (n <= 0) {
		__atomic_add_fetch(&ap_untraced, 1, __ATOMIC_RELAXED);
		return;
	}
	h = ap_hash(pc + AP_SKIP, n);
	for (unsigned i = 0; i < AP_SITES; i++) {
		struct ap_site *s = &ap_sites[(h + i) % AP_SITES];
		uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);

		if (cur == 0) {
			/* Claim the slot; fill it before publishing the hash. */
			want = 0;
			if (!__atomic_compare_exchange_n(&s->hash, &want, UINT64_MAX, 0,
			            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				continue;
			memcpy(s->pc, pc + AP_SKIP, sizeof(void *) * (size_t)n);
			s->n = n;
			__atomic_store_n(&s->count, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&s->hash, h, __ATOMIC_RELEASE);
			return;
		}
		if (cur == h && s->n == n &&
		        memcmp(s->pc, pc + AP_SKIP, sizeof(void *) * (size_t)n) == 0) {
			__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_add_fetch(&ap_untraced, 1, __ATOMIC_RELAXED);
}

/* Allocations made by backtrace inside ap_trace are not the process's. */
__attribute__((always_inline)) static inline void
alloc_wrap_hook(void)
{
	if (ap_in_trace)
		return;
	__atomic_add_fetch(&ap_allocs, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&ap_tracing, __ATOMIC_RELAXED))
		ap_trace();
}

#include "alloc_wrap.h"

/* ---- the writer thread: system calls and stack buffers only ---- */

/* Append s to buf at *len (bounded by cap). */
static void
ap_put(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len < cap)
		buf[(*len)++] = *s++;
}

/* Append v in base 10 or 16. */
static void
ap_put_num(char *buf, size_t cap, size_t *len, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v > 0);
	if (base == 16)
		ap_put(buf, cap, len, "0x");
	while (n > 0 && *len < cap)
		buf[(*len)++] = tmp[--n];
}

static int
ap_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* path + suffix into out; 0 when it fits. */
static int
ap_path_with(char *out, size_t cap, const char *suffix)
{
	size_t len = 0;

	ap_put(out, cap, &len, ap_path);
	ap_put(out, cap, &len, suffix);
	if (len >= cap)
		return -1;
	out[len] = '\0';
	return 0;
}

/* Write PATH+suffix through a temporary file and rename, so a reader never
 * sees half a file. fill writes the content into fd. */
static void
ap_publish(const char *suffix, void (*fill)(int fd))
{
	char tmp[AP_PATH_MAX + 16], dst[AP_PATH_MAX + 16];
	int fd;

	if (ap_path_with(dst, sizeof(dst), suffix) < 0 ||
	        ap_path_with(tmp, sizeof(tmp), suffix) < 0)
		return;
	memcpy(tmp + strlen(tmp), ".tmp", 5);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	fill(fd);
	close(fd);
	(void)rename(tmp, dst);
}

static void
ap_fill_count(int fd)
{
	char buf[32];
	size_t len = 0;

	ap_put_num(buf, sizeof(buf) - 1, &len, __atomic_load_n(&ap_allocs, __ATOMIC_RELAXED), 10);
	buf[len++] = '\n';
	(void)ap_write_all(fd, buf, len);
}

static void
ap_fill_sites(int fd)
{
	char buf[4096];
	size_t len;
	ssize_t n;
	int maps, state = __atomic_load_n(&ap_window_state, __ATOMIC_ACQUIRE);
	unsigned long end =
	        state == 2 ? ap_window_end : __atomic_load_n(&ap_allocs, __ATOMIC_RELAXED);

	len = 0;
	ap_put(buf, sizeof(buf), &len, "window ");
	ap_put_num(buf, sizeof(buf), &len, end - ap_window_start, 10);
	ap_put(buf, sizeof(buf), &len, state == 2 ? " closed\nuntraced " : " open\nuntraced ");
	ap_put_num(buf, sizeof(buf), &len, __atomic_load_n(&ap_untraced, __ATOMIC_RELAXED), 10);
	ap_put(buf, sizeof(buf), &len, "\n");
	(void)ap_write_all(fd, buf, len);
	for (unsigned i = 0; i < AP_SITES; i++) {
		struct ap_site *s = &ap_sites[i];
		uint64_t h = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);

		if (h == 0 || h == UINT64_MAX)
			continue;
		len = 0;
		ap_put(buf, sizeof(buf), &len, "site ");
		ap_put_num(
		        buf, sizeof(buf), &len, __atomic_load_n(&s->count, __ATOMIC_RELAXED), 10);
		for (int k = 0; k < s->n; k++) {
			ap_put(buf, sizeof(buf), &len, " ");
			ap_put_num(buf, sizeof(buf), &len, (uintptr_t)s->pc[k], 16);
		}
		ap_put(buf, sizeof(buf), &len, "\n");
		(void)ap_write_all(fd, buf, len);
	}
	/* The mappings, so that addresses can be turned into file offsets. */
	maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (maps < 0)
		return;
	while ((n = read(maps, buf, sizeof(buf))) > 0)
		if (ap_write_all(fd, buf, (size_t)n) < 0)
			break;
	close(maps);
}

static void *
ap_writer(void *arg)
{
	struct timespec ts = {0, AP_PERIOD_NS};
	char start[AP_PATH_MAX + 16], stop[AP_PATH_MAX + 16];

	(void)arg;
	if (ap_trace_wanted &&
	        (ap_path_with(start, sizeof(start), ".start") < 0 ||
	                ap_path_with(stop, sizeof(stop), ".stop") < 0))
		ap_trace_wanted = 0;
	for (;;) {
		ap_publish("", ap_fill_count);
		if (ap_trace_wanted && ap_window_state == 0 && access(start, F_OK) == 0) {
			/* Tracing on first, then the count: an allocation between
			 * the two is traced but outside the window, never the
			 * other way round. */
			__atomic_store_n(&ap_tracing, 1, __ATOMIC_SEQ_CST);
			ap_window_start = __atomic_load_n(&ap_allocs, __ATOMIC_SEQ_CST);
			__atomic_store_n(&ap_window_state, 1, __ATOMIC_RELEASE);
		}
		if (ap_window_state == 1 && access(stop, F_OK) == 0) {
			__atomic_store_n(&ap_tracing, 0, __ATOMIC_SEQ_CST);
			ap_window_end = __atomic_load_n(&ap_allocs, __ATOMIC_SEQ_CST);
			__atomic_store_n(&ap_window_state, 2, __ATOMIC_RELEASE);
			ap_publish(".sites", ap_fill_sites);
		}
		if (ap_window_state == 1)
			ap_publish(".sites", ap_fill_sites);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* PATH with "%p" replaced by the pid; 0 when it fits. */
static int
ap_expand(const char *tpl)
{
	size_t len = 0;

	for (const char *s = tpl; *s; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			ap_put_num(ap_path, sizeof(ap_path) - 1, &len, (uint64_t)getpid(), 10);
			s++;
		} else if (len < sizeof(ap_path) - 1) {
			ap_path[len++] = *s;
		}
	}
	if (len >= sizeof(ap_path) - 1)
		return -1;
	ap_path[len] = '\0';
	return 0;
}

__attribute__((constructor)) static void
ap_init(void)
{
	const char *tpl = getenv("LK_ALLOC_COUNT_FILE");
	const char *tr = getenv("LK_ALLOC_TRACE");
	sigset_t all, old;
	pthread_t th;

	if (tpl == NULL || *tpl == '\0' || ap_expand(tpl) < 0)
		return;
	ap_trace_wanted = tr != NULL && strcmp(tr, "1") == 0;
	if (ap_trace_wanted) {
		void *pc[4];

		/* backtrace loads its unwinder on first use: do it now, not
		 * inside a traced malloc. */
		ap_in_trace = 1;
		(void)backtrace(pc, 4);
		ap_in_trace = 0;
	}
	/* The thread takes no signals: the process's own handling (libev,
	 * signalfd) must see every signal exactly as without it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, ap_writer, NULL) == 0)
		pthread_detach(th);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
