/*
 * scripts: the job script registry of lk-jobproc and the built-in scripts:
 * noop (join and wait); tone, echo and record, which publish and listen
 * through the media (media.h, tap.h); and crash, hang and fail, which
 * misbehave on purpose after joining so that the supervisor's handling can
 * be tested.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/analyze.h"
#include "audio/ring.h"
#include "audio/tone.h"
#include "audio/wav.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "jobproc/job.h"
#include "jobproc/media.h"
#include "jobproc/pipeline.h"
#include "jobproc/scripts.h"
#include "jobproc/tap.h"

/* A frame above this level is sound (speech, a tone), not silence or noise. */
#define SCRIPT_SOUND_DBFS (-50.0)

/* ---- noop: join, then wait for --duration, the room's end or a shutdown ---- */

static int
script_noop_start(struct job *job, const char *args, char *err, size_t errlen)
{
	return 0;
}

/* ---- tone: publish a sine ("freq=F", default 440 Hz) ---- */

#define SCRIPT_TONE_FREQ 440.0
/* -10 dBFS peak: clearly audible, far from clipping after Opus. */
#define SCRIPT_TONE_AMPLITUDE 0.3

static void
script_tone_fill(int16_t *pcm, size_t n, void *arg)
{
	aud_tone_fill(arg, pcm, n);
}

static int
script_tone_start(struct job *job, const char *args, char *err, size_t errlen)
{
	struct media *m = job_media(job);
	int rate = media_script_rate(m);
	struct media_source src;
	struct aud_tone *tone;
	double freq = SCRIPT_TONE_FREQ;
	char val[64], *end = NULL;
	int rc;

	rc = job_script_arg(job, "freq", val, sizeof(val));
	if (rc == 0) {
		freq = strtod(val, &end);
		if (!end || end == val || *end)
			freq = -1;
	}
	if (rc == LK_ETOOBIG || freq <= 0 || freq >= rate / 2.) {
		snprintf(err, errlen, "bad freq: expected a frequency in Hz between 0 and %d",
		        rate / 2);
		return LK_EINVAL;
	}
	tone = aud_tone_new(freq, SCRIPT_TONE_AMPLITUDE, rate, &rc);
	if (!tone) {
		snprintf(err, errlen, "tone generator: %s", lk_strerror(rc));
		return rc;
	}
	job_set_script_data(job, tone);
	src.fill = script_tone_fill;
	src.arg = tone;
	/* The track is announced with add_track as soon as the room is joined. */
	rc = media_publish(m, &src);
	if (rc < 0) {
		snprintf(err, errlen, "publish: %s", lk_strerror(rc));
		return rc;
	}
	log_info("tone script publishing", "freq_hz", log_fmt("%.1f", freq));
	return 0;
}

static void
script_tone_stop(struct job *job)
{
	/* The tracks stage already stopped the pacer that called fill. */
	aud_tone_free(job_script_data(job));
	job_set_script_data(job, NULL);
}

/* ---- echo: publish back what the current speaker says ---- */

/*
 * Echo follows one speaker, not a mix: the track that most recently sent
 * speech (a frame above SCRIPT_SOUND_DBFS) takes the output once the
 * current one has been quiet for SCRIPT_ECHO_HOLD_MS; other tracks are not
 * heard. With one participant this plays back exactly what it sent,
 * delayed by the ring plus the network.
 *
 * The ring adds as little delay as the arrivals allow. It starts playing
 * with the first frame, so a frame waits only for the next tick of the
 * 20 ms pacer. Each late frame (an underrun) adds one frame of delay, and
 * delay that has not been needed for SCRIPT_ECHO_TRIM_AFTER frames is
 * taken away again by dropping one frame (see aud_ring_pop). A fixed
 * prefill of 3 frames cost 40-60 ms on every echo instead, and 60 ms more
 * after each underrun.
 */
#define SCRIPT_ECHO_HOLD_MS 1000
#define SCRIPT_ECHO_RING_FRAMES 50 /* 1 s */
#define SCRIPT_ECHO_PREFILL 1
#define SCRIPT_ECHO_TRIM_AFTER 250 /* 5 s */

