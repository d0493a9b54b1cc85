/*
 * job: the job context of lk-jobproc: shutdown reason and outcome, shutdown
 * hooks, and the stop cascade room -> tracks -> script -> hooks -> done.
 * It also wires the room's events to the script and reports status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "jobproc/job.h"
#include "jobproc/media.h"
#include "jobproc/pipeline.h"
#include "jobproc/room.h"
#include "jobproc/scripts.h"

struct job_hook {
	job_hook_fn fn;
	void *arg;
};

struct job_stage_slot {
	job_stage_fn fn;
	void *arg;
};

struct job {
	struct ev_loop *loop;
	struct job_params p; /* strings owned */
	struct job_cbs cbs;
	void *cbs_arg;

	const struct script *script;
	int script_started;
	void *script_data;
	struct room *room;

	int shutting_down;
	char *reason;
	char *error;
	enum job_outcome outcome;

	/* Cascade position: 0..JOB_NSTAGES-1 are stages, JOB_NSTAGES the hooks. */
	int step;
	int stage_pending; /* waiting for job_stage_done(step) */
	int in_cascade; /* job_run_cascade is on the stack */
	int done;
	struct job_stage_slot stages[JOB_NSTAGES];

	struct job_hook *hooks;
	size_t nhooks, caphooks;
	int hooks_ran;

	ev_timer step_timer; /* runs the next cascade step; doubles as the stage timeout */
	ev_timer duration_timer; /* the script's --duration */
	ev_timer status_timer; /* audio counters, every JOB_STATUS_INTERVAL_MS */
	uint64_t reported_in, reported_out;
};

static const char *const job_stage_names[JOB_NSTAGES] = {"room", "tracks", "script"};

static char *
job_dup(const char *s)
{
	return s ? lk_xstrdup(s) : NULL;
}

static void
job_arm_step(struct job *job, double after_s)
{
	ev_timer_stop(job->loop, &job->step_timer);
	ev_timer_set(&job->step_timer, after_s, 0.);
	ev_timer_start(job->loop, &job->step_timer);
}

static void
job_run_hooks(struct job *job)
{
	/* Set first: a hook that registers another hook gets LK_ECLOSED. */
	job->hooks_ran = 1;
	for (size_t i = job->nhooks; i > 0; i--) {
		struct job_hook h = job->hooks[i - 1];
		h.fn(job, job->reason, h.arg);
	}
}

/* Run stages until one is pending, then the hooks and the owner's on_done. */
static void
job_run_cascade(struct job *job)
{
	if (job->done || job->in_cascade)
		return;
	job->in_cascade = 1;
	while (job->step < JOB_NSTAGES) {
		struct job_stage_slot *s = &job->stages[job->step];
		if (!s->fn) {
			job->step++;
			continue;
		}
		job_stage_fn fn = s->fn;
		s->fn = NULL; /* each stage stops once */
		job->stage_pending = 1;
		log_debug("job stage stopping", "stage", job_stage_names[job->step]);
		fn(job, s->arg);
		if (job->stage_pending) {
			/* Asynchronous stage: wait for job_stage_done, bounded. */
			job_arm_step(job, JOB_STAGE_TIMEOUT_MS / 1000.);
			job->in_cascade = 0;
			return;
		}
	}
	ev_timer_stop(job->loop, &job->step_timer);
	job_run_hooks(job);
	job->done = 1;
	job->in_cascade = 0;
	log_info("job finished", "reason", job->reason, "outcome",
	        job->outcome == JOB_SUCCESS ? "success" : "failure", "err",
	        job->error ? job->error : "");
	if (job->cbs.on_done)
		job->cbs.on_done(job, job->cbs_arg);
}

static void
job_step_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *job = w->data;

	if (job->stage_pending) {
		/* The stage did not report back in time: go on without it. */
		log_warn("job stage stop timed out", "stage", job_stage_names[job->step],
		        "timeout_ms", log_fmt("%d", JOB_STAGE_TIMEOUT_MS));
		job->stage_pending = 0;
		job->step++;
	}
	job_run_cascade(job);
}

