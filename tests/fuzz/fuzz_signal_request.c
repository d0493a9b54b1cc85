/*
 * fuzz_signal_request: fuzz target for lkpb_decode of livekit.SignalRequest, the
 * frames read from the /rtc WebSocket, client to server (dev server).
 * A decoded message must re-encode, and its encoding must be stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/lkpb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	livekit_SignalRequest m, again;
	struct buf b1, b2;

	if (lkpb_decode(livekit_SignalRequest_fields, &m, data, size, 64 * 1024) != 0)
		return 0;
	buf_init(&b1, 0);
	buf_init(&b2, 0);
	if (lkpb_encode(livekit_SignalRequest_fields, &m, &b1) != 0)
		abort();
	/* Re-encoding the decoded encoding gives the same bytes. */
	if (lkpb_decode(livekit_SignalRequest_fields, &again, b1.data, b1.len, b1.len) != 0)
		abort();
	if (lkpb_encode(livekit_SignalRequest_fields, &again, &b2) != 0 || b1.len != b2.len ||
	        (b1.len > 0 && memcmp(b1.data, b2.data, b1.len) != 0))
		abort();
	lkpb_free(livekit_SignalRequest_fields, &again);
	lkpb_free(livekit_SignalRequest_fields, &m);
	buf_free(&b1);
	buf_free(&b2);
	return 0;
}
