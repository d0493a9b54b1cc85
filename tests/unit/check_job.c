/*
 * check_job: the job context of lk-jobproc (idempotent shutdown, hooks once
 * in reverse order, the stop cascade, outcome), script arguments, the
 * room's URL building and SignalResponse handling without a socket
 * (including subscriber offers answered offline and the track events they
 * give), and the built lk-jobproc --ipc driven over a socketpair as the
 * supervisor would.
 */
#include "config.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <ev.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "ipc/ipc.h"
#include "jobproc/job.h"
#include "jobproc/media.h"
#include "jobproc/room.h"
#include "jobproc/scripts.h"
#include "proto/lkpb.h"

/* nanopb's generated structs take char *; encoding never writes through it. */
#define S(lit) ((char *)(uintptr_t)(const char *)(lit))

/* ---- a record of what happened, in order ---- */

static char trace[512];
static int done_calls;

static void
trace_add(const char *what)
{
	if (trace[0])
		strncat(trace, ",", sizeof(trace) - strlen(trace) - 1);
	strncat(trace, what, sizeof(trace) - strlen(trace) - 1);
}

static void
setup(void)
{
	trace[0] = '\0';
	done_calls = 0;
	log_init("check_job");
	log_set_level(LOG_ERROR);
}

static void
on_done(struct job *job, void *arg)
{
	done_calls++;
	trace_add("done");
}

static const struct job_cbs test_cbs = {.on_done = on_done};

static struct job *
make_job(struct ev_loop *loop, const char *args)
{
	struct job_params p;

	memset(&p, 0, sizeof(p));
	p.job_id = "AJ_test";
	p.script = "noop";
	p.script_args = args;
	return job_new(loop, &p, &test_cbs, NULL);
}

static void
hook(struct job *job, const char *reason, void *arg)
{
	trace_add(arg);
	ck_assert_str_eq(reason, job_reason(job));
}

/* The loop must end by itself: no watcher may be left behind. */
static void
run_to_end(struct ev_loop *loop)
{
	ev_run(loop, 0);
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
}

/* ---- shutdown and hooks ---- */

START_TEST(test_shutdown_first_reason_wins)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	ck_assert_ptr_null(job_reason(job));
	ck_assert(!job_is_shutting_down(job));
	job_shutdown(job, "job shutdown");
	job_shutdown(job, "room disconnected");
	job_shutdown(job, "signal SIGTERM");
	ck_assert(job_is_shutting_down(job));
	ck_assert_str_eq(job_reason(job), "job shutdown");
	/* Nothing ran inside job_shutdown: the cascade runs from the loop. */
	ck_assert_int_eq(done_calls, 0);
	run_to_end(loop);
	ck_assert_int_eq(done_calls, 1);
	job_shutdown(job, "late");
	run_to_end(loop);
	ck_assert_int_eq(done_calls, 1);
	ck_assert_str_eq(job_reason(job), "job shutdown");
	ck_assert_int_eq(job_outcome(job), JOB_SUCCESS);
	ck_assert_int_eq(job_exit_code(job), 0);
	ck_assert_str_eq(job_error(job), "");
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_empty_reason_defaults)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_shutdown(job, "");
	ck_assert_str_eq(job_reason(job), "job shutdown");
	run_to_end(loop);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_hooks_once_reverse_order)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	ck_assert_int_eq(job_add_shutdown_hook(job, hook, (void *)"h1"), 0);
	ck_assert_int_eq(job_add_shutdown_hook(job, hook, (void *)"h2"), 0);
	ck_assert_int_eq(job_add_shutdown_hook(job, hook, (void *)"h3"), 0);
	ck_assert_int_eq(job_add_shutdown_hook(job, NULL, NULL), LK_EINVAL);
	job_shutdown(job, "script finished");
	job_shutdown(job, "again");
	run_to_end(loop);
	ck_assert_str_eq(trace, "h3,h2,h1,done");
	/* After the hooks ran a new one is refused and never runs. */
	ck_assert_int_eq(job_add_shutdown_hook(job, hook, (void *)"late"), LK_ECLOSED);
	job_shutdown(job, "again");
	run_to_end(loop);
	ck_assert_str_eq(trace, "h3,h2,h1,done");
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

/* A hook registered while the cascade runs (before the hooks) still runs. */
static void
stage_adds_hook(struct job *job, void *arg)
{
	trace_add("script");
	ck_assert_int_eq(job_add_shutdown_hook(job, hook, (void *)"added-late"), 0);
	job_stage_done(job, JOB_STAGE_SCRIPT);
}

START_TEST(test_hook_added_during_cascade)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_add_shutdown_hook(job, hook, (void *)"h1");
	job_set_stage(job, JOB_STAGE_SCRIPT, stage_adds_hook, NULL);
	job_shutdown(job, "x");
	run_to_end(loop);
	ck_assert_str_eq(trace, "script,added-late,h1,done");
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- the cascade ---- */

struct async_stage {
	struct job *job;
	ev_timer t;
};

