/*
 * lkpb: glue around the nanopb code generated from proto/*.proto.
 * Every message is generated with FT_POINTER fields (strings are char *,
 * bytes are pb_bytes_array_t *, submessages are pointers, repeated fields
 * are count + array), so decoded messages own heap memory that
 * lkpb_free() releases. Decoding is bounded by the caller's size limit.
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
int lkpb_decode(const pb_msgdesc_t *fields, void *msg, const uint8_t *data, size_t len,
	size_t limit);
/* Release everything a decode (or lkpb_dup_* helpers) allocated, zero msg. */
void lkpb_free(const pb_msgdesc_t *fields, void *msg);

/* Heap helpers for building messages whose fields lkpb_free will release. */
char *lkpb_strdup(const char *s);                         /* NULL -> NULL */
pb_bytes_array_t *lkpb_bytes(const void *data, size_t n);
/* Allocate a zeroed submessage of the given size. */
void *lkpb_new(size_t size);

#endif
