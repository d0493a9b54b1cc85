/*
 * pool_int: internals shared by the pool files of lk-supervisor: the
 * fork+exec of one job process (pool_spawn.c) and reading a child's memory
 * from /proc (pool_mem.c). Not used outside the pool.
 */
#ifndef LK_SUP_POOL_INT_H
#define LK_SUP_POOL_INT_H

#include <stdint.h>
#include <sys/types.h>

/* The child's oom_score_adj: under memory pressure the kernel picks a job, not the supervisor. */
#define SUP_SPAWN_OOM_SCORE_ADJ "500"

struct sup_spawn {
	pid_t pid;
	int ipc_fd; /* the supervisor's end of the socketpair (CLOEXEC) */
	int err_fd; /* read end of the exec error pipe (CLOEXEC, non-blocking) */
};

/*
 * fork + exec path as "lk-jobproc --ipc" with its end of a SOCK_SEQPACKET
 * socketpair on IPC_FD. Returns 0, or a negated errno when nothing was
 * started (nothing left to clean up). The exec result arrives later on
 * err_fd: see sup_spawn_result.
 */
int sup_spawn(const char *path, struct sup_spawn *out);

/*
 * Read the exec error pipe: 1 = exec succeeded (EOF), 0 = not known yet,
 * -1 = exec (or a step before it) failed with *child_errno.
 */
int sup_spawn_result(int err_fd, int *child_errno);

/*
 * Memory of a process in kB: PSS from /proc/PID/smaps_rollup when readable,
 * RSS (VmRSS in /proc/PID/status) otherwise or as well. 0, or negative
 * when neither can be read (the process is gone).
 */
int sup_procmem_read(pid_t pid, uint64_t *pss_kb, uint64_t *rss_kb);

#endif
