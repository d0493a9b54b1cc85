/*
 * twirp: lk-devserver's Twirp endpoints, livekit.RoomService (CreateRoom,
 * ListRooms, DeleteRoom, ListParticipants) and livekit.AgentDispatchService
 * (CreateDispatch, ListDispatch, DeleteDispatch), over protobuf or proto3
 * JSON; plus GET /debug/jobs. Runs in lk-devserver only.
 */
#ifndef LK_DS_TWIRP_H
#define LK_DS_TWIRP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/lkpb.h"

struct ds;
struct http_req;

#define DS_TWIRP_PREFIX "/twirp/"
#define DS_TWIRP_WHY_MAX 192

/* Serve one request whose (normalised) path starts with /twirp/ (any method). */
void ds_twirp_handle(struct ds *ds, struct http_req *req, const char *path);

/* GET /debug/jobs: every job ever created, oldest first, as a JSON array. */
void ds_twirp_debug_jobs(struct ds *ds, struct http_req *req);
json_t *ds_twirp_jobs_json(struct ds *ds);

/*
 * Proto3 JSON -> message for the Twirp request types (CreateRoomRequest,
 * ListRoomsRequest, DeleteRoomRequest, ListParticipantsRequest,
 * CreateAgentDispatchRequest, ListAgentDispatchRequest,
 * DeleteAgentDispatchRequest). Field names are accepted in both the proto
 * (snake_case) and JSON (lowerCamelCase) forms; unknown fields are
 * skipped, as Twirp does. 0, or LK_EINVAL with a reason in why. The
 * message is zeroed first and owns heap memory: release it with
 * lkpb_free(fields, msg), also after a failure.
 */
int ds_twirp_json_decode(const pb_msgdesc_t *fields, void *msg, const uint8_t *data, size_t len,
        char *why, size_t whylen);

/*
 * Message -> proto3 JSON with proto field names, int64 as strings and
 * enums as names, as livekit-server answers (Room, ParticipantInfo,
 * AgentDispatch and the three Twirp responses). NULL for other types.
 */
json_t *ds_twirp_json_encode(const pb_msgdesc_t *fields, const void *msg);

#endif