static void
async_room_done(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct async_stage *a = w->data;

	trace_add("room-closed");
	job_stage_done(a->job, JOB_STAGE_ROOM);
	/* A second report is harmless. */
	job_stage_done(a->job, JOB_STAGE_ROOM);
}

static void
stage_room(struct job *job, void *arg)
{
	struct async_stage *a = arg;

	trace_add("room");
	a->job = job;
	ev_timer_init(&a->t, async_room_done, 0.01, 0.);
	a->t.data = a;
	ev_timer_start(job_loop(job), &a->t);
}

static void
stage_tracks(struct job *job, void *arg)
{
	trace_add("tracks");
	job_stage_done(job, JOB_STAGE_TRACKS);
}

static void
stage_script(struct job *job, void *arg)
{
	trace_add("script");
	/* A shutdown or failure from inside the cascade changes no reason. */
	job_shutdown(job, "ignored");
	job_stage_done(job, JOB_STAGE_SCRIPT);
}

START_TEST(test_cascade_order)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);
	struct async_stage a;

	job_set_stage(job, JOB_STAGE_SCRIPT, stage_script, NULL);
	job_set_stage(job, JOB_STAGE_TRACKS, stage_tracks, NULL);
	job_set_stage(job, JOB_STAGE_ROOM, stage_room, &a);
	job_add_shutdown_hook(job, hook, (void *)"hook");
	job_shutdown(job, "room disconnected");
	ck_assert_str_eq(trace, "");
	run_to_end(loop);
	ck_assert_str_eq(trace, "room,room-closed,tracks,script,hook,done");
	ck_assert_str_eq(job_reason(job), "room disconnected");
	ck_assert_int_eq(job_outcome(job), JOB_SUCCESS);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

static void
stage_never_done(struct job *job, void *arg)
{
	trace_add("stuck");
}

START_TEST(test_stuck_stage_times_out)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_set_stage(job, JOB_STAGE_ROOM, stage_never_done, NULL);
	job_set_stage(job, JOB_STAGE_SCRIPT, stage_tracks, NULL); /* reports as TRACKS: ignored */
	job_shutdown(job, "job shutdown");
	run_to_end(loop);
	/* The stuck room stage is given up on, the misreporting one too. */
	ck_assert_str_eq(trace, "stuck,tracks,done");
	ck_assert_int_eq(done_calls, 1);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- outcome ---- */

START_TEST(test_fail_sets_outcome_first_error_wins)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_fail(job, "room join failed: HTTP 401");
	job_fail(job, "second error");
	ck_assert_str_eq(job_reason(job), "room join failed: HTTP 401");
	ck_assert_str_eq(job_error(job), "room join failed: HTTP 401");
	run_to_end(loop);
	ck_assert_int_eq(job_outcome(job), JOB_FAILURE);
	ck_assert_int_eq(job_exit_code(job), 1);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

static void
stage_script_fails(struct job *job, void *arg)
{
	job_script_done(job, 0, "script failed: requested");
	job_stage_done(job, JOB_STAGE_SCRIPT);
}

START_TEST(test_failure_during_cascade_keeps_reason)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_set_stage(job, JOB_STAGE_SCRIPT, stage_script_fails, NULL);
	job_shutdown(job, "signal SIGTERM");
	run_to_end(loop);
	ck_assert_str_eq(job_reason(job), "signal SIGTERM");
	ck_assert_int_eq(job_outcome(job), JOB_FAILURE);
	ck_assert_str_eq(job_error(job), "script failed: requested");
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_script_done_ok)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_script_done(job, 1, NULL);
	run_to_end(loop);
	ck_assert_str_eq(job_reason(job), "script finished");
	ck_assert_int_eq(job_outcome(job), JOB_SUCCESS);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_free_without_shutdown)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, NULL);

	job_add_shutdown_hook(job, hook, (void *)"never");
	job_free(job);
	ck_assert_str_eq(trace, "");
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(loop);
}
END_TEST

/* ---- start, scripts and their arguments ---- */

