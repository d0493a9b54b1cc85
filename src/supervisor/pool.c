/*
 * pool: lk-supervisor's job processes: the prewarmed idle pool, the job
 * table, pings, memory sampling, timeouts, the shutdown ladder, and turning
 * each child's death into exactly one final job status. Runs on the default
 * libev loop (ev_child needs it); fork+exec lives in pool_spawn.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "common/backoff.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "supervisor/pool.h"
#include "supervisor/pool_int.h"

#define SUP_MEM_SAMPLE_MS 5000 /* PSS sampling period */
#define SUP_SIGTERM_GRACE_MS 2000 /* shutdown ladder: SIGTERM -> SIGKILL */
#define SUP_EOF_GRACE_MS 5000 /* IPC closed, process still alive -> SIGKILL */
#define SUP_REFILL_MIN_MS 500 /* smallest delay after a spawn/init failure */
#define SUP_TEXT_MAX 256 /* kill reasons and EXITING error texts */

enum sup_pstate {
	SUP_P_SPAWNING, /* forked; exec not confirmed */
	SUP_P_INIT, /* exec'd, INIT sent, waiting for INIT_OK */
	SUP_P_IDLE, /* initialized, no job */
	SUP_P_RUNNING, /* START_JOB handed over */
	SUP_P_CLOSING, /* shutdown ladder running */
};

struct sup_proc {
	struct sup_proc *prev;
	struct sup_proc *next;
	struct sup_pool *pool;
	pid_t pid;
	enum sup_pstate state;
	struct ipc_peer *peer;
	int err_fd; /* exec error pipe until the exec result is known */
	ev_io errw;
	ev_child childw;
	ev_timer initw; /* init_timeout_ms for INIT_OK */
	ev_timer jobw; /* job_timeout_ms */
	ev_timer ladderw; /* shutdown ladder steps */
	ev_timer eofw; /* IPC closed but the process lingers */
	int ladder; /* 1 SHUTDOWN sent, 2 SIGTERM sent, 3 SIGKILL sent */
	int killed; /* SIGKILL sent: only the reap is left */
	int reaped; /* waited for: the pid is no longer ours */
	int drop; /* killed on purpose while jobless: not a failure */
	int spawn_errno; /* exec (or a post-fork step) failed */
	int64_t spawned_ms;
	int64_t started_ms;
	int64_t last_pong_ms;
	uint64_t rss_kb;
	uint64_t pss_kb;
	uint64_t cpu_ms;
	int mem_warned;
	int room_joined;
	uint32_t participants;
	uint64_t audio_in_frames;
	uint64_t audio_out_frames;
	/* the job, once assigned */
	char *job_id;
	char *room;
	uint8_t *start_dgram; /* packed START_JOB waiting for INIT_OK */
	size_t start_len;
	int handed; /* START_JOB sent */
	int running_pending; /* RUNNING not reported yet */
	int cancelled; /* terminated before START_JOB was sent */
	char kill_reason[SUP_TEXT_MAX]; /* the pool ended it: this text wins */
	int exiting; /* EXITING received */
	uint8_t exit_outcome;
	char exit_error[SUP_TEXT_MAX];
};

struct sup_pool {
	struct ev_loop *loop;
	struct sup_pool_opts o;
	char *jobproc_path;
	char *log_level;
	char *log_format;
	sup_job_status_fn on_status;
	void *arg;
	struct sup_proc *head;
	unsigned nprocs;
	ev_timer pingw;
	ev_timer memw;
	ev_timer refillw;
	ev_timer notifyw; /* RUNNING reports, always from the loop */
	int draining; /* no idle processes kept */
	unsigned failures; /* consecutive spawn/init failures: refill backoff */
	int busy; /* inside on_status */
	int dead; /* sup_pool_free called while busy */
	struct sup_pool_stats st;
};

static void sup_proc_kill(struct sup_proc *p, int sig, const char *reason);
static void sup_pool_refill_later(struct sup_pool *pool);

static const char *
sup_proc_job(const struct sup_proc *p)
{
	return p->job_id ? p->job_id : "";
}

static const char *
sup_pool_errstr(int err)
{
	return err > -1000 ? strerror(-err) : lk_strerror(err);
}

/* ---- process list ---- */

static void
sup_pool_link(struct sup_pool *pool, struct sup_proc *p)
{
	p->prev = NULL;
	p->next = pool->head;
	if (pool->head)
		pool->head->prev = p;
	pool->head = p;
	pool->nprocs++;
}

static void
sup_pool_unlink(struct sup_pool *pool, struct sup_proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		pool->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	pool->nprocs--;
}

/* Pings and memory samples run only while there are children to look at. */
static void
sup_pool_timers_update(struct sup_pool *pool)
{
	if (pool->nprocs > 0 && !pool->dead) {
		if (!ev_is_active(&pool->pingw))
			ev_timer_again(pool->loop, &pool->pingw);
		if (!ev_is_active(&pool->memw))
			ev_timer_again(pool->loop, &pool->memw);
	} else {
		ev_timer_stop(pool->loop, &pool->pingw);
		ev_timer_stop(pool->loop, &pool->memw);
	}
}

