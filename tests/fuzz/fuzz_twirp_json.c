/*
 * fuzz_twirp_json: lk-devserver's proto3 JSON decoders for the Twirp
 * requests. The first byte picks the request type, the rest is the body.
 * Every decode must end with a releasable message (or a clean error), and
 * a decoded message must survive a protobuf encode.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/lkpb.h"
#include "devserver/ds.h"
#include "devserver/twirp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rooms.c launches jobs through the agents half of ds.h; none here. */
void
ds_agents_launch(struct ds_agents *ag, struct ds_job *job)
{
}

void
ds_agents_terminate(struct ds_agents *ag, struct ds_job *job)
{
}

int
ds_agents_count_named(const struct ds_agents *ag, const char *agent_name)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pb_msgdesc_t *const types[] = {
	        livekit_CreateRoomRequest_fields,
	        livekit_ListRoomsRequest_fields,
	        livekit_DeleteRoomRequest_fields,
	        livekit_ListParticipantsRequest_fields,
	        livekit_CreateAgentDispatchRequest_fields,
	        livekit_ListAgentDispatchRequest_fields,
	        livekit_DeleteAgentDispatchRequest_fields,
	};
	union {
		livekit_CreateRoomRequest a;
		livekit_ListRoomsRequest b;
		livekit_DeleteRoomRequest c;
		livekit_ListParticipantsRequest d;
		livekit_CreateAgentDispatchRequest e;
		livekit_ListAgentDispatchRequest f;
		livekit_DeleteAgentDispatchRequest g;
	} msg;
	const pb_msgdesc_t *fields;
	char why[DS_TWIRP_WHY_MAX];
	struct buf b;

	if (size < 1)
		return 0;
	fields = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (ds_twirp_json_decode(fields, &msg, data + 1, size - 1, why, sizeof(why)) == 0) {
		buf_init(&b, 0);
		(void)lkpb_encode(fields, &msg, &b);
		buf_free(&b);
	}
	lkpb_free(fields, &msg);
	return 0;
}
