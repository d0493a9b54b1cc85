/*
 * scripts: the job script registry of lk-jobproc and the built-in scripts:
 * noop (join and wait), and crash, hang and fail, which misbehave on
 * purpose after joining so that the supervisor's handling can be tested.
 */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "jobproc/job.h"
#include "jobproc/scripts.h"

/* ---- noop: join, then wait for --duration, the room's end or a shutdown ---- */

static int
script_noop_start(struct job *job, const char *args)
{
	return 0;
}

/* ---- crash: die of SIGSEGV once joined ---- */

static void
script_crash_joined(struct room *room, void *arg)
{
	struct rlimit no_core = {0, 0};

	log_warn("crash script: raising SIGSEGV as requested");
	/* A deliberate crash: no core file in the working directory. */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
}

static const struct room_events script_crash_events = {
        .on_joined = script_crash_joined,
};

/* ---- hang: block the event loop forever once joined ---- */

static void
script_hang_joined(struct room *room, void *arg)
{
	struct sigaction old;
	sigset_t all;

	log_warn("hang script: blocking the event loop as requested");
	/*
	 * With every signal blocked neither pings nor SIGTERM are served: only
	 * SIGKILL ends the process, which is what the supervisor's ping
	 * timeout and shutdown ladder must handle. SIGINT is left to its
	 * default action unless the process ignores it (supervised), so a one-off
	 * run can still be interrupted from a terminal.
	 */
	sigfillset(&all);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
		signal(SIGINT, SIG_DFL);
		sigdelset(&all, SIGINT);
	}
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (;;)
		pause();
}

static const struct room_events script_hang_events = {
        .on_joined = script_hang_joined,
};

/* ---- fail: end with a failure once joined ---- */

static void
script_fail_joined(struct room *room, void *arg)
{
	job_script_done(arg, 0, "script failed: requested");
}

static const struct room_events script_fail_events = {
        .on_joined = script_fail_joined,
};

static const struct script script_list[] = {
        {"noop", "join the room and wait (--duration, room end or shutdown)", script_noop_start,
                NULL, NULL},
        {"crash", "join, then raise SIGSEGV (tests)", script_noop_start, NULL,
                &script_crash_events},
        {"hang", "join, then block the event loop forever (tests)", script_noop_start, NULL,
                &script_hang_events},
        {"fail", "join, then end with a failure (tests)", script_noop_start, NULL,
                &script_fail_events},
        {NULL, NULL, NULL, NULL, NULL},
};

const struct script *
script_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct script *s = script_list; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

const struct script *
script_table(void)
{
	return script_list;
}