static struct sup_proc *
sup_pool_find(const struct sup_pool *pool, const char *job_id)
{
	struct sup_proc *p;

	for (p = pool->head; p; p = p->next)
		if (p->job_id && strcmp(p->job_id, job_id) == 0)
			return p;
	return NULL;
}

/* Stop every watcher of p, drop its IPC and unlink it (it is gone or going). */
static void
sup_proc_detach(struct sup_proc *p)
{
	struct sup_pool *pool = p->pool;

	ev_child_stop(pool->loop, &p->childw);
	ev_io_stop(pool->loop, &p->errw);
	ev_timer_stop(pool->loop, &p->initw);
	ev_timer_stop(pool->loop, &p->jobw);
	ev_timer_stop(pool->loop, &p->ladderw);
	ev_timer_stop(pool->loop, &p->eofw);
	if (p->peer) {
		ipc_peer_free(p->peer);
		p->peer = NULL;
	}
	if (p->err_fd >= 0) {
		close(p->err_fd);
		p->err_fd = -1;
	}
	sup_pool_unlink(pool, p);
	sup_pool_timers_update(pool);
}

static void
sup_proc_free(struct sup_proc *p)
{
	free(p->job_id);
	free(p->room);
	free(p->start_dgram);
	free(p);
}

static void
sup_pool_release(struct sup_pool *pool)
{
	free(pool->jobproc_path);
	free(pool->log_level);
	free(pool->log_format);
	free(pool);
}

/* Leave an on_status section; 1 if the pool was freed meanwhile and is now gone. */
static int
sup_pool_leave(struct sup_pool *pool)
{
	pool->busy--;
	if (pool->dead && pool->busy == 0) {
		sup_pool_release(pool);
		return 1;
	}
	return pool->dead;
}

/* ---- IPC from a job process ---- */

/* A malformed or out-of-protocol message: that job ends, the supervisor does not. */
static void
sup_proc_bad_ipc(struct sup_proc *p, const char *what)
{
	char reason[SUP_TEXT_MAX];

	p->pool->st.malformed_ipc++;
	log_error("job sent malformed ipc", "job_id", sup_proc_job(p), "job_pid",
	        log_fmt("%d", (int)p->pid), "err", what);
	snprintf(reason, sizeof(reason), "malformed ipc: %s", what);
	if (p->peer) {
		/* safe inside the peer's own callbacks */
		ipc_peer_free(p->peer);
		p->peer = NULL;
	}
	sup_proc_kill(p, SIGKILL, reason);
}

/* Give the job its START_JOB: from here on it is RUNNING. */
static void
sup_proc_handover(struct sup_proc *p)
{
	struct sup_pool *pool = p->pool;
	char reason[SUP_TEXT_MAX];
	int rc = LK_ECLOSED;

	if (p->peer)
		rc = ipc_peer_send_raw(p->peer, p->start_dgram, p->start_len);
	free(p->start_dgram);
	p->start_dgram = NULL;
	p->start_len = 0;
	if (rc < 0) {
		log_error("job start failed", "job_id", sup_proc_job(p), "job_pid",
		        log_fmt("%d", (int)p->pid), "err", sup_pool_errstr(rc));
		snprintf(reason, sizeof(reason), "job start failed: %s", sup_pool_errstr(rc));
		sup_proc_kill(p, SIGKILL, reason);
		return;
	}
	p->handed = 1;
	p->state = SUP_P_RUNNING;
	p->started_ms = lk_mono_ms();
	pool->st.jobs_started++;
	/* livekit_agent.proto UpdateJobStatus RUNNING once the job is handed
	 * over; reported from the loop, never from inside a sup_pool_* call */
	p->running_pending = 1;
	if (!ev_is_active(&pool->notifyw))
		ev_timer_start(pool->loop, &pool->notifyw);
	if (pool->o.job_timeout_ms > 0) {
		ev_timer_set(&p->jobw, (double)pool->o.job_timeout_ms / 1000.0, 0.0);
		ev_timer_start(pool->loop, &p->jobw);
	}
	log_info("job started", "job_id", p->job_id, "room", p->room, "job_pid",
	        log_fmt("%d", (int)p->pid));
}