struct script_echo {
	struct tap tap;
	struct aud_ring *ring;
	char speaker[MEDIA_ID_MAX]; /* track sid followed, "" for none */
	int64_t speaker_loud_ms; /* last speech frame of the speaker */
	uint64_t switches;
};

static void
script_echo_frame(const struct room_track *t, const int16_t *pcm, size_t n, void *arg)
{
	struct script_echo *e = arg;
	int loud;

	if (n != aud_ring_frame_samples(e->ring))
		return;
	loud = aud_analyze_rms_dbfs(pcm, n) > SCRIPT_SOUND_DBFS;
	if (strcmp(e->speaker, t->sid) != 0) {
		int64_t now = lk_mono_ms();
		if (!loud || (e->speaker[0] && now - e->speaker_loud_ms < SCRIPT_ECHO_HOLD_MS))
			return;
		lk_strlcpy(e->speaker, t->sid, sizeof(e->speaker));
		/* The old speaker's tail would only delay the new one. */
		aud_ring_clear(e->ring);
		e->switches++;
		log_info("echo follows speaker", "track_sid", t->sid, "identity",
		        t->participant_identity);
	}
	if (loud)
		e->speaker_loud_ms = lk_mono_ms();
	aud_ring_push_at(e->ring, pcm, pipeline_mono_us());
}

static void
script_echo_end(const struct room_track *t, void *arg)
{
	struct script_echo *e = arg;

	if (strcmp(e->speaker, t->sid) == 0)
		e->speaker[0] = '\0';
}

static void
script_echo_fill(int16_t *pcm, size_t n, void *arg)
{
	struct script_echo *e = arg;

	/* Silence while nothing is buffered (aud_ring_pop_at fills it). */
	aud_ring_pop_at(e->ring, pcm, pipeline_mono_us());
}

static int
script_echo_start(struct job *job, const char *args, char *err, size_t errlen)
{
	struct media *m = job_media(job);
	struct script_echo *e = lk_xcalloc(1, sizeof(*e));
	struct aud_ring_opts ro;
	struct media_source src;
	int rc = 0;

	memset(&ro, 0, sizeof(ro));
	ro.frame_samples = PIPELINE_FRAME_SAMPLES(media_script_rate(m));
	ro.capacity = SCRIPT_ECHO_RING_FRAMES;
	ro.prefill = SCRIPT_ECHO_PREFILL;
	ro.trim_after = SCRIPT_ECHO_TRIM_AFTER;
	ro.rate = media_script_rate(m);
	e->ring = aud_ring_new(&ro, &rc);
	if (!e->ring) {
		free(e);
		snprintf(err, errlen, "echo ring: %s", lk_strerror(rc));
		return rc;
	}
	e->tap.on_frame = script_echo_frame;
	e->tap.on_end = script_echo_end;
	e->tap.arg = e;
	job_set_script_data(job, e);
	rc = media_add_tap(m, &e->tap);
	if (rc == 0) {
		src.fill = script_echo_fill;
		src.arg = e;
		rc = media_publish(m, &src);
	}
	if (rc < 0) {
		snprintf(err, errlen, "echo setup: %s", lk_strerror(rc));
		return rc;
	}
	return 0;
}

static void
script_echo_stop(struct job *job)
{
	struct script_echo *e = job_script_data(job);
	struct aud_ring_stats st;

	if (!e)
		return;
	media_remove_tap(job_media(job), &e->tap);
	aud_ring_get_stats(e->ring, &st);
	log_info("echo script stopped", "frames_in", log_fmt("%llu", (unsigned long long)st.pushed),
	        "frames_out", log_fmt("%llu", (unsigned long long)st.popped), "underruns",
	        log_fmt("%llu", (unsigned long long)st.underruns), "overflows",
	        log_fmt("%llu", (unsigned long long)st.overflows), "trims",
	        log_fmt("%llu", (unsigned long long)st.trims), "wait_ms",
	        log_fmt("%.1f", st.wait_ms), "wait_max_ms", log_fmt("%.1f", st.wait_max_ms),
	        "jitter_ms", log_fmt("%.1f", st.jitter_ms), "speaker_switches",
	        log_fmt("%llu", (unsigned long long)e->switches));
	aud_ring_free(e->ring);
	free(e);
	job_set_script_data(job, NULL);
}