void
job_stage_done(struct job *job, enum job_stage stage)
{
	if (!job->stage_pending || (int)stage != job->step) {
		/* Late report after a timeout, or a stage that was never asked. */
		log_debug("job stage stopped late", "stage",
		        (unsigned)stage < JOB_NSTAGES ? job_stage_names[stage] : "?");
		return;
	}
	job->stage_pending = 0;
	job->step++;
	if (!job->in_cascade)
		job_arm_step(job, 0.); /* continue from the loop, not inside the caller */
}

void
job_set_stage(struct job *job, enum job_stage stage, job_stage_fn fn, void *arg)
{
	if ((unsigned)stage >= JOB_NSTAGES)
		return;
	job->stages[stage].fn = fn;
	job->stages[stage].arg = arg;
}

void
job_shutdown(struct job *job, const char *reason)
{
	if (!reason || !*reason)
		reason = "job shutdown";
	if (job->shutting_down) {
		log_debug("job shutdown already in progress", "reason", job->reason, "ignored",
		        reason);
		return;
	}
	job->shutting_down = 1;
	job->reason = lk_xstrdup(reason);
	log_info("job shutting down", "reason", job->reason);
	ev_timer_stop(job->loop, &job->duration_timer);
	ev_timer_stop(job->loop, &job->status_timer);
	/* Deferred: the caller may be deep inside a room or IPC callback. */
	job_arm_step(job, 0.);
}

void
job_fail(struct job *job, const char *error)
{
	if (!error || !*error)
		error = "job failed";
	if (job->done)
		return;
	if (!job->error) {
		job->error = lk_xstrdup(error);
		job->outcome = JOB_FAILURE;
		log_error("job failed", "err", error);
	} else {
		log_debug("job failed again", "err", error);
	}
	job_shutdown(job, error);
}

void
job_script_done(struct job *job, int ok, const char *error)
{
	if (ok)
		job_shutdown(job, "script finished");
	else
		job_fail(job, error && *error ? error : "script failed");
}

int
job_add_shutdown_hook(struct job *job, job_hook_fn fn, void *arg)
{
	if (!fn)
		return LK_EINVAL;
	if (job->hooks_ran)
		return LK_ECLOSED;
	if (job->nhooks == job->caphooks) {
		size_t cap = job->caphooks ? job->caphooks * 2 : 4;
		job->hooks = lk_xrealloc(job->hooks, cap * sizeof(*job->hooks));
		job->caphooks = cap;
	}
	job->hooks[job->nhooks].fn = fn;
	job->hooks[job->nhooks].arg = arg;
	job->nhooks++;
	return 0;
}

/* ---- room -> job -> script ---- */

static void
job_report_status(struct job *job)
{
	struct media_stats ms;
	struct job_status st;

	if (!job->cbs.on_status || !job->room)
		return;
	media_get_stats(room_media(job->room), &ms);
	memset(&st, 0, sizeof(st));
	st.room_joined = room_is_joined(job->room);
	st.participants = (unsigned)room_participant_count(job->room);
	st.audio_in_frames = ms.audio_in_frames;
	st.audio_out_frames = ms.audio_out_frames;
	job->reported_in = ms.audio_in_frames;
	job->reported_out = ms.audio_out_frames;
	job->cbs.on_status(job, &st, job->cbs_arg);
}

static void
job_status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *job = w->data;
	struct media_stats ms;

	/* Only while the counters move: an idle job sends nothing. */
	media_get_stats(room_media(job->room), &ms);
	if (ms.audio_in_frames != job->reported_in || ms.audio_out_frames != job->reported_out)
		job_report_status(job);
}

static const struct room_events *
job_script_events(const struct job *job)
{
	return job->script_started && job->script ? job->script->events : NULL;
}

static void
job_duration_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *job = w->data;

	log_info("script duration reached", "duration_ms",
	        log_fmt("%lld", (long long)job->p.duration_ms));
	job_script_done(job, 1, NULL);
}

static void
job_on_joined(struct room *room, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	log_info("room joined", "room_name", room_name(room), "room_sid", room_sid(room),
	        "participant_sid", room_local_sid(room), "identity", room_local_identity(room),
	        "participants", log_fmt("%zu", room_participant_count(room)));
	job_report_status(job);
	if (job->shutting_down)
		return;
	ev_timer_again(job->loop, &job->status_timer);
	if (job->p.duration_ms > 0) {
		ev_timer_set(&job->duration_timer, job->p.duration_ms / 1000., 0.);
		ev_timer_start(job->loop, &job->duration_timer);
	}
	if (se && se->on_joined)
		se->on_joined(room, job);
}