static void
sup_proc_msg_cb(struct ipc_peer *peer, const struct ipc_msg *msg, void *arg)
{
	struct sup_proc *p = arg;
	struct sup_pool *pool = p->pool;

	(void)peer;
	switch (msg->type) {
	case IPC_INIT_OK:
		if (p->state != SUP_P_INIT) {
			sup_proc_bad_ipc(p, "unexpected INIT_OK");
			return;
		}
		ev_timer_stop(pool->loop, &p->initw);
		p->last_pong_ms = lk_mono_ms();
		pool->failures = 0;
		log_debug("job process ready", "job_pid", log_fmt("%d", (int)p->pid), "ms",
		        log_fmt("%lld", (long long)(p->last_pong_ms - p->spawned_ms)));
		if (p->start_dgram)
			sup_proc_handover(p);
		else
			p->state = SUP_P_IDLE;
		return;
	case IPC_PONG:
	case IPC_STATUS:
	case IPC_EXITING:
	case IPC_SHUTDOWN_ACK:
		if (p->state < SUP_P_IDLE) {
			sup_proc_bad_ipc(p, log_fmt("%s before INIT_OK", ipc_type_name(msg->type)));
			return;
		}
		break;
	default:
		/* supervisor -> job messages never come back */
		sup_proc_bad_ipc(p, log_fmt("unexpected %s", ipc_type_name(msg->type)));
		return;
	}

	switch (msg->type) {
	case IPC_PONG:
		p->last_pong_ms = lk_mono_ms();
		p->rss_kb = msg->u.pong.rss_kb;
		p->cpu_ms = msg->u.pong.cpu_ms;
		break;
	case IPC_STATUS:
		p->room_joined = msg->u.status.room_joined;
		p->participants = msg->u.status.participants;
		p->audio_in_frames = msg->u.status.audio_in_frames;
		p->audio_out_frames = msg->u.status.audio_out_frames;
		break;
	case IPC_EXITING:
		p->exiting = 1;
		p->exit_outcome = msg->u.exiting.outcome;
		ipc_str_copy(p->exit_error, sizeof(p->exit_error), msg->u.exiting.error);
		{
			char reason[SUP_TEXT_MAX];
			ipc_str_copy(reason, sizeof(reason), msg->u.exiting.reason);
			log_info("job exiting", "job_id", sup_proc_job(p), "job_pid",
			        log_fmt("%d", (int)p->pid), "reason", reason, "outcome",
			        msg->u.exiting.outcome == IPC_OUTCOME_SUCCESS ? "success"
			                                                      : "failure",
			        "error", p->exit_error[0] ? p->exit_error : NULL);
		}
		break;
	case IPC_SHUTDOWN_ACK:
		log_debug("job acknowledged shutdown", "job_id", sup_proc_job(p), "job_pid",
		        log_fmt("%d", (int)p->pid));
		break;
	default:
		break;
	}
}

static void
sup_proc_close_cb(struct ipc_peer *peer, int err, void *arg)
{
	struct sup_proc *p = arg;

	(void)peer;
	if (err <= -1000) {
		/* an lk_err: the datagram itself was bad (size, msgpack, version, types) */
		sup_proc_bad_ipc(p, lk_strerror(err));
		return;
	}
	/* EOF or a socket error: normally the process is exiting right now */
	ipc_peer_free(p->peer);
	p->peer = NULL;
	log_debug("job ipc closed", "job_id", sup_proc_job(p), "job_pid",
	        log_fmt("%d", (int)p->pid), "err", err ? sup_pool_errstr(err) : NULL);
	if (!p->killed)
		ev_timer_start(p->pool->loop, &p->eofw);
}

/* ---- timers and signals for one process ---- */

static void
sup_proc_kill(struct sup_proc *p, int sig, const char *reason)
{
	struct ev_loop *loop = p->pool->loop;

	if (reason && p->kill_reason[0] == '\0')
		lk_strlcpy(p->kill_reason, reason, sizeof(p->kill_reason));
	if (p->killed)
		return;
	if (sig == SIGKILL) {
		/* nothing is left to wait for but the reap */
		p->killed = 1;
		ev_timer_stop(loop, &p->initw);
		ev_timer_stop(loop, &p->jobw);
		ev_timer_stop(loop, &p->ladderw);
		ev_timer_stop(loop, &p->eofw);
	}
	/* the pid stays ours until it is reaped; libev reaps before it runs the
	 * ev_child callback, so a pending callback means the pid may be reused */
	if (p->reaped || ev_is_pending(&p->childw))
		return;
	if (kill(p->pid, sig) < 0 && errno != ESRCH)
		log_warn("kill failed", "job_id", sup_proc_job(p), "job_pid",
		        log_fmt("%d", (int)p->pid), "err", strerror(errno));
}

/*
 * Shutdown ladder step 1: SHUTDOWN over IPC, then close_timeout_ms until
 * SIGTERM, then SUP_SIGTERM_GRACE_MS until SIGKILL. fail_reason (job
 * timeout) makes the outcome FAILED whatever the exit status.
 */
static void
sup_proc_shutdown(struct sup_proc *p, const char *reason, const char *fail_reason)
{
	struct sup_pool *pool = p->pool;
	struct ipc_msg m;

	if (p->killed || p->state == SUP_P_CLOSING)
		return;
	if (!p->handed) {
		/* the job never reached the process: nothing to close gracefully */
		if (fail_reason == NULL)
			p->cancelled = 1;
		sup_proc_kill(p, SIGKILL, fail_reason);
		return;
	}
	if (fail_reason && p->kill_reason[0] == '\0')
		lk_strlcpy(p->kill_reason, fail_reason, sizeof(p->kill_reason));
	p->state = SUP_P_CLOSING;
	p->ladder = 1;
	ev_timer_stop(pool->loop, &p->jobw);
	log_info("job shutdown", "job_id", p->job_id, "job_pid", log_fmt("%d", (int)p->pid),
	        "reason", reason);
	if (p->peer) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_SHUTDOWN;
		m.u.shutdown.reason = ipc_cstr(reason);
		/* a failed send is fine: the ladder goes on with signals */
		(void)ipc_peer_send(p->peer, &m);
	}
	ev_timer_set(&p->ladderw, (double)pool->o.close_timeout_ms / 1000.0, 0.0);
	ev_timer_start(pool->loop, &p->ladderw);
}

