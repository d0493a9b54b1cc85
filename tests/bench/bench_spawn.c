/*
 * bench_spawn: measures what a prewarmed job process costs. It starts
 * lk-jobproc --ipc the way lk-supervisor does (fork+exec, socketpair on fd
 * 3), times fork+exec -> INIT_OK, and reads the idle process's RSS and PSS
 * from /proc. Prints "key value" lines for scripts/bench.sh. Benchmark
 * only; not part of the test suite.
 *
 * Usage: bench_spawn PATH/lk-jobproc [iterations]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"

static int64_t
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sum a "Key: N kB" field of /proc/PID/smaps_rollup or status. */
static long
bench_proc_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static pid_t
bench_spawn(const char *path, int *sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		/* Child: the IPC end on fd 3 without CLOEXEC, as the supervisor does. */
		if (dup2(sv[1], IPC_FD) < 0)
			_exit(127);
		execl(path, "lk-jobproc", "--ipc", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

static int
bench_init(int sock)
{
	struct ipc_msg m;
	uint8_t buf[IPC_MAX_MSG];
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	ssize_t n;
	int len;

	memset(&m, 0, sizeof(m));
	m.type = IPC_INIT;
	m.u.init.ping_interval_ms = 2500;
	m.u.init.ping_timeout_ms = 60000;
	m.u.init.log_level = ipc_cstr("error");
	m.u.init.log_format = ipc_cstr("json");
	len = ipc_pack(&m, buf, sizeof(buf));
	if (len < 0 || send(sock, buf, (size_t)len, 0) != len)
		return -1;
	if (poll(&pfd, 1, 10000) != 1)
		return -1;
	n = recv(sock, buf, sizeof(buf), 0);
	if (n <= 0 || ipc_unpack(buf, (size_t)n, &m) < 0 || m.type != IPC_INIT_OK)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path;
	int iters, i, sock, held = 10;
	int64_t *lat;
	long rss_sum = 0, pss_sum = 0;
	pid_t pids[10];
	int socks[10];

	if (argc < 2) {
		fprintf(stderr, "usage: bench_spawn PATH/lk-jobproc [iterations]\n");
		return 2;
	}
	path = argv[1];
	iters = argc > 2 ? atoi(argv[2]) : 200;
	if (iters < held)
		iters = held;
	signal(SIGPIPE, SIG_IGN);
	lat = calloc((size_t)iters, sizeof(*lat));
	for (i = 0; i < iters; i++) {
		int64_t t0 = bench_now_us();
		pid_t pid = bench_spawn(path, &sock);

		if (pid < 0 || bench_init(sock) < 0) {
			fprintf(stderr, "bench_spawn: spawn %d failed\n", i);
			return 1;
		}
		lat[i] = bench_now_us() - t0;
		if (i < held) {
			/* Keep the first ones alive as idle processes to measure memory. */
			pids[i] = pid;
			socks[i] = sock;
			continue;
		}
		close(sock); /* EOF: the idle process exits */
		waitpid(pid, NULL, 0);
	}
	usleep(300000);
	for (i = 0; i < held; i++) {
		rss_sum += bench_proc_kb(pids[i], "smaps_rollup", "Rss");
		pss_sum += bench_proc_kb(pids[i], "smaps_rollup", "Pss");
	}
	for (i = 0; i < held; i++) {
		close(socks[i]);
		waitpid(pids[i], NULL, 0);
	}
	qsort(lat, (size_t)iters, sizeof(*lat), bench_cmp);
	printf("spawn_iterations %d\n", iters);
	printf("spawn_p50_us %lld\n", (long long)lat[iters / 2]);
	printf("spawn_p99_us %lld\n", (long long)lat[(iters * 99) / 100]);
	printf("idle_rss_kb %ld\n", rss_sum / held);
	printf("idle_pss_kb %ld\n", pss_sum / held);
	free(lat);
	return 0;
}