static void
job_on_participant_joined(struct room *room, const struct room_participant *p, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	log_info("participant joined", "participant_sid", p->sid, "identity", p->identity);
	job_report_status(job);
	if (se && se->on_participant_joined && !job->shutting_down)
		se->on_participant_joined(room, p, job);
}

static void
job_on_participant_left(struct room *room, const struct room_participant *p, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	log_info("participant left", "participant_sid", p->sid, "identity", p->identity);
	job_report_status(job);
	if (se && se->on_participant_left && !job->shutting_down)
		se->on_participant_left(room, p, job);
}

static void
job_on_track_subscribed(struct room *room, const struct room_track *t, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	if (se && se->on_track_subscribed && !job->shutting_down)
		se->on_track_subscribed(room, t, job);
}

static void
job_on_track_unsubscribed(struct room *room, const struct room_track *t, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	/* Also during the cascade (tracks stage): the script may hold per-track state. */
	if (se && se->on_track_unsubscribed)
		se->on_track_unsubscribed(room, t, job);
}

static void
job_on_disconnected(struct room *room, const char *reason, int failed, void *arg)
{
	struct job *job = arg;
	const struct room_events *se = job_script_events(job);

	if (se && se->on_disconnected)
		se->on_disconnected(room, reason, failed, job);
	job_report_status(job);
	/* The room ending is not a script error (as in the Python worker); a
	 * failed join or a protocol violation is a job failure. */
	if (failed)
		job_fail(job, reason);
	else
		job_shutdown(job, reason);
}

static const struct room_events job_room_events = {
        .on_joined = job_on_joined,
        .on_participant_joined = job_on_participant_joined,
        .on_participant_left = job_on_participant_left,
        .on_track_subscribed = job_on_track_subscribed,
        .on_track_unsubscribed = job_on_track_unsubscribed,
        .on_disconnected = job_on_disconnected,
};

static void
job_room_closed(struct room *room, void *arg)
{
	job_stage_done(arg, JOB_STAGE_ROOM);
}

static void
job_stop_room(struct job *job, void *arg)
{
	room_close(job->room, job_room_closed, job);
}

static void
job_stop_tracks(struct job *job, void *arg)
{
	/* After the leave, before the script: its taps see every track end. */
	media_stop(room_media(job->room));
	job_report_status(job);
	job_stage_done(job, JOB_STAGE_TRACKS);
}

static void
job_stop_script(struct job *job, void *arg)
{
	if (job->script_started && job->script->stop)
		job->script->stop(job);
	job->script_started = 0;
	job_stage_done(job, JOB_STAGE_SCRIPT);
}