static void
sup_proc_ladder_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_proc *p = w->data;

	(void)revents;
	if (p->ladder == 1) {
		/* step 2: the job ignored SHUTDOWN for close_timeout_ms */
		log_warn("job close timeout", "job_id", sup_proc_job(p), "job_pid",
		        log_fmt("%d", (int)p->pid), "sending", "SIGTERM");
		if (p->kill_reason[0] == '\0')
			lk_strlcpy(p->kill_reason, "close timeout", sizeof(p->kill_reason));
		p->pool->st.killed_close_timeout++;
		p->ladder = 2;
		sup_proc_kill(p, SIGTERM, NULL);
		ev_timer_set(w, SUP_SIGTERM_GRACE_MS / 1000.0, 0.0);
		ev_timer_start(loop, w);
	} else if (p->ladder == 2) {
		/* step 3: SIGTERM did not end it either */
		log_warn("job ignored SIGTERM", "job_id", sup_proc_job(p), "job_pid",
		        log_fmt("%d", (int)p->pid), "sending", "SIGKILL");
		p->ladder = 3;
		sup_proc_kill(p, SIGKILL, NULL);
	}
}

static void
sup_proc_job_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_proc *p = w->data;

	(void)loop;
	(void)revents;
	log_warn("job timeout", "job_id", sup_proc_job(p), "job_pid", log_fmt("%d", (int)p->pid),
	        "timeout_ms", log_fmt("%lld", (long long)p->pool->o.job_timeout_ms));
	p->pool->st.killed_job_timeout++;
	sup_proc_shutdown(p, "job timeout", "job timeout");
}

static void
sup_proc_init_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_proc *p = w->data;

	(void)loop;
	(void)revents;
	log_error("job process init timeout", "job_id", p->job_id, "job_pid",
	        log_fmt("%d", (int)p->pid), "timeout_ms",
	        log_fmt("%d", p->pool->o.init_timeout_ms));
	sup_proc_kill(p, SIGKILL, "init timeout");
}

static void
sup_proc_eof_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_proc *p = w->data;

	(void)loop;
	(void)revents;
	log_warn("job process alive after closing ipc", "job_id", p->job_id, "job_pid",
	        log_fmt("%d", (int)p->pid));
	sup_proc_kill(p, SIGKILL, "ipc closed");
}

static void
sup_proc_send_init(struct sup_proc *p)
{
	struct sup_pool *pool = p->pool;
	struct ipc_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.type = IPC_INIT;
	m.u.init.ping_interval_ms = (uint32_t)pool->o.ping_interval_ms;
	m.u.init.ping_timeout_ms = (uint32_t)pool->o.ping_timeout_ms;
	m.u.init.log_level = ipc_cstr(pool->log_level);
	m.u.init.log_format = ipc_cstr(pool->log_format);
	rc = p->peer ? ipc_peer_send(p->peer, &m) : LK_ECLOSED;
	if (rc < 0) {
		log_error("job process init failed", "job_pid", log_fmt("%d", (int)p->pid), "err",
		        sup_pool_errstr(rc));
		sup_proc_kill(p, SIGKILL, "init failed");
	}
}

/* Read the exec result once; 1 if it is known now. */
static int
sup_proc_exec_result(struct sup_proc *p)
{
	struct sup_pool *pool = p->pool;
	int e = 0, rc;

	rc = sup_spawn_result(p->err_fd, &e);
	if (rc == 0)
		return 0;
	ev_io_stop(pool->loop, &p->errw);
	close(p->err_fd);
	p->err_fd = -1;
	if (rc > 0) {
		pool->st.spawned++;
		if (p->state == SUP_P_SPAWNING) {
			p->state = SUP_P_INIT;
			if (!p->killed)
				sup_proc_send_init(p);
		}
		return 1;
	}
	p->spawn_errno = e;
	pool->st.spawn_failures++;
	/* the child _exits by itself; its reap reports the job, if any */
	log_error("job process spawn failed", "path", pool->jobproc_path, "job_pid",
	        log_fmt("%d", (int)p->pid), "job_id", p->job_id, "err", strerror(e));
	return 1;
}

static void
sup_proc_exec_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	sup_proc_exec_result(w->data);
}

/* ---- death ---- */

