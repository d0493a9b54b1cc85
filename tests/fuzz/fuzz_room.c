/*
 * fuzz_room: lk-jobproc's SignalResponse handler (room_handle_message) with
 * its join and participant state. Input: a sequence of messages, each a
 * 2-byte big-endian length followed by that many bytes; the first one is
 * handled while the room waits for its join.
 */
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "common/log.h"
#include "jobproc/room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
fuzz_room_closed(struct room *room, void *arg)
{
}

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
	struct room *room;
	size_t off = 0;

	if (!loop)
		loop = ev_loop_new(EVFLAG_AUTO);
	room = room_new(loop, NULL, NULL);
	room_expect_join(room);
	while (off + 2 <= size) {
		size_t len = ((size_t)data[off] << 8) | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		if (room_handle_message(room, data + off, len) < 0)
			break;
		off += len;
	}
	/* Walk what the handler kept. */
	for (size_t i = 0; i < room_participant_count(room); i++)
		(void)room_participant_at(room, i)->identity[0];
	room_close(room, fuzz_room_closed, NULL);
	ev_run(loop, 0);
	room_free(room);
	return 0;
}