/* ---- record: one WAV per participant ("dir=D") ---- */

/*
 * <dir>/<room>-<identity>.wav, 16-bit mono at the script rate, from the
 * participant's first audio track (a second track of the same participant
 * is not mixed in; when the first ends, the next one continues the file).
 * A write error (full disk, file-size limit) fails the job.
 *
 * What was heard is also summed up in the log when the file is closed: the
 * dominant frequency and the level of the first SCRIPT_RECORD_HEARD_S
 * seconds of sound (frames above SCRIPT_SOUND_DBFS), kept in a
 * buffer made with the file, so frames still allocate nothing.
 */
#define SCRIPT_RECORD_MAX_FILES 64
#define SCRIPT_RECORD_HEARD_S 2

struct script_rec_file {
	char key[256]; /* participant identity (or sid when unknown) */
	char track[MEDIA_ID_MAX]; /* the track written, "" when it ended */
	char path[PATH_MAX + 512]; /* dir + "/" + room + "-" + identity + ".wav" */
	struct aud_wav_writer *w;
	int16_t *heard; /* the first sound, for the summary */
	size_t heard_n, heard_cap;
};

struct script_record {
	struct tap tap;
	struct job *job;
	char dir[PATH_MAX];
	int failed;
	struct script_rec_file files[SCRIPT_RECORD_MAX_FILES];
	int n;
};

/* Keep a name component safe: [A-Za-z0-9._-], anything else becomes '_'. */
static void
script_record_clean(char *out, size_t outlen, const char *in)
{
	size_t i = 0;

	for (; *in && i + 1 < outlen && i < 120; in++) {
		char c = *in;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		out[i++] = ok ? c : '_';
	}
	if (i == 0 && outlen > 1)
		out[i++] = '_';
	out[i] = '\0';
	/* Never "." or "..": a leading dot becomes '_'. */
	if (out[0] == '.')
		out[0] = '_';
}

static void
script_record_fail(struct script_record *r, const char *path, int rc)
{
	char msg[PATH_MAX + 640];

	if (r->failed)
		return;
	r->failed = 1;
	snprintf(msg, sizeof(msg), "record: cannot write %s: %s", path,
	        rc < 0 && rc > -4096 ? strerror(-rc) : lk_strerror(rc));
	job_fail(r->job, msg);
}

static struct script_rec_file *
script_record_file(struct script_record *r, const struct room_track *t)
{
	const char *key = t->participant_identity && *t->participant_identity
	        ? t->participant_identity
	        : (*t->participant_sid ? t->participant_sid : t->sid);
	const char *room = room_name(job_room(r->job));
	char croom[128], ckey[128];
	struct script_rec_file *f;
	int rc = 0;

	for (int i = 0; i < r->n; i++)
		if (strcmp(r->files[i].key, key) == 0)
			return &r->files[i];
	if (r->n == SCRIPT_RECORD_MAX_FILES)
		return NULL;
	if (!*room && job_params(r->job)->room_name)
		room = job_params(r->job)->room_name;
	f = &r->files[r->n];
	memset(f, 0, sizeof(*f));
	lk_strlcpy(f->key, key, sizeof(f->key));
	script_record_clean(croom, sizeof(croom), *room ? room : "room");
	script_record_clean(ckey, sizeof(ckey), key);
	snprintf(f->path, sizeof(f->path), "%s/%s-%s.wav", r->dir, croom, ckey);
	f->w = aud_wav_writer_new(f->path, media_script_rate(job_media(r->job)), &rc);
	if (!f->w) {
		script_record_fail(r, f->path, rc);
		return NULL;
	}
	f->heard_cap = (size_t)media_script_rate(job_media(r->job)) * SCRIPT_RECORD_HEARD_S;
	f->heard = lk_xmalloc(f->heard_cap * sizeof(int16_t));
	r->n++;
	log_info("recording participant", "identity", key, "path", f->path);
	return f;
}