/* The final status of p's job from how it died; text into buf for FAILED. */
static int
sup_proc_outcome(const struct sup_proc *p, int wstatus, char *buf, size_t len)
{
	const char *abbr;
	int code, sig;

	buf[0] = '\0';
	if (p->cancelled && p->kill_reason[0] == '\0')
		return SUP_JS_SUCCESS; /* terminated before it started: nothing failed */
	if (p->spawn_errno) {
		snprintf(buf, len, "spawn failed: %s", strerror(p->spawn_errno));
		return SUP_JS_FAILED;
	}
	/* the pool ended it: its reason wins over how the process went */
	if (p->kill_reason[0]) {
		lk_strlcpy(buf, p->kill_reason, len);
		return SUP_JS_FAILED;
	}
	if (WIFEXITED(wstatus)) {
		code = WEXITSTATUS(wstatus);
		if (code == 0) {
			if (!p->handed) {
				lk_strlcpy(buf, "job process exited before the job started", len);
				return SUP_JS_FAILED;
			}
			if (p->exiting && p->exit_outcome == IPC_OUTCOME_FAILURE) {
				lk_strlcpy(buf,
				        p->exit_error[0] ? p->exit_error : "job reported failure",
				        len);
				return SUP_JS_FAILED;
			}
			return SUP_JS_SUCCESS;
		}
		if (p->exit_error[0])
			snprintf(buf, len, "exit code %d: %s", code, p->exit_error);
		else
			snprintf(buf, len, "exit code %d", code);
		return SUP_JS_FAILED;
	}
	if (WIFSIGNALED(wstatus)) {
		sig = WTERMSIG(wstatus);
		abbr = sigabbrev_np(sig);
		if (abbr)
			snprintf(buf, len, "signal %d (SIG%s)", sig, abbr);
		else
			snprintf(buf, len, "signal %d", sig);
		return SUP_JS_FAILED;
	}
	snprintf(buf, len, "wait status %d", wstatus);
	return SUP_JS_FAILED;
}

static void
sup_proc_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup_proc *p = w->data;
	struct sup_pool *pool = p->pool;
	char err[2 * SUP_TEXT_MAX + 64];
	int js, wstatus = w->rstatus;

	(void)loop;
	(void)revents;
	p->reaped = 1;
	/* the exec report may still sit in the pipe if both events came together */
	if (p->err_fd >= 0)
		(void)sup_proc_exec_result(p);
	/* the child is gone, but what it sent last (EXITING with its error
	 * text) may still be queued: SIGCHLD is handled before socket reads */
	if (p->peer)
		ipc_peer_read_pending(p->peer);
	sup_proc_detach(p);

	if (p->job_id == NULL) {
		if (!p->drop) {
			/* even a death after INIT_OK counts, or a process that exits
			 * right after starting would be respawned in a tight loop */
			pool->failures++;
			(void)sup_proc_outcome(p, wstatus, err, sizeof(err));
			if (err[0] == '\0')
				lk_strlcpy(err, "exit code 0", sizeof(err));
			log_warn("idle job process exited", "job_pid", log_fmt("%d", (int)p->pid),
			        "err", err);
		}
		sup_proc_free(p);
		sup_pool_refill_later(pool);
		return;
	}

	if (!p->handed && !p->cancelled)
		pool->failures++;
	js = sup_proc_outcome(p, wstatus, err, sizeof(err));
	if (js == SUP_JS_SUCCESS)
		pool->st.jobs_succeeded++;
	else
		pool->st.jobs_failed++;
	log_kv(js == SUP_JS_SUCCESS ? LOG_INFO : LOG_WARN, "job ended", "job_id", p->job_id, "room",
	        p->room, "job_pid", log_fmt("%d", (int)p->pid), "status",
	        js == SUP_JS_SUCCESS ? "success" : "failed", "error",
	        js == SUP_JS_SUCCESS ? NULL : err, (const char *)NULL);

	/* p is out of the list: on_status may start, terminate or free freely */
	pool->busy++;
	if (p->running_pending) {
		p->running_pending = 0;
		pool->on_status(p->job_id, SUP_JS_RUNNING, NULL, pool->arg);
	}
	if (!pool->dead)
		pool->on_status(p->job_id, js, js == SUP_JS_SUCCESS ? NULL : err, pool->arg);
	sup_proc_free(p);
	if (sup_pool_leave(pool))
		return;
	sup_pool_refill_later(pool);
}

/* ---- spawning and the idle pool ---- */

