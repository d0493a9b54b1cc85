/*
 * sdp: session descriptions as LiveKit and libwebrtc exchange them (RFC 8866
 * with JSEP, BUNDLE, ICE and DTLS attributes): a bounded parser into
 * sdp_session, a candidate-line parser/formatter, and a writer from the
 * sdp_out description. Pure; used by the signalling code of lk-jobproc and
 * lk-devserver.
 */
#ifndef LK_RTC_SDP_H
#define LK_RTC_SDP_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Parser limits: beyond them sdp_parse fails with LK_ETOOBIG. */
#define SDP_MAX_TEXT (256 * 1024)
#define SDP_MAX_LINE 4096
#define SDP_MAX_LINES 8192
#define SDP_MAX_MEDIA 64
#define SDP_MAX_FMT 64 /* formats on one m= line */
#define SDP_MAX_FB 16 /* rtcp-fb lines per payload type */
#define SDP_MAX_EXT 32 /* extmap lines per section */
#define SDP_MAX_SSRC 32 /* distinct a=ssrc ids per section */
#define SDP_MAX_CAND 32 /* candidates kept per section (more are skipped) */
#define SDP_MAX_DIGEST 64

/* Candidate field sizes (longer values make the candidate invalid). */
#define SDP_CAND_FOUNDATION 33 /* RFC 8839: 1*32 ice-char */
#define SDP_CAND_ADDR 64 /* IPv6 literal or an mDNS name */
#define SDP_CAND_UFRAG 65

enum sdp_media_type {
	SDP_MEDIA_OTHER = 0,
	SDP_MEDIA_AUDIO,
	SDP_MEDIA_VIDEO,
	SDP_MEDIA_APPLICATION,
};

enum sdp_dir {
	SDP_DIR_UNSET = 0, /* means sendrecv (RFC 8866 §6.7) */
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

/* RFC 4145 a=setup. */
enum sdp_setup {
	SDP_SETUP_UNSET = 0,
	SDP_SETUP_ACTPASS,
	SDP_SETUP_ACTIVE,
	SDP_SETUP_PASSIVE,
	SDP_SETUP_HOLDCONN,
};

enum sdp_transport {
	SDP_TRANSPORT_UDP = 1,
	SDP_TRANSPORT_TCP,
};

enum sdp_cand_type {
	SDP_CAND_HOST = 1,
	SDP_CAND_SRFLX,
	SDP_CAND_PRFLX,
	SDP_CAND_RELAY,
};

/* RFC 8122 a=fingerprint: hash name (lower case) and digest bytes. */
struct sdp_fingerprint {
	char hash[16];
	uint8_t digest[SDP_MAX_DIGEST];
	size_t len; /* 0 = none */
};

/* RFC 8839 §5.1 candidate. Self-contained, so a trickled one fits too. */
struct sdp_candidate {
	char foundation[SDP_CAND_FOUNDATION];
	uint16_t component;
	enum sdp_transport transport;
	uint32_t priority;
	char address[SDP_CAND_ADDR];
	uint16_t port;
	enum sdp_cand_type type;
	int has_raddr;
	char raddr[SDP_CAND_ADDR];
	uint16_t rport;
	char tcptype[8]; /* "active", "passive", "so" or empty */
	int generation; /* -1 when absent */
	char ufrag[SDP_CAND_UFRAG];
};

/* One payload type of an RTP section, in m= line order. */
struct sdp_codec {
	uint8_t pt;
	const char *name; /* from a=rtpmap; NULL when absent */
	uint32_t clock;
	uint8_t channels; /* 1 when not given */
	const char *fmtp; /* NULL when absent */
	const char *fb[SDP_MAX_FB];
	int n_fb;
};

struct sdp_extmap {
	uint16_t id;
	enum sdp_dir dir;
	const char *uri;
};

struct sdp_ssrc {
	uint32_t ssrc;
	const char *cname;
	const char *msid_stream;
	const char *msid_track;
};

/*
 * One m= section. ICE credentials, fingerprint, setup and direction not
 * given in the section are inherited from the session level.
 */
struct sdp_media {
	enum sdp_media_type type;
	const char *media; /* token as written: "audio", "video", ... */
	uint16_t port; /* 0 = rejected */
	const char *proto;
	int is_rtp; /* proto is an RTP profile */
	const char *fmt[SDP_MAX_FMT];
	int n_fmt;
	struct sdp_codec codec[SDP_MAX_FMT]; /* RTP sections only */
	int n_codec;