static void
script_record_frame(const struct room_track *t, const int16_t *pcm, size_t n, void *arg)
{
	struct script_record *r = arg;
	struct script_rec_file *f;
	int rc;

	if (r->failed)
		return;
	f = script_record_file(r, t);
	if (!f)
		return;
	if (!f->track[0])
		lk_strlcpy(f->track, t->sid, sizeof(f->track));
	else if (strcmp(f->track, t->sid) != 0)
		return;
	rc = aud_wav_writer_write(f->w, pcm, n);
	if (rc < 0)
		script_record_fail(r, f->path, rc);
	if (f->heard_cap - f->heard_n >= n && aud_analyze_rms_dbfs(pcm, n) > SCRIPT_SOUND_DBFS) {
		memcpy(f->heard + f->heard_n, pcm, n * sizeof(int16_t));
		f->heard_n += n;
	}
}

/* "heard_hz" and "level_dbfs" of a file's first sound, for its last log line. */
static void
script_record_summary(const struct script_rec_file *f, int rate, char *hz, size_t hzlen,
        char *level, size_t levellen)
{
	double freq = 0;

	snprintf(hz, hzlen, "none");
	snprintf(level, levellen, "none");
	if (f->heard_n == 0)
		return;
	/* 50 Hz up to just below Nyquist: voice and test tones alike. */
	if (aud_analyze_peak(f->heard, f->heard_n, rate, 50, rate / 2.0 - 1, &freq) == 0)
		snprintf(hz, hzlen, "%.1f", freq);
	snprintf(level, levellen, "%.1f", aud_analyze_rms_dbfs(f->heard, f->heard_n));
}

static void
script_record_end(const struct room_track *t, void *arg)
{
	struct script_record *r = arg;

	for (int i = 0; i < r->n; i++)
		if (strcmp(r->files[i].track, t->sid) == 0)
			r->files[i].track[0] = '\0';
}

static int
script_record_start(struct job *job, const char *args, char *err, size_t errlen)
{
	struct script_record *r;
	struct stat st;
	char dir[PATH_MAX];
	int rc;

	rc = job_script_arg(job, "dir", dir, sizeof(dir));
	if (rc == LK_ENOTFOUND)
		lk_strlcpy(dir, ".", sizeof(dir));
	else if (rc < 0) {
		snprintf(err, errlen, "bad dir: path too long");
		return LK_EINVAL;
	}
	/* Refuse a directory we cannot write before joining, not mid-call. */
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "record directory %s: %s", dir,
		        errno ? strerror(errno) : "not a directory");
		return LK_EINVAL;
	}
	r = lk_xcalloc(1, sizeof(*r));
	r->job = job;
	lk_strlcpy(r->dir, dir, sizeof(r->dir));
	r->tap.on_frame = script_record_frame;
	r->tap.on_end = script_record_end;
	r->tap.arg = r;
	job_set_script_data(job, r);
	rc = media_add_tap(job_media(job), &r->tap);
	if (rc < 0) {
		snprintf(err, errlen, "record tap: %s", lk_strerror(rc));
		return rc;
	}
	log_info("record script writing", "dir", dir);
	return 0;
}

static void
script_record_stop(struct job *job)
{
	struct script_record *r = job_script_data(job);

	if (!r)
		return;
	media_remove_tap(job_media(job), &r->tap);
	for (int i = 0; i < r->n; i++) {
		struct script_rec_file *f = &r->files[i];
		int rate = media_script_rate(job_media(job));
		uint64_t samples = aud_wav_writer_samples(f->w);
		int rc = aud_wav_writer_finish(f->w);
		char hz[32], level[32];

		script_record_summary(f, rate, hz, sizeof(hz), level, sizeof(level));
		if (rc < 0)
			script_record_fail(r, f->path, rc);
		else
			log_info("recording written", "identity", f->key, "path", f->path,
			        "seconds", log_fmt("%.2f", (double)samples / rate), "heard_hz", hz,
			        "level_dbfs", level);
		aud_wav_writer_free(f->w);
		free(f->heard);
	}
	free(r);
	job_set_script_data(job, NULL);
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
        {"tone", "publish a sine wave (--freq F, default 440 Hz)", script_tone_start,
                script_tone_stop, NULL},
        {"echo", "publish back what the current speaker says", script_echo_start, script_echo_stop,
                NULL},
        {"record", "write one WAV per participant (--dir D, default .)", script_record_start,
                script_record_stop, NULL},
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