static struct sup_proc *
sup_proc_spawn(struct sup_pool *pool, int *err)
{
	struct sup_spawn sp;
	struct sup_proc *p;
	int rc;

	rc = sup_spawn(pool->jobproc_path, &sp);
	if (rc < 0) {
		pool->st.spawn_failures++;
		log_error("job process spawn failed", "path", pool->jobproc_path, "err",
		        strerror(-rc));
		*err = rc;
		return NULL;
	}
	p = lk_xcalloc(1, sizeof(*p));
	p->pool = pool;
	p->pid = sp.pid;
	p->err_fd = sp.err_fd;
	p->state = SUP_P_SPAWNING;
	p->spawned_ms = lk_mono_ms();
	sup_pool_link(pool, p);

	/* watch the death first: every later failure path ends in this reap */
	ev_child_init(&p->childw, sup_proc_child_cb, sp.pid, 0);
	p->childw.data = p;
	ev_child_start(pool->loop, &p->childw);
	ev_io_init(&p->errw, sup_proc_exec_cb, sp.err_fd, EV_READ);
	p->errw.data = p;
	ev_io_start(pool->loop, &p->errw);
	ev_timer_init(
	        &p->initw, sup_proc_init_timeout_cb, (double)pool->o.init_timeout_ms / 1000.0, 0.0);
	p->initw.data = p;
	ev_timer_start(pool->loop, &p->initw);
	ev_timer_init(&p->jobw, sup_proc_job_timeout_cb, 0.0, 0.0);
	p->jobw.data = p;
	ev_timer_init(&p->ladderw, sup_proc_ladder_cb, 0.0, 0.0);
	p->ladderw.data = p;
	ev_timer_init(&p->eofw, sup_proc_eof_cb, SUP_EOF_GRACE_MS / 1000.0, 0.0);
	p->eofw.data = p;
	sup_pool_timers_update(pool);

	p->peer = ipc_peer_new(pool->loop, sp.ipc_fd, sup_proc_msg_cb, sup_proc_close_cb, p);
	if (p->peer == NULL) {
		log_error("job process ipc setup failed", "job_pid", log_fmt("%d", (int)p->pid));
		sup_proc_kill(p, SIGKILL, "ipc setup failed");
	}
	log_debug("job process spawned", "job_pid", log_fmt("%d", (int)p->pid));
	return p;
}

/* Jobless processes that are, or are becoming, idle. */
static unsigned
sup_pool_warm(const struct sup_pool *pool)
{
	const struct sup_proc *p;
	unsigned n = 0;

	for (p = pool->head; p; p = p->next)
		if (p->job_id == NULL && !p->killed && p->state <= SUP_P_IDLE)
			n++;
	return n;
}

/*
 * Refill the idle pool soon: at once normally, after a growing delay while
 * spawns or inits keep failing, so a broken lk-jobproc never turns into a
 * fork loop.
 */
static void
sup_pool_refill_later(struct sup_pool *pool)
{
	uint32_t delay_ms = 0;

	if (pool->dead || pool->draining || pool->o.num_idle <= 0)
		return;
	if (ev_is_active(&pool->refillw))
		return; /* keeps a backoff delay already waiting */
	if (pool->failures > 0) {
		delay_ms = backoff_delay_ms(pool->failures - 1, lk_random_u32());
		if (delay_ms < SUP_REFILL_MIN_MS)
			delay_ms = SUP_REFILL_MIN_MS;
	}
	ev_timer_set(&pool->refillw, delay_ms / 1000.0, 0.0);
	ev_timer_start(pool->loop, &pool->refillw);
}

static void
sup_pool_refill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_pool *pool = w->data;
	int err;

	(void)loop;
	(void)revents;
	if (pool->draining)
		return;
	while (sup_pool_warm(pool) < (unsigned)pool->o.num_idle) {
		if (sup_proc_spawn(pool, &err) == NULL) {
			pool->failures++;
			sup_pool_refill_later(pool);
			return;
		}
	}
}

/* ---- pool-wide timers ---- */

static void
sup_pool_ping_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_pool *pool = w->data;
	struct sup_proc *p, *next;
	struct ipc_msg m;
	int64_t now = lk_mono_ms();

	(void)loop;
	(void)revents;
	for (p = pool->head; p; p = next) {
		next = p->next;
		if (p->killed || p->peer == NULL || p->state < SUP_P_IDLE)
			continue;
		if (now - p->last_pong_ms > pool->o.ping_timeout_ms) {
			log_error("job unresponsive", "job_id", p->job_id, "job_pid",
			        log_fmt("%d", (int)p->pid), "last_pong_ms_ago",
			        log_fmt("%lld", (long long)(now - p->last_pong_ms)));
			pool->st.killed_ping_timeout++;
			sup_proc_kill(p, SIGKILL, "ping timeout");
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.type = IPC_PING;
		m.u.ping.ts_ms = now;
		(void)ipc_peer_send(p->peer, &m);
	}
}

static void
sup_pool_mem_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_pool *pool = w->data;
	struct sup_proc *p, *next;
	uint64_t pss, rss, kb;

	(void)loop;
	(void)revents;
	for (p = pool->head; p; p = next) {
		next = p->next;
		if (p->killed || p->state < SUP_P_INIT)
			continue;
		if (sup_procmem_read(p->pid, &pss, &rss) < 0)
			continue;
		p->pss_kb = pss;
		if (rss)
			p->rss_kb = rss;
		kb = pss ? pss : rss;
		if (pool->o.mem_warn_mb > 0 && kb > (uint64_t)pool->o.mem_warn_mb * 1024 &&
		        !p->mem_warned) {
			p->mem_warned = 1;
			log_warn("job memory high", "job_id", p->job_id, "job_pid",
			        log_fmt("%d", (int)p->pid), "pss_kb",
			        log_fmt("%llu", (unsigned long long)kb), "warn_mb",
			        log_fmt("%d", pool->o.mem_warn_mb));
		}
		if (pool->o.mem_limit_mb > 0 && kb > (uint64_t)pool->o.mem_limit_mb * 1024) {
			log_error("job memory limit exceeded", "job_id", p->job_id, "job_pid",
			        log_fmt("%d", (int)p->pid), "pss_kb",
			        log_fmt("%llu", (unsigned long long)kb), "limit_mb",
			        log_fmt("%d", pool->o.mem_limit_mb));
			pool->st.killed_memory++;
			sup_proc_kill(p, SIGKILL, "memory limit");
		}
	}
}

