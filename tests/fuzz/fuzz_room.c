/*
 * fuzz_room: lk-jobproc's SignalResponse handler (room_handle_message) with
 * its join and participant state and its media signalling, offline (no
 * sockets): subscriber offers answered, tracks mapped, trickle, and, when
 * the input's length is odd, a publication waiting for its answer.
 * Input: a sequence of messages, each a 2-byte big-endian length followed
 * by that many bytes; the first one is handled while the room waits for
 * its join.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ev.h>

#include "common/log.h"
#include "jobproc/media.h"
#include "jobproc/room.h"
#include "jobproc/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
fuzz_room_closed(struct room *room, void *arg)
{
}

static void
fuzz_room_fill(int16_t *pcm, size_t n, void *arg)
{
	memset(pcm, 0, n * sizeof(*pcm));
}

/* Walk what a track event hands out. */
static void
fuzz_room_track(struct room *room, const struct room_track *t, void *arg)
{
	(void)(t->sid[0] + t->participant_sid[0] + t->participant_identity[0] + t->mid[0]);
}

static const struct room_events fuzz_room_events = {
        .on_track_subscribed = fuzz_room_track,
        .on_track_unsubscribed = fuzz_room_track,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_room");
	log_set_level(LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_loop *loop;
	struct media_source src = {fuzz_room_fill, NULL};
	struct room *room;
	size_t off = 0;
	int published = 0;

	if (!loop)
		loop = ev_loop_new(EVFLAG_AUTO);
	room = room_new(loop, &fuzz_room_events, NULL);
	room_expect_join(room);
	if (size & 1)
		media_publish(room_media(room), &src);
	while (off + 2 <= size) {
		size_t len = ((size_t)data[off] << 8) | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		if (room_handle_message(room, data + off, len) < 0)
			break;
		off += len;
		/* Once joined, confirm the publication so answers are applied. */
		if ((size & 1) && !published && room_is_joined(room)) {
			struct media *m = room_media(room);
			published = 1;
			media_on_track_published(m, media_publish_cid(m), "TR_fuzz");
		}
	}
	/* Walk what the handler kept. */
	for (size_t i = 0; i < room_participant_count(room); i++)
		(void)room_participant_at(room, i)->identity[0];
	media_stop(room_media(room));
	room_close(room, fuzz_room_closed, NULL);
	ev_run(loop, 0);
	room_free(room);
	return 0;
}