START_TEST(test_script_args)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, "duration=4s  mode=x  durationx=1 k=");
	char v[8];

	ck_assert_int_eq(job_script_arg(job, "duration", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "4s");
	ck_assert_int_eq(job_script_arg(job, "mode", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "x");
	ck_assert_int_eq(job_script_arg(job, "k", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(job_script_arg(job, "dur", v, sizeof(v)), LK_ENOTFOUND);
	ck_assert_int_eq(job_script_arg(job, "durationx", v, 1), LK_ETOOBIG);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_start_unknown_script)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job_params p;
	struct job *job;
	char err[128];

	memset(&p, 0, sizeof(p));
	p.script = "no-such-script";
	p.url = "ws://127.0.0.1:1";
	job = job_new(loop, &p, &test_cbs, NULL);
	ck_assert_int_eq(job_start(job, err, sizeof(err)), LK_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "no-such-script"));
	job_fail(job, err);
	run_to_end(loop);
	ck_assert_int_eq(job_exit_code(job), 1);
	job_free(job);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_start_bad_duration_arg)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job *job = make_job(loop, "duration=soon");
	char err[128];

	ck_assert_int_eq(job_start(job, err, sizeof(err)), LK_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duration"));
	job_free(job);
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(loop);
}
END_TEST

static void
start_fails(const char *script, const char *args, const char *want)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct job_params p;
	struct job *job;
	char err[256];

	memset(&p, 0, sizeof(p));
	p.script = script;
	p.script_args = args;
	p.url = "ws://127.0.0.1:1";
	job = job_new(loop, &p, &test_cbs, NULL);
	ck_assert_int_lt(job_start(job, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
	job_free(job);
	ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0);
	ev_loop_destroy(loop);
}

START_TEST(test_start_bad_media_args)
{
	start_fails("tone", "freq=abc", "bad freq");
	start_fails("tone", "freq=0", "bad freq");
	/* At 24 kHz the highest tone is below 12 kHz. */
	start_fails("tone", "freq=12000", "bad freq");
	start_fails("noop", "rate=44010", "bad script argument rate");
	start_fails("echo", "rate=x", "bad script argument rate");
	start_fails(
	        "record", "dir=/nonexistent/lkworker", "record directory /nonexistent/lkworker");
	start_fails("record", "dir=/dev/null", "record directory /dev/null");
}
END_TEST

START_TEST(test_script_table)
{
	ck_assert_ptr_nonnull(script_find("noop"));
	ck_assert_ptr_nonnull(script_find("crash"));
	ck_assert_ptr_nonnull(script_find("hang"));
	ck_assert_ptr_nonnull(script_find("fail"));
	ck_assert_ptr_nonnull(script_find("tone"));
	ck_assert_ptr_nonnull(script_find("echo"));
	ck_assert_ptr_nonnull(script_find("record"));
	ck_assert_ptr_null(script_find("NOOP"));
	ck_assert_ptr_null(script_find(NULL));
	for (const struct script *s = script_table(); s->name; s++)
		ck_assert_ptr_nonnull(s->start);
}
END_TEST

/* ---- room: URL ---- */

#define Q "?protocol=16&auto_subscribe=1&sdk=cpp&version=" PACKAGE_VERSION "&os=linux"

START_TEST(test_room_url)
{
	char out[512];

	ck_assert_int_eq(room_build_url("ws://127.0.0.1:7880", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ws://127.0.0.1:7880/rtc" Q);
	ck_assert_int_eq(room_build_url("http://h:1/", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ws://h:1/rtc" Q);
	ck_assert_int_eq(room_build_url("HTTPS://lk.example/base//", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "wss://lk.example/base/rtc" Q);
	ck_assert_int_eq(room_build_url("wss://h/p?x=1#frag", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "wss://h/p/rtc" Q "&x=1");
	ck_assert_int_eq(room_build_url("ftp://h", out, sizeof(out)), LK_EINVAL);
	ck_assert_int_eq(room_build_url("ws://", out, sizeof(out)), LK_EINVAL);
	ck_assert_int_eq(room_build_url("ws:///rtc", out, sizeof(out)), LK_EINVAL);
	ck_assert_int_eq(room_build_url("127.0.0.1:7880", out, sizeof(out)), LK_EINVAL);
	ck_assert_int_eq(room_build_url(NULL, out, sizeof(out)), LK_EINVAL);
	ck_assert_int_eq(room_build_url("ws://127.0.0.1:7880", out, 20), LK_ETOOBIG);
}
END_TEST

/* ---- room: SignalResponse handling without a socket ---- */

static int joined_calls, left_calls, pjoined_calls, disc_calls, disc_failed;
static char last_reason[256], last_identity[64];

static void
r_joined(struct room *room, void *arg)
{
	joined_calls++;
}

static void
r_pjoined(struct room *room, const struct room_participant *p, void *arg)
{
	pjoined_calls++;
	strncpy(last_identity, p->identity, sizeof(last_identity) - 1);
}

static void
r_pleft(struct room *room, const struct room_participant *p, void *arg)
{
	left_calls++;
	strncpy(last_identity, p->identity, sizeof(last_identity) - 1);
}

static int sub_calls, unsub_calls;
static char last_track[64], last_track_identity[64];

static void
r_tsub(struct room *room, const struct room_track *t, void *arg)
{
	sub_calls++;
	strncpy(last_track, t->sid, sizeof(last_track) - 1);
	strncpy(last_track_identity, t->participant_identity, sizeof(last_track_identity) - 1);
}

static void
r_tunsub(struct room *room, const struct room_track *t, void *arg)
{
	unsub_calls++;
	strncpy(last_track, t->sid, sizeof(last_track) - 1);
	strncpy(last_track_identity, t->participant_identity, sizeof(last_track_identity) - 1);
}

static void
r_disc(struct room *room, const char *reason, int failed, void *arg)
{
	disc_calls++;
	disc_failed = failed;
	strncpy(last_reason, reason, sizeof(last_reason) - 1);
}

static const struct room_events r_events = {
        .on_joined = r_joined,
        .on_participant_joined = r_pjoined,
        .on_participant_left = r_pleft,
        .on_track_subscribed = r_tsub,
        .on_track_unsubscribed = r_tunsub,
        .on_disconnected = r_disc,
};

static void
room_setup(void)
{
	setup();
	joined_calls = left_calls = pjoined_calls = disc_calls = disc_failed = 0;
	sub_calls = unsub_calls = 0;
	last_reason[0] = last_identity[0] = last_track[0] = last_track_identity[0] = '\0';
}

static void
feed(struct room *room, const livekit_SignalResponse *msg, int want)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_SignalResponse_fields, msg, &b), 0);
	ck_assert_int_eq(room_handle_message(room, b.data, b.len), want);
	buf_free(&b);
}

static void
feed_join(struct room *room, livekit_ParticipantInfo *others, pb_size_t nothers)
{
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_JoinResponse j = livekit_JoinResponse_init_zero;
	livekit_Room r = livekit_Room_init_zero;
	livekit_ParticipantInfo me = livekit_ParticipantInfo_init_zero;

	r.sid = S("RM_abc");
	r.name = S("demo");
	me.sid = S("PA_me");
	me.identity = S("agent-1");
	j.room = &r;
	j.participant = &me;
	j.other_participants = others;
	j.other_participants_count = nothers;
	j.ping_interval = 5;
	j.ping_timeout = 15;
	msg.which_message = livekit_SignalResponse_join_tag;
	msg.message.join = &j;
	feed(room, &msg, 0);
}

static void
feed_update(struct room *room, const char *sid, const char *identity, int state)
{
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_ParticipantUpdate u = livekit_ParticipantUpdate_init_zero;
	livekit_ParticipantInfo p = livekit_ParticipantInfo_init_zero;

	p.sid = S(sid);
	p.identity = S(identity);
	p.state = state;
	u.participants = &p;
	u.participants_count = 1;
	msg.which_message = livekit_SignalResponse_update_tag;
	msg.message.update = &u;
	feed(room, &msg, 0);
}

static void
closed(struct room *room, void *arg)
{
	trace_add("closed");
}

static void
close_and_free(struct ev_loop *loop, struct room *room)
{
	room_close(room, closed, NULL);
	ck_assert_str_eq(trace, ""); /* done comes from the loop */
	run_to_end(loop);
	ck_assert_str_eq(trace, "closed");
	room_free(room);
	ev_loop_destroy(loop);
}

START_TEST(test_room_join_and_participants)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_ParticipantInfo others[2] = {
	        livekit_ParticipantInfo_init_zero, livekit_ParticipantInfo_init_zero};

	others[0].sid = S("PA_a");
	others[0].identity = S("alice");
	others[1].sid = S("PA_gone");
	others[1].identity = S("ghost");
	others[1].state = livekit_ParticipantInfo_State_DISCONNECTED;
	room_expect_join(room);
	ck_assert(!room_is_joined(room));
	feed_join(room, others, 2);
	ck_assert_int_eq(joined_calls, 1);
	ck_assert(room_is_joined(room));
	ck_assert_str_eq(room_sid(room), "RM_abc");
	ck_assert_str_eq(room_name(room), "demo");
	ck_assert_str_eq(room_local_sid(room), "PA_me");
	ck_assert_str_eq(room_local_identity(room), "agent-1");
	ck_assert_uint_eq(room_participant_count(room), 1);
	ck_assert_str_eq(room_participant_at(room, 0)->identity, "alice");
	ck_assert_ptr_null(room_participant_at(room, 1));

	feed_update(room, "PA_b", "bob", livekit_ParticipantInfo_State_ACTIVE);
	ck_assert_int_eq(pjoined_calls, 1);
	ck_assert_str_eq(last_identity, "bob");
	ck_assert_uint_eq(room_participant_count(room), 2);
	/* The same participant again is an update, not a join; ourselves is skipped. */
	feed_update(room, "PA_b", "bob", livekit_ParticipantInfo_State_ACTIVE);
	feed_update(room, "PA_me", "agent-1", livekit_ParticipantInfo_State_ACTIVE);
	ck_assert_int_eq(pjoined_calls, 1);
	ck_assert_uint_eq(room_participant_count(room), 2);

	feed_update(room, "PA_a", "alice", livekit_ParticipantInfo_State_DISCONNECTED);
	ck_assert_int_eq(left_calls, 1);
	ck_assert_str_eq(last_identity, "alice");
	ck_assert_uint_eq(room_participant_count(room), 1);
	feed_update(room, "PA_a", "alice", livekit_ParticipantInfo_State_DISCONNECTED);
	ck_assert_int_eq(left_calls, 1);
	ck_assert_int_eq(disc_calls, 0);
	close_and_free(loop, room);
	ck_assert_int_eq(disc_calls, 0); /* room_close reports through done only */
}
END_TEST

START_TEST(test_room_first_message_must_be_join)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;

	room_expect_join(room);
	msg.which_message = livekit_SignalResponse_pong_tag;
	msg.message.pong = 7;
	feed(room, &msg, LK_EINVAL);
	ck_assert_int_eq(disc_calls, 1);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_ptr_nonnull(strstr(last_reason, "room join failed"));
	ck_assert_int_eq(joined_calls, 0);
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_join_without_participant)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_JoinResponse j = livekit_JoinResponse_init_zero;
	livekit_Room r = livekit_Room_init_zero;

	r.sid = S("RM_x");
	j.room = &r;
	msg.which_message = livekit_SignalResponse_join_tag;
	msg.message.join = &j;
	room_expect_join(room);
	feed(room, &msg, LK_EINVAL);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_ptr_nonnull(strstr(last_reason, "participant"));
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_malformed_message)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	/* Field 1 (join), length-delimited, claims 100 bytes but has 2. */
	static const uint8_t bad[] = {0x0a, 0x64, 0x01, 0x02};

	room_expect_join(room);
	feed_join(room, NULL, 0);
	ck_assert_int_lt(room_handle_message(room, bad, sizeof(bad)), 0);
	ck_assert_int_eq(disc_calls, 1);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_ptr_nonnull(strstr(last_reason, "malformed signal message"));
	ck_assert(!room_is_joined(room));
	/* After the end nothing more is reported. */
	feed_update(room, "PA_b", "bob", livekit_ParticipantInfo_State_ACTIVE);
	ck_assert_int_eq(pjoined_calls, 0);
	ck_assert_int_eq(disc_calls, 1);
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_server_leave)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_LeaveRequest l = livekit_LeaveRequest_init_zero;

	room_expect_join(room);
	feed_join(room, NULL, 0);
	l.reason = livekit_DisconnectReason_ROOM_DELETED;
	msg.which_message = livekit_SignalResponse_leave_tag;
	msg.message.leave = &l;
	feed(room, &msg, 0);
	ck_assert_int_eq(disc_calls, 1);
	ck_assert_int_eq(disc_failed, 0);
	ck_assert_str_eq(last_reason, "room disconnected: ROOM_DELETED");
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_pong_ignored)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_Pong pong = livekit_Pong_init_zero;

	room_expect_join(room);
	feed_join(room, NULL, 0);
	ck_assert_int_eq(room_rtt_ms(room), -1);
	pong.last_ping_timestamp = 1; /* far in the past: not a plausible rtt */
	msg.which_message = livekit_SignalResponse_pong_resp_tag;
	msg.message.pong_resp = &pong;
	feed(room, &msg, 0);
	ck_assert_int_eq(room_rtt_ms(room), -1);
	ck_assert(room_is_joined(room));
	ck_assert_int_eq(disc_calls, 0);
	close_and_free(loop, room);
}
END_TEST

