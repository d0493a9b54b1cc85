/*
 * fuzz_rtp: feeds arbitrary packets to rtp_parse (with extension walking
 * and a header write-back), to the RTCP compound iterator, and as a packet
 * schedule to the reorder buffer, checking bounds and ordering invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rtc/rtcp.h"
#include "rtc/rtp.h"
#include "rtc/rtp_reorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rtp_packet(const uint8_t *data, size_t size)
{
	struct rtp_hdr h, h2;
	uint8_t out[1024];
	const uint8_t *d;
	size_t off = 0, len, steps = 0;
	uint8_t id;
	int rc, n;

	if (rtp_parse(data, size, &h) != 0)
		return;
	if (h.hdr_len + h.payload_len + h.pad_len != size || h.payload != data + h.hdr_len)
		abort();
	if (h.extension && (h.ext < data || h.ext + h.ext_len > data + h.hdr_len))
		abort();
	while ((rc = rtp_ext_next(&h, &off, &id, &d, &len)) == 1) {
		if (d < h.ext || d + len > h.ext + h.ext_len || off > h.ext_len ||
		        ++steps > h.ext_len)
			abort();
	}
	if (rc != 0 && rc != LK_EINVAL && rc != LK_ENOTFOUND)
		abort();
	/* Writing the parsed header back gives the same bytes (P cleared). */
	n = rtp_write_hdr(out, sizeof(out), &h);
	if (h.hdr_len <= sizeof(out)) {
		if (n != (int)h.hdr_len || out[0] != (data[0] & ~0x20) ||
		        memcmp(out + 1, data + 1, h.hdr_len - 1) != 0)
			abort();
		if (rtp_parse(out, (size_t)n, &h2) != 0 || h2.seq != h.seq || h2.ssrc != h.ssrc ||
		        h2.ts != h.ts)
			abort();
	} else if (n != LK_ETOOBIG) {
		abort();
	}
}

static void
fuzz_rtcp(const uint8_t *data, size_t size)
{
	struct rtcp_pkt pkt;
	size_t off = 0, total = 0;
	int rc, n = 0;

	while ((rc = rtcp_next(data, size, &off, &pkt)) == 1) {
		if (pkt.raw != data + total || pkt.len < 4 || (pkt.len & 3) != 0 ||
		        total + pkt.len > size)
			abort();
		if (pkt.n_rb < 0 || pkt.n_rb > RTCP_MAX_RB)
			abort();
		total += pkt.len;
		n++;
	}
	if (rc == 0 && total != size)
		abort();
	if ((rtcp_validate(data, size) > 0) != (rc == 0 && n > 0))
		abort();
}

/* Records of 3 bytes: seq high, seq low, payload length / flags. */
static void
fuzz_reorder(const uint8_t *data, size_t size)
{
	static struct rtp_reorder *r;
	struct rtp_reorder_out o;
	uint8_t payload[64];
	uint32_t last = 0;
	uint64_t skipped;
	int have_last = 0, jumped = 0, rc;
	size_t i;

	if (r == NULL)
		r = rtp_reorder_new(16, sizeof(payload), 3);
	if (r == NULL)
		abort();
	rtp_reorder_reset(r);
	memset(payload, 0x5a, sizeof(payload));
	for (i = 0; i + 3 <= size; i += 3) {
		uint16_t seq = (uint16_t)(data[i] << 8 | data[i + 1]);
		size_t len = data[i + 2] & 0x7F;

		skipped = rtp_reorder_stats(r)->skipped;
		rc = rtp_reorder_push(r, seq, seq * 960u, 0, payload, len);
		/* A window slide jumps the sequence forward. */
		if (rtp_reorder_stats(r)->skipped != skipped)
			jumped = 1;
		if (len > sizeof(payload) ? rc != LK_ETOOBIG : (rc < 0 || rc > RTP_REORDER_RESET))
			abort();
		if (rc == RTP_REORDER_RESET)
			have_last = 0;
		if (rtp_reorder_count(r) > 16)
			abort();
		while ((rc = rtp_reorder_pop(r, data[i + 2] & 0x80, &o)) != RTP_REORDER_NONE) {
			if (have_last &&
			        (jumped ? (int32_t)(o.ext_seq - last) <= 0 : o.ext_seq != last + 1))
				abort();
			jumped = 0;
			if (rc == RTP_REORDER_PACKET &&
			        (o.len > sizeof(payload) || o.seq != (uint16_t)o.ext_seq))
				abort();
			last = o.ext_seq;
			have_last = 1;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rtp_packet(data, size);
	fuzz_rtcp(data, size);
	fuzz_reorder(data, size);
	return 0;
}