	const char *mid;
	enum sdp_dir dir;
	int rtcp_mux;
	int rtcp_rsize;
	int bundle_only;
	struct sdp_extmap ext[SDP_MAX_EXT];
	int n_ext;
	const char *msid_stream;
	const char *msid_track;
	struct sdp_ssrc ssrc[SDP_MAX_SSRC];
	int n_ssrc;

	const char *ice_ufrag;
	const char *ice_pwd;
	const char *ice_options;
	struct sdp_fingerprint fp;
	enum sdp_setup setup;
	struct sdp_candidate cand[SDP_MAX_CAND];
	int n_cand;
	int n_cand_skipped; /* unparsable, unsupported or over the limit */
	int end_of_candidates;

	uint16_t sctp_port; /* 0 = absent */
	uint32_t max_message_size; /* 0 = absent */
};

struct sdp_session {
	const char *origin_user;
	const char *sess_id; /* digits, kept as text: may exceed 64 bits */
	uint64_t sess_version;
	const char *origin_addr;
	const char *name;

	const char *bundle[SDP_MAX_MEDIA]; /* first a=group:BUNDLE */
	int n_bundle;
	int ice_lite;
	const char *ice_ufrag;
	const char *ice_pwd;
	const char *ice_options;
	struct sdp_fingerprint fp;
	enum sdp_setup setup;
	enum sdp_dir dir;
	int extmap_allow_mixed;

	struct sdp_media *media[SDP_MAX_MEDIA];
	int n_media;