static void
feed_sdp(struct room *room, int offer, const char *type, const char *sdp, int want)
{
	livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
	livekit_SessionDescription sd = livekit_SessionDescription_init_zero;

	sd.type = S(type);
	sd.sdp = S(sdp);
	sd.id = 3;
	msg.which_message =
	        offer ? livekit_SignalResponse_offer_tag : livekit_SignalResponse_answer_tag;
	if (offer)
		msg.message.offer = &sd;
	else
		msg.message.answer = &sd;
	feed(room, &msg, want);
}

/* A subscriber offer in the dev server's shape: data section, then one Opus slot. */
#define T_FP                                                                                         \
	"3D:39:1B:09:2C:F7:02:B4:22:9F:84:08:DB:BD:D1:69:43:39:EC:E5:97:AF:C0:DF:E3:DA:C6:14:1E:1A:" \
	"0F:31"
#define T_OFFER_HEAD                                                                               \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"                        \
	"a=group:BUNDLE 0 1\r\n"                                                                   \
	"a=ice-ufrag:srvu\r\na=ice-pwd:serverpasswordserverpassword\r\n"                           \
	"a=fingerprint:sha-256 " T_FP "\r\na=setup:actpass\r\n"                                    \
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"      \
	"a=sctp-port:5000\r\n"                                                                     \
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtcp-mux\r\n"         \
	"a=rtpmap:111 opus/48000/2\r\n"
