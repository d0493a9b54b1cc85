/*
 * fuzz_sdp: feeds arbitrary text to sdp_parse (offers and answers from the
 * network), answers what parses with the writer and checks the answer
 * parses back with the same sections, and round-trips candidate lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "rtc/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_sdp_in_arena(const struct sdp_session *s, const char *p)
{
	return p == NULL || (p >= s->arena && p + strlen(p) < s->arena + s->arena_len);
}

static void
fuzz_sdp_check(const struct sdp_session *s)
{
	int i, j;

	if (s->n_media < 0 || s->n_media > SDP_MAX_MEDIA || s->arena_len > s->arena_cap)
		abort();
	if (!fuzz_sdp_in_arena(s, s->origin_user) || !fuzz_sdp_in_arena(s, s->sess_id))
		abort();
	for (i = 0; i < s->n_bundle; i++)
		if (!fuzz_sdp_in_arena(s, s->bundle[i]))
			abort();
	for (i = 0; i < s->n_media; i++) {
		const struct sdp_media *m = s->media[i];

		if (m->n_fmt < 1 || m->n_fmt > SDP_MAX_FMT || m->n_codec > m->n_fmt ||
		        m->n_cand > SDP_MAX_CAND || m->n_ext > SDP_MAX_EXT ||
		        m->n_ssrc > SDP_MAX_SSRC || m->fp.len > SDP_MAX_DIGEST)
			abort();
		if (!fuzz_sdp_in_arena(s, m->mid) || !fuzz_sdp_in_arena(s, m->proto) ||
		        !fuzz_sdp_in_arena(s, m->ice_ufrag) || !fuzz_sdp_in_arena(s, m->msid_track))
			abort();
		for (j = 0; j < m->n_codec; j++)
			if (m->codec[j].n_fb > SDP_MAX_FB ||
			        !fuzz_sdp_in_arena(s, m->codec[j].fmtp))
				abort();
	}
}

/* Answer like the dev server: opus audio and data accepted, rest mirrored. */
static void
fuzz_sdp_answer(const struct sdp_session *off)
{
	static struct sdp_out o;
	struct sdp_session *ans = NULL;
	struct buf b;
	int i, rc;

	if (sdp_out_mirror(&o, off) != 0)
		abort();
	o.ice_lite = 1;
	o.ice_ufrag = "fuzz";
	o.ice_pwd = "fuzzpasswordfuzzpassword";
	o.setup = SDP_SETUP_ACTIVE;
	o.bundle = 1;
	strcpy(o.fp.hash, "sha-256");
	o.fp.len = 32;
	for (i = 0; i < off->n_media; i++) {
		const struct sdp_media *om = off->media[i];
		const struct sdp_codec *c;

		if (om->mid == NULL)
			continue;
		if (om->is_rtp && (c = sdp_media_find_codec(om, "opus", 48000, 0)) != NULL) {
			o.media[i].rejected = 0;
			o.media[i].n_fmt = 0;
			o.media[i].n_codec = 1;
			sdp_out_codec_from(&o.media[i].codec[0], c);
			o.media[i].dir = sdp_dir_answer(om->dir, 0, 1);
			o.media[i].rtcp_mux = 1;
		} else if (om->type == SDP_MEDIA_APPLICATION) {
			o.media[i].rejected = 0;
			o.media[i].sctp_port = 5000;
		}
	}
	buf_init(&b, 4 * SDP_MAX_TEXT);
	rc = sdp_write(&o, &b);
	if (rc == 0) {
		if (sdp_parse((const char *)b.data, b.len, &ans) != 0)
			abort();
		if (ans->n_media != off->n_media)
			abort();
		for (i = 0; i < off->n_media; i++) {
			const char *a = ans->media[i]->mid, *q = off->media[i]->mid;

			if ((a == NULL) != (q == NULL) || (a != NULL && strcmp(a, q) != 0))
				abort();
		}
		sdp_free(ans);
	} else if (rc != LK_EINVAL) {
		/* Mirrored strings the writer refuses (tabs, odd tokens). */
		abort();
	} else if (b.len != 0) {
		abort();
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_session *s = NULL;
	struct sdp_candidate c, d;
	char line[512];
	int rc, n;

	rc = sdp_parse((const char *)data, size, &s);
	if (rc == 0) {
		if (s == NULL)
			abort();
		fuzz_sdp_check(s);
		fuzz_sdp_answer(s);
		sdp_free(s);
	} else if (s != NULL || (rc != LK_EINVAL && rc != LK_ETOOBIG && rc != LK_ENOMEM)) {
		abort();
	}
	/* The whole input as one trickled candidate. */
	if (size < 1024 && sdp_candidate_parse((const char *)data, size, &c) == 0) {
		n = sdp_candidate_format(&c, line, sizeof(line));
		if (n < 0)
			return 0; /* characters the writer refuses */
		if (sdp_candidate_parse(line, (size_t)n, &d) != 0 || memcmp(&c, &d, sizeof(c)) != 0)
			abort();
	}
	return 0;
}
