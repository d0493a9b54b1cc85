/*
 * lkpb: glue around the nanopb code generated from the .proto files in
 * proto/.
 * Every message is generated with FT_POINTER fields (strings are char *,
 * bytes are pb_bytes_array_t *, submessages are pointers, repeated fields
 * are count + array), so decoded messages own heap memory that
 * lkpb_free() releases. Decoding is bounded by the caller's size limit.
 *
 * Layout details (nanopb 0.4.7, see the .options files in proto/):
 * - Scalars and enums are plain values, not pointers. A proto3 `optional`
 *   scalar has a has_<name> flag (UpdateWorkerStatus.status,
 *   ConnectionSettings.subscriber_allow_pause); an `optional` string or
 *   submessage is simply NULL when absent (JobAssignment.url,
 *   RegisterWorkerRequest.namespace, Job.participant).
 * - `register` is a C keyword, so WorkerMessage/ServerMessage call that
 *   oneof member register_ (tag livekit_WorkerMessage_register__tag); the
 *   wire number and JSON name are unchanged.
 * - A oneof is which_<oneof> (the field's _tag constant) plus a union of
 *   pointers; scalar members (SignalRequest.ping, SignalResponse.pong) are
 *   stored by value in the union.
 * - A map<string,string> is a count plus an array of <Msg>_<Field>Entry
 *   { char *key; char *value; }.
 * - Encoding omits NULL pointers and zero scalars. A non-NULL empty string
 *   IS encoded (as a zero-length field), unlike proto3 defaults: leave a
 *   field NULL to omit it.
 * - pb_size_t is 16 bits in this nanopb build: repeated fields hold at
 *   most 65535 elements and bytes fields at most 65535 bytes. Strings
 *   have no such limit.
 * - Heap use of one decode is bounded by the input: at most about
 *   len / 2 array elements, each at most the largest struct (a few hundred
 *   bytes), so callers should keep `limit` tight (frames are small).
 * - Everything that lkpb_free() releases must come from malloc/realloc:
 *   use lkpb_strdup/lkpb_bytes/lkpb_new (or malloc) to build messages.
 */
#ifndef LK_LKPB_H
#define LK_LKPB_H

#include <stddef.h>
#include <stdint.h>
#include <pb.h>

#include "common/buf.h"

#include "livekit_models.pb.h"
#include "livekit_agent.pb.h"
#include "livekit_agent_dispatch.pb.h"
#include "livekit_room.pb.h"
#include "livekit_rtc.pb.h"

/* Encode msg (appended to out). 0 or negative lk_err. */
int lkpb_encode(const pb_msgdesc_t *fields, const void *msg, struct buf *out);
/* Encoded size of msg, or negative lk_err. */
int lkpb_size(const pb_msgdesc_t *fields, const void *msg, size_t *size);
/*
 * Decode into msg (which this function zeroes first). Rejects len > limit
 * with LK_ETOOBIG and malformed input with LK_EINVAL; on failure nothing
 * stays allocated.
 */
int lkpb_decode(
        const pb_msgdesc_t *fields, void *msg, const uint8_t *data, size_t len, size_t limit);
/* Release everything a decode (or lkpb_dup_* helpers) allocated, zero msg. */
void lkpb_free(const pb_msgdesc_t *fields, void *msg);

/* Heap helpers for building messages whose fields lkpb_free will release. */
char *lkpb_strdup(const char *s); /* NULL -> NULL */
pb_bytes_array_t *lkpb_bytes(const void *data, size_t n);
/* Allocate a zeroed submessage of the given size. */
void *lkpb_new(size_t size);
/*
 * Deep copy src into dst (dst's previous contents are not freed). On
 * failure dst is left zeroed and owns nothing. 0 or negative lk_err.
 */
int lkpb_copy(const pb_msgdesc_t *fields, void *dst, const void *src);

#endif