#define T_BOUND(pa, tr) "a=sendonly\r\na=msid:" pa "|" tr " " tr "\r\na=ssrc:1234 cname:" pa "\r\n"

START_TEST(test_room_offer_tracks)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);
	livekit_ParticipantInfo alice = livekit_ParticipantInfo_init_zero;
	struct media_stats ms;

	alice.sid = S("PA_alice");
	alice.identity = S("alice");
	room_expect_join(room);
	feed_join(room, &alice, 1);
	/* The first offer carries alice's track: answered, track subscribed. */
	feed_sdp(room, 1, "offer", T_OFFER_HEAD T_BOUND("PA_alice", "TR_AMa"), 0);
	ck_assert_int_eq(sub_calls, 1);
	ck_assert_str_eq(last_track, "TR_AMa");
	ck_assert_str_eq(last_track_identity, "alice");
	media_get_stats(room_media(room), &ms);
	ck_assert_uint_eq(ms.tracks, 1);
	/* The same offer again (a renegotiation for someone else) changes nothing. */
	feed_sdp(room, 1, "offer", T_OFFER_HEAD T_BOUND("PA_alice", "TR_AMa"), 0);
	ck_assert_int_eq(sub_calls, 1);
	ck_assert_int_eq(unsub_calls, 0);
	/* The m-line recycled for bob (announced first, §2.7): alice's track ends. */
	feed_update(room, "PA_bob", "bob", livekit_ParticipantInfo_State_ACTIVE);
	feed_sdp(room, 1, "offer", T_OFFER_HEAD T_BOUND("PA_bob", "TR_AMb"), 0);
	ck_assert_int_eq(unsub_calls, 1);
	ck_assert_int_eq(sub_calls, 2);
	ck_assert_str_eq(last_track, "TR_AMb");
	ck_assert_str_eq(last_track_identity, "bob");
	/* The slot goes inactive: bob's track ends. */
	feed_sdp(room, 1, "offer", T_OFFER_HEAD "a=inactive\r\n", 0);
	ck_assert_int_eq(unsub_calls, 2);
	ck_assert_str_eq(last_track, "TR_AMb");
	media_get_stats(room_media(room), &ms);
	ck_assert_uint_eq(ms.tracks, 0);
	/* Trickle and answers without a pending offer are taken in stride. */
	{
		livekit_SignalResponse msg = livekit_SignalResponse_init_zero;
		livekit_TrickleRequest tr = livekit_TrickleRequest_init_zero;

		tr.candidateInit = S("{\"candidate\":\"candidate:1 1 udp 1 10.0.0.1 9 typ host\","
		                     "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}");
		tr.target = livekit_SignalTarget_SUBSCRIBER;
		msg.which_message = livekit_SignalResponse_trickle_tag;
		msg.message.trickle = &tr;
		feed(room, &msg, 0);
		tr.candidateInit = S("not json");
		feed(room, &msg, 0);
	}
	feed_sdp(room, 0, "answer", T_OFFER_HEAD, 0);
	ck_assert(room_is_joined(room));
	ck_assert_int_eq(disc_calls, 0);
	/* Stopping the media ends nothing more (no track left). */
	media_stop(room_media(room));
	ck_assert_int_eq(unsub_calls, 2);
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_stop_ends_tracks)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);

	room_expect_join(room);
	feed_join(room, NULL, 0);
	/* A participant the room does not know yet: identity stays "". */
	feed_sdp(room, 1, "offer", T_OFFER_HEAD T_BOUND("PA_unknown", "TR_AMu"), 0);
	ck_assert_int_eq(sub_calls, 1);
	ck_assert_str_eq(last_track_identity, "");
	media_stop(room_media(room));
	ck_assert_int_eq(unsub_calls, 1);
	ck_assert_str_eq(last_track, "TR_AMu");
	/* Signalling after the stop is ignored. */
	feed_sdp(room, 1, "offer", T_OFFER_HEAD T_BOUND("PA_unknown", "TR_AMv"), 0);
	ck_assert_int_eq(sub_calls, 1);
	close_and_free(loop, room);
}
END_TEST