/* RUNNING reports, one at a time, rescanning after each callback. */
static void
sup_pool_notify_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_pool *pool = w->data;
	struct sup_proc *p;

	(void)loop;
	(void)revents;
	pool->busy++;
	for (;;) {
		for (p = pool->head; p && !p->running_pending; p = p->next)
			;
		if (p == NULL)
			break;
		p->running_pending = 0;
		pool->on_status(p->job_id, SUP_JS_RUNNING, NULL, pool->arg);
		if (pool->dead)
			break;
	}
	(void)sup_pool_leave(pool);
}

/* ---- public ---- */

struct sup_pool *
sup_pool_new(struct ev_loop *loop, const struct sup_pool_opts *opts, sup_job_status_fn on_status,
        void *arg)
{
	struct sup_pool *pool;

	if (loop == NULL || opts == NULL || opts->jobproc_path == NULL || on_status == NULL)
		return NULL;
	/* libev delivers child deaths only on the default loop */
	if (!ev_is_default_loop(loop))
		return NULL;
	pool = lk_xcalloc(1, sizeof(*pool));
	pool->loop = loop;
	pool->o = *opts;
	pool->jobproc_path = lk_xstrdup(opts->jobproc_path);
	pool->log_level = lk_xstrdup(opts->log_level ? opts->log_level : "info");
	pool->log_format = lk_xstrdup(opts->log_format ? opts->log_format : "json");
	pool->o.jobproc_path = pool->jobproc_path;
	pool->o.log_level = pool->log_level;
	pool->o.log_format = pool->log_format;
	if (pool->o.num_idle < 0)
		pool->o.num_idle = 0;
	if (pool->o.ping_interval_ms <= 0)
		pool->o.ping_interval_ms = 2500;
	if (pool->o.ping_timeout_ms <= 0)
		pool->o.ping_timeout_ms = 60000;
	if (pool->o.init_timeout_ms <= 0)
		pool->o.init_timeout_ms = 10000;
	if (pool->o.close_timeout_ms <= 0)
		pool->o.close_timeout_ms = 10000;
	pool->on_status = on_status;
	pool->arg = arg;
	ev_timer_init(&pool->pingw, sup_pool_ping_cb, 0.0, pool->o.ping_interval_ms / 1000.0);
	pool->pingw.data = pool;
	ev_timer_init(&pool->memw, sup_pool_mem_cb, 0.0, SUP_MEM_SAMPLE_MS / 1000.0);
	pool->memw.data = pool;
	ev_timer_init(&pool->refillw, sup_pool_refill_cb, 0.0, 0.0);
	pool->refillw.data = pool;
	ev_timer_init(&pool->notifyw, sup_pool_notify_cb, 0.0, 0.0);
	pool->notifyw.data = pool;
	sup_pool_refill_later(pool);
	return pool;
}

int
sup_pool_start_job(struct sup_pool *pool, const struct sup_job_start *s)
{
	struct sup_proc *p, *warm = NULL, *idle = NULL;
	struct ipc_msg m;
	uint8_t *d;
	int n, err = 0;

	if (pool == NULL || pool->dead || s == NULL || s->job_id == NULL || s->job_id[0] == '\0')
		return LK_EINVAL;
	if (s->job_pb_len > 0 && s->job_pb == NULL)
		return LK_EINVAL;
	if (s->job_pb_len > IPC_MAX_MSG)
		return LK_ETOOBIG;
	if (sup_pool_find(pool, s->job_id))
		return LK_EINVAL;

	/* packed now, so a job too large for IPC fails here and not in a child */
	memset(&m, 0, sizeof(m));
	m.type = IPC_START_JOB;
	m.u.start_job.job.ptr = (const char *)s->job_pb;
	m.u.start_job.job.len = (uint32_t)s->job_pb_len;
	m.u.start_job.url = ipc_cstr(s->url);
	m.u.start_job.token = ipc_cstr(s->token);
	m.u.start_job.identity = ipc_cstr(s->identity);
	m.u.start_job.worker_id = ipc_cstr(s->worker_id);
	m.u.start_job.script = ipc_cstr(s->script);
	m.u.start_job.script_args = ipc_cstr(s->script_args);
	d = lk_xmalloc(IPC_MAX_MSG);
	n = ipc_pack(&m, d, IPC_MAX_MSG);
	if (n < 0) {
		free(d);
		return n;
	}
	d = lk_xrealloc(d, (size_t)n);

	/* an initialized idle process, else one still starting, else a new one */
	for (p = pool->head; p; p = p->next) {
		if (p->job_id || p->killed)
			continue;
		if (p->state == SUP_P_IDLE && idle == NULL)
			idle = p;
		else if (p->state < SUP_P_IDLE && warm == NULL)
			warm = p;
	}
	p = idle ? idle : warm;
	if (p == NULL) {
		p = sup_proc_spawn(pool, &err);
		if (p == NULL) {
			free(d);
			return err;
		}
	}
	p->job_id = lk_xstrdup(s->job_id);
	p->room = lk_xstrdup(s->room ? s->room : "");
	p->start_dgram = d;
	p->start_len = (size_t)n;
	p->started_ms = lk_mono_ms();
	log_info("job assigned", "job_id", p->job_id, "room", p->room, "job_pid",
	        log_fmt("%d", (int)p->pid), "prewarmed", p->state == SUP_P_IDLE ? "true" : "false");
	if (p->state == SUP_P_IDLE)
		sup_proc_handover(p);
	/* otherwise START_JOB goes out with INIT_OK */
	sup_pool_refill_later(pool);
	return 0;
}