	/* Copies of the parsed strings; every const char * above points here. */
	char *arena;
	size_t arena_len;
	size_t arena_cap;
};

/*
 * Parse an SDP. Lines end in LF or CRLF; the first is v=0 and o= must be
 * present. Unknown attributes are skipped; known ones with bad values, bad
 * m= lines, control characters and unknown line types fail the parse.
 * Returns 0 and *out (free with sdp_free), LK_EINVAL, LK_ETOOBIG or
 * LK_ENOMEM.
 */
int sdp_parse(const char *text, size_t len, struct sdp_session **out);
void sdp_free(struct sdp_session *s);

/* Section with this mid, or NULL. */
const struct sdp_media *sdp_find_mid(const struct sdp_session *s, const char *mid);
/* Whether mid is in the session's BUNDLE group. */
int sdp_in_bundle(const struct sdp_session *s, const char *mid);
/* First codec of a section matching name (case-insensitive), clock and
 * channels (0 = any), or NULL. */
const struct sdp_codec *sdp_media_find_codec(
        const struct sdp_media *m, const char *name, uint32_t clock, uint8_t channels);
const struct sdp_codec *sdp_media_codec(const struct sdp_media *m, uint8_t pt);
/* Extmap id of a URI in a section, or 0. */
uint16_t sdp_media_ext_id(const struct sdp_media *m, const char *uri);

/*
 * Candidate line, with or without the "candidate:" prefix (a trickled
 * RTCIceCandidateInit.candidate or an a=candidate value). Returns 0,
 * LK_EINVAL (malformed), LK_ETOOBIG (a field too long) or LK_ETYPE
 * (a transport or type we do not use).
 */
int sdp_candidate_parse(const char *s, size_t len, struct sdp_candidate *c);
/* "candidate:..." into out (NUL-terminated); its length or LK_ETOOBIG. */
int sdp_candidate_format(const struct sdp_candidate *c, char *out, size_t cap);
/* RFC 8445 §5.1.2.1 priority: (2^24)type_pref + (2^8)local_pref + (256 - component). */
uint32_t sdp_candidate_priority(enum sdp_cand_type type, uint16_t local_pref, uint16_t component);

/* "sha-256 AB:CD:..." from digest bytes; its length or LK_ETOOBIG. */
int sdp_fingerprint_format(const struct sdp_fingerprint *fp, char *out, size_t cap);
/* Parse "sha-256 AB:CD:..."; 0 or LK_EINVAL. */
int sdp_fingerprint_parse(const char *s, size_t len, struct sdp_fingerprint *fp);
/*
 * The value of a sha-256 fingerprint without the hash name ("AB:CD:..."),
 * as rtc_transport_set_remote takes it. LK_EINVAL for another hash or none.
 */
int sdp_fingerprint_sha256_value(const struct sdp_fingerprint *fp, char *out, size_t cap);

const char *sdp_dir_name(enum sdp_dir d);
const char *sdp_setup_name(enum sdp_setup s);
/*
 * RFC 3264 §6.1: the direction an answer gives to an offered one, given
 * whether the answerer wants to send and to receive.
 */
enum sdp_dir sdp_dir_answer(enum sdp_dir offered, int we_send, int we_recv);

/* ---- writer ---- */

#define SDP_OUT_MAX_CODEC 8
#define SDP_OUT_MAX_FB 4
#define SDP_OUT_MAX_EXT 8

struct sdp_out_codec {
	uint8_t pt;
	const char *name;
	uint32_t clock;
	uint8_t channels; /* written as /N when > 1 */
	const char *fmtp; /* NULL = no a=fmtp */
	const char *fb[SDP_OUT_MAX_FB];
	int n_fb;
};

struct sdp_out_ext {
	uint16_t id;
	const char *uri;
};

/*
 * One m= section to write. All strings are borrowed (they may point into
 * a parsed offer) and must be free of control characters; tokens (mid,
 * proto, formats, msid parts, cname) also free of spaces.
 */
struct sdp_out_media {
	enum sdp_media_type type;
	const char *media; /* overrides the type's name (mirroring "other") */
	int rejected; /* port 0, no transport attributes (JSEP §5.3.1) */
	const char *proto; /* NULL: UDP/TLS/RTP/SAVPF or UDP/DTLS/SCTP */
	/* Explicit m= formats (mirroring an offer); when n_fmt is 0 they
	 * come from codec[] (RTP) or are "webrtc-datachannel". */
	const char *const *fmt;
	int n_fmt;
	struct sdp_out_codec codec[SDP_OUT_MAX_CODEC];
	int n_codec;
	const char *mid;
	enum sdp_dir dir;
	int rtcp_mux;
	int rtcp_rsize;
	struct sdp_out_ext ext[SDP_OUT_MAX_EXT];
	int n_ext;
	const char *msid_stream; /* a=msid:<stream> <track> */
	const char *msid_track;
	uint32_t ssrc; /* nonzero: a=ssrc cname (+ msid) lines */
	const char *cname;
	uint16_t sctp_port;
	uint32_t max_message_size;
	const struct sdp_candidate *cand;
	int n_cand;
	int end_of_candidates;
};

struct sdp_out {
	uint64_t sess_id;
	uint64_t sess_version;
	int ice_lite;
	int ice_trickle; /* a=ice-options:trickle */
	const char *ice_ufrag;
	const char *ice_pwd;
	struct sdp_fingerprint fp;
	enum sdp_setup setup;
	int bundle; /* a=group:BUNDLE over every non-rejected mid */
	int extmap_allow_mixed;
	struct sdp_out_media media[SDP_MAX_MEDIA];
	int n_media;
};

/*
 * Append the SDP text (CRLF lines) to b. 0, LK_EINVAL (a missing or
 * unsafe field) or LK_ETOOBIG (b's limit).
 */
int sdp_write(const struct sdp_out *o, struct buf *b);

/*
 * Start an answer: one rejected section per offered one, mirroring its
 * type, proto, formats and mid (strings borrowed from offer). The caller
 * then accepts sections and sets the session fields. 0 or LK_EINVAL.
 */
int sdp_out_mirror(struct sdp_out *ans, const struct sdp_session *offer);
/* Copy an offered codec (pt, rtpmap, fmtp; no feedback) into a writer one. */
void sdp_out_codec_from(struct sdp_out_codec *oc, const struct sdp_codec *c);

#endif