/* Regression: an offer we cannot parse used to be ignored; now it fails the room. */
START_TEST(test_room_malformed_offer_fails)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);

	room_expect_join(room);
	feed_join(room, NULL, 0);
	feed_sdp(room, 1, "offer", "v=0\r\n", LK_EINVAL);
	ck_assert_int_eq(disc_calls, 1);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_msg(strncmp(last_reason, "malformed SDP from server: ", 27) == 0, "reason: %s",
	        last_reason);
	ck_assert(!room_is_joined(room));
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_unanswerable_offer_fails)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);

	room_expect_join(room);
	feed_join(room, NULL, 0);
	/* Parses, but has no fingerprint: no DTLS possible. */
	feed_sdp(room, 1, "offer",
	        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	        "a=ice-ufrag:srvu\r\na=ice-pwd:serverpasswordserverpassword\r\n"
	        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
	        "a=mid:0\r\na=sctp-port:5000\r\n",
	        LK_EINVAL);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_ptr_nonnull(strstr(last_reason, "malformed SDP from server: "));
	ck_assert_ptr_nonnull(strstr(last_reason, "fingerprint"));
	close_and_free(loop, room);
}
END_TEST

START_TEST(test_room_sdp_type_mismatch_fails)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct room *room = room_new(loop, &r_events, NULL);

	room_expect_join(room);
	feed_join(room, NULL, 0);
	feed_sdp(room, 1, "pranswer", T_OFFER_HEAD, LK_EINVAL);
	ck_assert_int_eq(disc_failed, 1);
	ck_assert_ptr_nonnull(strstr(last_reason, "malformed SDP from server"));
	close_and_free(loop, room);
}
END_TEST

/* ---- lk-jobproc --ipc, driven as lk-supervisor drives it ---- */

struct child {
	pid_t pid;
	int fd;
};

