/*
 * ipc: supervisor <-> job process messages over a SOCK_SEQPACKET
 * socketpair, one msgpack array per datagram: [version, type, fields...].
 * Runs in both lk-supervisor and lk-jobproc. The size limit is checked
 * before decoding; one pack and one strict unpack per type reject wrong
 * types, wrong field counts and trailing bytes. Nothing a peer sends can
 * make these functions abort.
 */
#ifndef LK_IPC_H
#define LK_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION 1
#define IPC_MAX_MSG (256 * 1024)
#define IPC_FD 3 /* the job process finds its end of the socketpair here */

enum ipc_type {
	IPC_INIT = 1, /* sup -> job */
	IPC_INIT_OK = 2, /* job -> sup */
	IPC_PING = 3, /* sup -> job */
	IPC_PONG = 4, /* job -> sup */
	IPC_START_JOB = 5, /* sup -> job */
	IPC_SHUTDOWN = 6, /* sup -> job */
	IPC_SHUTDOWN_ACK = 7, /* job -> sup */
	IPC_STATUS = 8, /* job -> sup */
	IPC_EXITING = 9, /* job -> sup */
};

/* A string or byte view. After ipc_unpack it points into the input buffer. */
struct ipc_str {
	const char *ptr;
	uint32_t len;
};

enum ipc_outcome {
	IPC_OUTCOME_SUCCESS = 0,
	IPC_OUTCOME_FAILURE = 1,
};

struct ipc_msg {
	enum ipc_type type;
	union {
		struct {
			uint32_t ping_interval_ms;
			uint32_t ping_timeout_ms;
			struct ipc_str log_level; /* "info" ... */
			struct ipc_str log_format; /* "json" | "console" */
		} init;
		struct {
			int32_t pid;
		} init_ok;
		struct {
			int64_t ts_ms;
		} ping;
		struct {
			int64_t last_ts_ms; /* echo of the ping */
			int64_t ts_ms;
			uint64_t rss_kb;
			uint64_t cpu_ms; /* user+sys of the job process */
		} pong;
		struct {
			struct ipc_str job; /* protobuf livekit.Job bytes */
			struct ipc_str url; /* room URL (ws://...) */
			struct ipc_str token; /* room join JWT */
			struct ipc_str identity; /* participant identity */
			struct ipc_str worker_id;
			struct ipc_str script; /* "noop", ... */
			struct ipc_str script_args; /* free-form "key=value ..." */
		} start_job;
		struct {
			struct ipc_str reason;
		} shutdown;
		struct {
			uint8_t room_joined;
			uint32_t participants;
			uint64_t audio_in_frames;
			uint64_t audio_out_frames;
		} status;
		struct {
			struct ipc_str reason; /* "room disconnected", "job shutdown", ... */
			uint8_t outcome; /* enum ipc_outcome */
			struct ipc_str error; /* failure text, may be empty */
		} exiting;
	} u;
};

/* Helper to fill an ipc_str from a C string (NULL gives an empty string). */
struct ipc_str ipc_cstr(const char *s);
/* 1 if the view equals the C string c (NULL counts as ""). */
int ipc_str_eq(struct ipc_str s, const char *c);
/* Copy a view into dst as a NUL-terminated string, truncating to dstlen - 1; returns s.len. */
size_t ipc_str_copy(char *dst, size_t dstlen, struct ipc_str s);

/* 1 when both messages have the same type and field values (views compared by content). */
int ipc_msg_equal(const struct ipc_msg *a, const struct ipc_msg *b);

/* Serialize msg into out (capacity cap). Returns the length or a negative lk_err. */
int ipc_pack(const struct ipc_msg *msg, uint8_t *out, size_t cap);

/*
 * Strictly decode one datagram. Returns 0, or LK_ETOOBIG (len > IPC_MAX_MSG),
 * LK_EINVAL (not msgpack / not an array / unknown type), LK_EVERSION,
 * LK_ETYPE (a field of the wrong type or count), LK_ETRAIL (bytes after the
 * array). String views in out point into data.
 */
int ipc_unpack(const uint8_t *data, size_t len, struct ipc_msg *out);

const char *ipc_type_name(enum ipc_type t);

/* ---- peer: one end of the socketpair on a libev loop ---- */

struct ev_loop;
struct ipc_peer;

#define IPC_QUEUE_MAX 256 /* datagrams waiting for the socket */
#define IPC_RAW_MAX (IPC_MAX_MSG + 4096) /* ipc_peer_send_raw limit */

/* A well-formed message arrived. */
typedef void (*ipc_msg_cb)(struct ipc_peer *peer, const struct ipc_msg *msg, void *arg);
/*
 * The peer is unusable: err is 0 on EOF, LK_E* for a malformed message
 * (the peer stops reading at once), or a negated errno. Called at most once.
 * ipc_peer_free may be called from inside the callback.
 */
typedef void (*ipc_close_cb)(struct ipc_peer *peer, int err, void *arg);

/*
 * Takes ownership of fd (made non-blocking and close-on-exec; closed on
 * failure too). Callbacks run only from the loop (or ipc_peer_read_pending),
 * never from inside ipc_peer_send. NULL on failure.
 */
struct ipc_peer *ipc_peer_new(
        struct ev_loop *loop, int fd, ipc_msg_cb on_msg, ipc_close_cb on_close, void *arg);
/*
 * Queue a message (bounded queue of IPC_QUEUE_MAX datagrams; when nothing is
 * queued the datagram is written at once). 0, LK_EAGAIN when the queue is
 * full, LK_ECLOSED after on_close, or another negative lk_err / -errno.
 */
int ipc_peer_send(struct ipc_peer *peer, const struct ipc_msg *msg);
/*
 * Send raw bytes as one datagram (tests use it to send hostile input). Up to
 * IPC_RAW_MAX bytes, so an oversized datagram can be sent on purpose.
 */
int ipc_peer_send_raw(struct ipc_peer *peer, const void *data, size_t len);
/* Try to write everything queued now (blocking up to timeout_ms); used before exit. */
void ipc_peer_flush(struct ipc_peer *peer, int timeout_ms);
/*
 * Dispatch, now, the datagrams already waiting on the socket (on_msg /
 * on_close as usual). For the supervisor when a child has exited: what it
 * sent last (EXITING) is read before the peer is discarded.
 */
void ipc_peer_read_pending(struct ipc_peer *peer);
int ipc_peer_fd(const struct ipc_peer *peer);
void ipc_peer_free(struct ipc_peer *peer);

#endif
