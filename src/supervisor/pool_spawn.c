/*
 * pool_spawn: lk-supervisor starting one job process: socketpair, exec
 * error pipe, fork, the post-fork sequence in the child, exec of
 * "lk-jobproc --ipc". The pool (pool.c) owns everything after fork returns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "supervisor/pool_int.h"

/* The first descriptor the child may not inherit: 0-2 stdio, 3 IPC_FD. */
#define SUP_SPAWN_FIRST_CLOSED (IPC_FD + 1)

/*
 * Move fd to a number above IPC_FD (keeping CLOEXEC), so that in the child
 * dup2(x, IPC_FD) can never clobber the error pipe or be a no-op that keeps
 * CLOEXEC. Returns the new fd or -errno (fd is closed either way on error).
 */
static int
sup_spawn_fd_high(int fd)
{
	int nfd;

	if (fd > IPC_FD)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, SUP_SPAWN_FIRST_CLOSED);
	if (nfd < 0)
		nfd = -errno;
	close(fd);
	return nfd;
}

/*
 * Close every descriptor >= first except keep (async-signal-safe: only
 * syscalls, no allocation). close_range when the kernel has it (5.9+),
 * otherwise walk /proc/self/fd with raw getdents64.
 */
static void
sup_spawn_close_from(int first, int keep)
{
	char buf[4096];
	long n, off;
	int dfd, fd;

	if ((keep <= first ||
	            syscall(SYS_close_range, (unsigned)first, (unsigned)keep - 1, 0) == 0) &&
	        syscall(SYS_close_range, (unsigned)(keep < first ? first : keep + 1), ~0u, 0) == 0)
		return;
	dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		for (fd = first; fd < 65536; fd++)
			if (fd != keep)
				close(fd);
		return;
	}
	/* /proc/self/fd lists entries at the time of each read; closing while
	 * walking is fine because a closed fd is never reopened here */
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
			const char *p = d->d_name;
			fd = 0;
			if (*p < '0' || *p > '9') {
				off += d->d_reclen;
				continue;
			}
			while (*p >= '0' && *p <= '9')
				fd = fd * 10 + (*p++ - '0');
			if (fd >= first && fd != keep && fd != dfd)
				close(fd);
			off += d->d_reclen;
		}
	}
	close(dfd);
}

/* Report errno to the parent through the pipe and die; the parent counts a spawn failure. */
static void __attribute__((noreturn)) sup_spawn_child_fail(int err_fd)
{
	int e = errno;
	ssize_t rc;

	do
		rc = write(err_fd, &e, sizeof(e));
	while (rc < 0 && errno == EINTR);
	_exit(127);
}

/*
 * The child between fork and exec. Only async-signal-safe calls: the
 * supervisor's memory (libev, logs) is a copy that must not be used here.
 */
static void __attribute__((noreturn))
sup_spawn_child(const char *path, int ipc_fd, int err_fd, pid_t parent)
{
	static char arg0[] = "lk-jobproc", arg1[] = "--ipc";
	char *const argv[] = {arg0, arg1, NULL};
	struct sigaction sa;
	sigset_t none;
	int sig, fd;

	/* 1. Default dispositions while every signal is still blocked: the
	 * supervisor's handlers (libev writes signal numbers into its own
	 * pipe) must never run in this copy of its memory. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);

	/* 2. Die with the supervisor: a job must not outlive the process that
	 * reports its status. Checked against a parent that is already gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		sup_spawn_child_fail(err_fd);
	if (getppid() != parent)
		_exit(127);

	/* 3. Own process group: a terminal's Ctrl-C reaches the supervisor,
	 * which drains jobs through the shutdown ladder, not every job at once. */
	(void)setpgid(0, 0);

	/* 4. The job process finds its end of the socketpair on IPC_FD; dup2
	 * gives a descriptor without CLOEXEC (ipc_fd > IPC_FD, see fd_high). */
	if (dup2(ipc_fd, IPC_FD) < 0)
		sup_spawn_child_fail(err_fd);

	/* 5. Nothing else leaks into the job: other jobs' sockets, the agent
	 * WebSocket, the HTTP listener. err_fd stays: it is CLOEXEC, so a
	 * successful exec closes it and the parent reads EOF. */
	sup_spawn_close_from(SUP_SPAWN_FIRST_CLOSED, err_fd);

	/* 6. stdin from /dev/null: a job never reads the terminal. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fd != STDIN_FILENO) {
			(void)dup2(fd, STDIN_FILENO);
			close(fd);
		} else {
			(void)fcntl(fd, F_SETFD, 0);
		}
	}

	/* 7. Under memory pressure the OOM killer prefers a job over the
	 * supervisor (best effort: it may be refused in a container). */
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		static const char adj[] = SUP_SPAWN_OOM_SCORE_ADJ;
		(void)!write(fd, adj, sizeof(adj) - 1);
		close(fd);
	}

	/* 8. An empty signal mask last, with default handlers in place, so
	 * lk-jobproc starts with nothing blocked. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	execv(path, argv);
	sup_spawn_child_fail(err_fd);
}

int
sup_spawn(const char *path, struct sup_spawn *out)
{
	int sv[2], ep[2], saved, fl;
	sigset_t all, old;
	pid_t pid, parent = getpid();

	if (path == NULL || out == NULL)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		saved = -errno;
		close(sv[0]);
		close(sv[1]);
		return saved;
	}
	sv[1] = sup_spawn_fd_high(sv[1]);
	ep[1] = sup_spawn_fd_high(ep[1]);
	if (sv[1] < 0 || ep[1] < 0) {
		saved = sv[1] < 0 ? sv[1] : ep[1];
		if (sv[1] >= 0)
			close(sv[1]);
		if (ep[1] >= 0)
			close(ep[1]);
		close(sv[0]);
		close(ep[0]);
		return saved;
	}
	fl = fcntl(ep[0], F_GETFL);
	if (fl >= 0)
		(void)fcntl(ep[0], F_SETFL, fl | O_NONBLOCK);

	/* every signal blocked across fork: none may be handled in the child
	 * before its dispositions are reset (step 1 of sup_spawn_child) */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		sup_spawn_child(path, sv[1], ep[1], parent);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);

	close(sv[1]);
	close(ep[1]);
	if (pid < 0) {
		close(sv[0]);
		close(ep[0]);
		return -saved;
	}
	out->pid = pid;
	out->ipc_fd = sv[0];
	out->err_fd = ep[0];
	return 0;
}

int
sup_spawn_result(int err_fd, int *child_errno)
{
	int e = 0;
	ssize_t n;

	do
		n = read(err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == (ssize_t)sizeof(e) && e > 0) {
		*child_errno = e;
		return -1;
	}
	/* a short or impossible report still means the exec did not happen */
	*child_errno = n < 0 ? errno : EIO;
	return -1;
}