static void
spawn_jobproc(struct child *c)
{
	const char *bd = getenv("LK_BUILDDIR");
	char path[1024];
	int sv[2];

	snprintf(path, sizeof(path), "%s/lk-jobproc", bd ? bd : LK_BUILDDIR);
	ck_assert_msg(access(path, X_OK) == 0, "%s is not built", path);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		/* dup2 leaves the new fd 3 without close-on-exec. */
		if (dup2(sv[1], IPC_FD) < 0)
			_exit(127);
		execl(path, "lk-jobproc", "--ipc", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	c->fd = sv[0];
}

static void
send_msg(struct child *c, const struct ipc_msg *m)
{
	uint8_t buf[4096];
	int n = ipc_pack(m, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(send(c->fd, buf, (size_t)n, 0), n);
}

/* Next message other than STATUS; 0 at EOF. String views point into buf. */
static int
recv_msg(struct child *c, struct ipc_msg *m, uint8_t *buf, size_t cap)
{
	for (;;) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		ssize_t n;

		ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
		n = recv(c->fd, buf, cap, 0);
		if (n == 0)
			return 0;
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(ipc_unpack(buf, (size_t)n, m), 0);
		if (m->type != IPC_STATUS)
			return 1;
	}
}

static void
expect_msg(struct child *c, enum ipc_type type, struct ipc_msg *m, uint8_t *buf, size_t cap)
{
	ck_assert_int_eq(recv_msg(c, m, buf, cap), 1);
	ck_assert_str_eq(ipc_type_name(m->type), ipc_type_name(type));
}

static int
wait_child(struct child *c)
{
	int status = 0;

	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	close(c->fd);
	ck_assert_msg(WIFEXITED(status), "lk-jobproc did not exit normally (status %d)", status);
	return WEXITSTATUS(status);
}

static int
str_has(struct ipc_str s, const char *needle)
{
	char tmp[512];
	size_t n = s.len < sizeof(tmp) - 1 ? s.len : sizeof(tmp) - 1;

	memcpy(tmp, s.ptr, n);
	tmp[n] = '\0';
	return strstr(tmp, needle) != NULL;
}

static void
init_child(struct child *c)
{
	struct ipc_msg m;
	uint8_t buf[4096];

	memset(&m, 0, sizeof(m));
	m.type = IPC_INIT;
	m.u.init.ping_interval_ms = 2500;
	m.u.init.ping_timeout_ms = 60000;
	m.u.init.log_level = ipc_cstr("error");
	m.u.init.log_format = ipc_cstr("json");
	send_msg(c, &m);
	expect_msg(c, IPC_INIT_OK, &m, buf, sizeof(buf));
	ck_assert_int_eq(m.u.init_ok.pid, c->pid);
}

static void
start_job(struct child *c, const char *script, const char *url)
{
	livekit_Job job = livekit_Job_init_zero;
	livekit_Room r = livekit_Room_init_zero;
	struct ipc_msg m;
	struct buf b;

	job.id = S("AJ_supervised");
	r.name = S("room-s");
	job.room = &r;
	buf_init(&b, 0);
	ck_assert_int_eq(lkpb_encode(livekit_Job_fields, &job, &b), 0);
	memset(&m, 0, sizeof(m));
	m.type = IPC_START_JOB;
	m.u.start_job.job.ptr = (const char *)b.data;
	m.u.start_job.job.len = (uint32_t)b.len;
	m.u.start_job.url = ipc_cstr(url);
	m.u.start_job.token = ipc_cstr("x.y.z");
	m.u.start_job.identity = ipc_cstr("agent-AJ_supervised");
	m.u.start_job.worker_id = ipc_cstr("AW_test");
	m.u.start_job.script = ipc_cstr(script);
	send_msg(c, &m);
	buf_free(&b);
}

START_TEST(test_ipc_init_ping_shutdown)
{
	struct child c;
	struct ipc_msg m;
	uint8_t buf[4096];

	spawn_jobproc(&c);
	init_child(&c);
	memset(&m, 0, sizeof(m));
	m.type = IPC_PING;
	m.u.ping.ts_ms = 123456;
	send_msg(&c, &m);
	expect_msg(&c, IPC_PONG, &m, buf, sizeof(buf));
	ck_assert_int_eq(m.u.pong.last_ts_ms, 123456);
	ck_assert_int_gt(m.u.pong.ts_ms, 0);
	ck_assert_uint_gt(m.u.pong.rss_kb, 0);

	memset(&m, 0, sizeof(m));
	m.type = IPC_SHUTDOWN;
	m.u.shutdown.reason = ipc_cstr("drain");
	send_msg(&c, &m);
	expect_msg(&c, IPC_SHUTDOWN_ACK, &m, buf, sizeof(buf));
	expect_msg(&c, IPC_EXITING, &m, buf, sizeof(buf));
	ck_assert(str_has(m.u.exiting.reason, "drain"));
	ck_assert_int_eq(m.u.exiting.outcome, IPC_OUTCOME_SUCCESS);
	ck_assert_int_eq(recv_msg(&c, &m, buf, sizeof(buf)), 0);
	ck_assert_int_eq(wait_child(&c), 0);
}
END_TEST

START_TEST(test_ipc_unknown_script_fails)
{
	struct child c;
	struct ipc_msg m;
	uint8_t buf[4096];

	spawn_jobproc(&c);
	init_child(&c);
	start_job(&c, "no-such-script", "ws://127.0.0.1:1");
	expect_msg(&c, IPC_EXITING, &m, buf, sizeof(buf));
	ck_assert_int_eq(m.u.exiting.outcome, IPC_OUTCOME_FAILURE);
	ck_assert(str_has(m.u.exiting.error, "unknown script"));
	ck_assert_int_eq(wait_child(&c), 1);
}
END_TEST

START_TEST(test_ipc_room_join_failure)
{
	struct child c;
	struct ipc_msg m;
	uint8_t buf[4096];
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char url[64];

	/* A port with nobody listening: bind one, never listen. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&ss, &sl), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u",
	        ntohs(((struct sockaddr_in *)&ss)->sin_port));

	spawn_jobproc(&c);
	init_child(&c);
	start_job(&c, "noop", url);
	expect_msg(&c, IPC_EXITING, &m, buf, sizeof(buf));
	close(s);
	ck_assert_int_eq(m.u.exiting.outcome, IPC_OUTCOME_FAILURE);
	ck_assert(str_has(m.u.exiting.error, "room join failed"));
	ck_assert_int_eq(wait_child(&c), 1);
}
END_TEST

START_TEST(test_ipc_sigterm_idle)
{
	struct child c;
	struct ipc_msg m;
	uint8_t buf[4096];

	spawn_jobproc(&c);
	init_child(&c);
	/* SIGINT belongs to the supervisor: ignored. SIGTERM ends the process. */
	kill(c.pid, SIGINT);
	kill(c.pid, SIGTERM);
	expect_msg(&c, IPC_EXITING, &m, buf, sizeof(buf));
	ck_assert(str_has(m.u.exiting.reason, "signal SIGTERM"));
	ck_assert_int_eq(wait_child(&c), 0);
}
END_TEST

START_TEST(test_ipc_supervisor_eof)
{
	struct child c;

	spawn_jobproc(&c);
	init_child(&c);
	/* Orphan protection: the supervisor's end closes, the process leaves. */
	shutdown(c.fd, SHUT_RDWR);
	ck_assert_int_eq(wait_child(&c), 0);
}
END_TEST

START_TEST(test_ipc_malformed_message)
{
	struct child c;
	static const uint8_t junk[] = {0xc1, 0xff, 0x00};

	spawn_jobproc(&c);
	init_child(&c);
	ck_assert_int_eq(send(c.fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	ck_assert_int_eq(wait_child(&c), 0);
}
END_TEST

static Suite *
job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("context");
	TCase *tr = tcase_create("room");
	TCase *ts = tcase_create("supervised");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_shutdown_first_reason_wins);
	tcase_add_test(tc, test_empty_reason_defaults);
	tcase_add_test(tc, test_hooks_once_reverse_order);
	tcase_add_test(tc, test_hook_added_during_cascade);
	tcase_add_test(tc, test_cascade_order);
	tcase_add_test(tc, test_stuck_stage_times_out);
	tcase_add_test(tc, test_fail_sets_outcome_first_error_wins);
	tcase_add_test(tc, test_failure_during_cascade_keeps_reason);
	tcase_add_test(tc, test_script_done_ok);
	tcase_add_test(tc, test_free_without_shutdown);
	tcase_add_test(tc, test_script_args);
	tcase_add_test(tc, test_start_unknown_script);
	tcase_add_test(tc, test_start_bad_duration_arg);
	tcase_add_test(tc, test_start_bad_media_args);
	tcase_add_test(tc, test_script_table);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tr, room_setup, NULL);
	tcase_add_test(tr, test_room_url);
	tcase_add_test(tr, test_room_join_and_participants);
	tcase_add_test(tr, test_room_first_message_must_be_join);
	tcase_add_test(tr, test_room_join_without_participant);
	tcase_add_test(tr, test_room_malformed_message);
	tcase_add_test(tr, test_room_server_leave);
	tcase_add_test(tr, test_room_pong_ignored);
	tcase_add_test(tr, test_room_offer_tracks);
	tcase_add_test(tr, test_room_stop_ends_tracks);
	tcase_add_test(tr, test_room_malformed_offer_fails);
	tcase_add_test(tr, test_room_unanswerable_offer_fails);
	tcase_add_test(tr, test_room_sdp_type_mismatch_fails);
	suite_add_tcase(s, tr);

	tcase_set_timeout(ts, 60);
	tcase_add_checked_fixture(ts, setup, NULL);
	tcase_add_test(ts, test_ipc_init_ping_shutdown);
	tcase_add_test(ts, test_ipc_unknown_script_fails);
	tcase_add_test(ts, test_ipc_room_join_failure);
	tcase_add_test(ts, test_ipc_sigterm_idle);
	tcase_add_test(ts, test_ipc_supervisor_eof);
	tcase_add_test(ts, test_ipc_malformed_message);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(job_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