int
job_script_arg(const struct job *job, const char *key, char *out, size_t outlen)
{
	const char *s = job->p.script_args;
	size_t klen = strlen(key);

	while (s && *s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t wlen = strcspn(s, " \t");
		if (wlen > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			size_t vlen = wlen - klen - 1;
			if (vlen + 1 > outlen)
				return LK_ETOOBIG;
			memcpy(out, s + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		s += wlen;
	}
	return LK_ENOTFOUND;
}

int
job_start(struct job *job, char *err, size_t errlen)
{
	char val[64], serr[256];
	int rc;

	job->script = script_find(job->p.script);
	if (!job->script) {
		snprintf(err, errlen, "unknown script \"%s\"", job->p.script ? job->p.script : "");
		return LK_ENOTFOUND;
	}
	if (job->p.duration_ms == 0 &&
	        job_script_arg(job, "duration", val, sizeof(val)) != LK_ENOTFOUND) {
		int64_t ms;
		if (job_script_arg(job, "duration", val, sizeof(val)) != 0 ||
		        cfg_parse_duration_ms(val, &ms) != 0 || ms < 0) {
			snprintf(err, errlen,
			        "bad script argument duration: expected a duration like 5s");
			return LK_EINVAL;
		}
		job->p.duration_ms = ms;
	}

	job->room = room_new(job->loop, &job_room_events, job);
	job_set_stage(job, JOB_STAGE_ROOM, job_stop_room, NULL);
	job_set_stage(job, JOB_STAGE_TRACKS, job_stop_tracks, NULL);
	job_set_stage(job, JOB_STAGE_SCRIPT, job_stop_script, NULL);
	rc = job_script_arg(job, "rate", val, sizeof(val));
	if (rc != LK_ENOTFOUND) {
		char *end = NULL;
		long rate = rc == 0 ? strtol(val, &end, 10) : 0;
		if (rc != 0 || !end || *end || rate > INT32_MAX || !pipeline_rate_ok((int)rate) ||
		        media_set_script_rate(room_media(job->room), (int)rate) < 0) {
			snprintf(err, errlen,
			        "bad script argument rate: expected a sample rate in Hz "
			        "(8000..48000, a multiple of 50 that divides into 48000)");
			return LK_EINVAL;
		}
	}

	log_info("script starting", "script", job->script->name, "args",
	        job->p.script_args ? job->p.script_args : "");
	serr[0] = '\0';
	rc = job->script->start(job, job->p.script_args, serr, sizeof(serr));
	if (rc < 0) {
		snprintf(err, errlen, "script %s failed to start: %s", job->script->name,
		        serr[0] ? serr : lk_strerror(rc));
		return rc;
	}
	job->script_started = 1;

	rc = room_connect(job->room, job->p.url, job->p.token);
	if (rc < 0) {
		snprintf(err, errlen, "room join failed: bad LiveKit URL \"%s\"",
		        job->p.url ? job->p.url : "");
		return rc;
	}
	return 0;
}

struct job *
job_new(struct ev_loop *loop, const struct job_params *p, const struct job_cbs *cbs, void *arg)
{
	struct job *job = lk_xcalloc(1, sizeof(*job));

	job->loop = loop;
	job->p.job_id = job_dup(p->job_id);
	job->p.url = job_dup(p->url);
	job->p.token = job_dup(p->token);
	job->p.identity = job_dup(p->identity);
	job->p.room_name = job_dup(p->room_name);
	job->p.script = job_dup(p->script);
	job->p.script_args = job_dup(p->script_args);
	job->p.duration_ms = p->duration_ms;
	if (cbs)
		job->cbs = *cbs;
	job->cbs_arg = arg;
	job->outcome = JOB_SUCCESS;
	ev_timer_init(&job->step_timer, job_step_cb, 0., 0.);
	job->step_timer.data = job;
	ev_timer_init(&job->duration_timer, job_duration_cb, 0., 0.);
	job->duration_timer.data = job;
	ev_init(&job->status_timer, job_status_cb);
	job->status_timer.repeat = JOB_STATUS_INTERVAL_MS / 1000.;
	job->status_timer.data = job;
	return job;
}

void
job_free(struct job *job)
{
	if (!job)
		return;
	ev_timer_stop(job->loop, &job->step_timer);
	ev_timer_stop(job->loop, &job->duration_timer);
	ev_timer_stop(job->loop, &job->status_timer);
	if (job->room)
		room_free(job->room);
	free((char *)job->p.job_id);
	free((char *)job->p.url);
	free((char *)job->p.token);
	free((char *)job->p.identity);
	free((char *)job->p.room_name);
	free((char *)job->p.script);
	free((char *)job->p.script_args);
	free(job->hooks);
	free(job->reason);
	free(job->error);
	free(job);
}

int
job_is_shutting_down(const struct job *job)
{
	return job->shutting_down;
}

const char *
job_reason(const struct job *job)
{
	return job->reason;
}

enum job_outcome
job_outcome(const struct job *job)
{
	return job->outcome;
}

const char *
job_error(const struct job *job)
{
	return job->error ? job->error : "";
}

int
job_exit_code(const struct job *job)
{
	return job->outcome == JOB_SUCCESS ? 0 : 1;
}

struct ev_loop *
job_loop(const struct job *job)
{
	return job->loop;
}

const struct job_params *
job_params(const struct job *job)
{
	return &job->p;
}

struct room *
job_room(const struct job *job)
{
	return job->room;
}

struct media *
job_media(const struct job *job)
{
	return job->room ? room_media(job->room) : NULL;
}

void
job_set_script_data(struct job *job, void *data)
{
	job->script_data = data;
}

void *
job_script_data(const struct job *job)
{
	return job->script_data;
}
