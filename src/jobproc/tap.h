/*
 * tap: how code inside lk-jobproc receives what the job hears, one remote
 * audio track at a time, before any mixing. Scripts use it (echo, record);
 * a transcription or VAD plug-in would use exactly this interface.
 */
#ifndef LK_TAP_H
#define LK_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "jobproc/room.h"

/* The rate frames arrive at unless the script asks for another ("rate=16000"). */
#define TAP_DEFAULT_RATE 24000
/* Taps one job can hold at once. */
#define TAP_MAX 4

/*
 * A tap, registered with media_add_tap(job_media(job), &tap).
 *
 * on_frame: one 20 ms frame of one remote track: n = rate / 50 mono int16
 * samples at the media's script rate (media_script_rate(), 24 kHz by
 * default, so n = 480). Frames of one track come in order and without holes
 * while the sender sends: lost packets are already concealed (Opus PLC) or
 * rebuilt (Opus in-band FEC), reordering is undone, and each participant's
 * track has its own decoder and resampler. When the sender stops (mute,
 * DTX, unpublish) frames stop; nothing fills the silence. t describes the
 * track and its participant (identity "" while the participant is not yet
 * known); both t and pcm are valid only during the call, so copy what you
 * keep.
 *
 * on_end (may be NULL): the track ended (unsubscribed, or the job stops).
 * No frame of t follows.
 *
 * Both run on the job's event loop, in the middle of the network path:
 * they must return quickly (well under a millisecond per frame), must not
 * block, and should not allocate per frame. They must not free the media
 * or the room; media_remove_tap from inside a call is allowed.
 */
struct tap {
	void (*on_frame)(const struct room_track *t, const int16_t *pcm, size_t n, void *arg);
	void (*on_end)(const struct room_track *t, void *arg);
	void *arg;
};

#endif