int
sup_pool_terminate(struct sup_pool *pool, const char *job_id, const char *reason)
{
	struct sup_proc *p;

	if (pool == NULL || pool->dead || job_id == NULL)
		return LK_EINVAL;
	p = sup_pool_find(pool, job_id);
	if (p == NULL)
		return 0;
	sup_proc_shutdown(p, reason && reason[0] ? reason : "job terminated", NULL);
	return 0;
}

void
sup_pool_stop_idle(struct sup_pool *pool)
{
	struct sup_proc *p;

	if (pool == NULL || pool->dead)
		return;
	pool->draining = 1;
	ev_timer_stop(pool->loop, &pool->refillw);
	for (p = pool->head; p; p = p->next) {
		if (p->job_id == NULL && !p->killed) {
			p->drop = 1;
			sup_proc_kill(p, SIGKILL, NULL);
		}
	}
}

void
sup_pool_shutdown_all(struct sup_pool *pool, const char *reason)
{
	struct sup_proc *p;

	if (pool == NULL || pool->dead)
		return;
	sup_pool_stop_idle(pool);
	for (p = pool->head; p; p = p->next)
		if (p->job_id)
			sup_proc_shutdown(
			        p, reason && reason[0] ? reason : "worker shutdown", NULL);
}

unsigned
sup_pool_running(const struct sup_pool *pool)
{
	const struct sup_proc *p;
	unsigned n = 0;

	for (p = pool->head; p; p = p->next)
		if (p->job_id)
			n++;
	return n;
}

unsigned
sup_pool_idle(const struct sup_pool *pool)
{
	const struct sup_proc *p;
	unsigned n = 0;

	for (p = pool->head; p; p = p->next)
		if (p->job_id == NULL && !p->killed && p->state == SUP_P_IDLE)
			n++;
	return n;
}

unsigned
sup_pool_children(const struct sup_pool *pool)
{
	return pool->nprocs;
}

void
sup_pool_foreach(const struct sup_pool *pool, sup_job_fn fn, void *arg)
{
	const struct sup_proc *p, *next;
	struct sup_job_info info;

	for (p = pool->head; p; p = next) {
		next = p->next;
		if (p->job_id == NULL)
			continue;
		memset(&info, 0, sizeof(info));
		info.job_id = p->job_id;
		info.room = p->room;
		info.pid = (int)p->pid;
		info.status = SUP_JS_RUNNING;
		info.started_ms = p->started_ms;
		info.rss_kb = p->rss_kb;
		info.pss_kb = p->pss_kb;
		info.room_joined = p->room_joined;
		info.participants = p->participants;
		info.audio_in_frames = p->audio_in_frames;
		info.audio_out_frames = p->audio_out_frames;
		info.state = !p->handed             ? "starting"
		        : p->state == SUP_P_CLOSING ? "closing"
		                                    : "running";
		fn(&info, arg);
	}
}

void
sup_pool_stats(const struct sup_pool *pool, struct sup_pool_stats *out)
{
	*out = pool->st;
}

void
sup_pool_free(struct sup_pool *pool)
{
	struct sup_proc *p;
	pid_t pid;
	int reaped;

	if (pool == NULL || pool->dead)
		return;
	pool->dead = 1;
	ev_timer_stop(pool->loop, &pool->pingw);
	ev_timer_stop(pool->loop, &pool->memw);
	ev_timer_stop(pool->loop, &pool->refillw);
	ev_timer_stop(pool->loop, &pool->notifyw);
	/* no statuses from here: the caller is tearing down */
	while ((p = pool->head) != NULL) {
		pid = p->pid;
		/* a pending ev_child callback means libev has reaped it already */
		reaped = ev_is_pending(&p->childw);
		sup_proc_detach(p);
		if (!reaped) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		sup_proc_free(p);
	}
	if (pool->busy == 0)
		sup_pool_release(pool);
}
