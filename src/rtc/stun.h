/*
 * stun: STUN (RFC 8489) messages with the ICE attributes (RFC 8445): a
 * strict parser, MESSAGE-INTEGRITY / FINGERPRINT checks, and builders for
 * Binding requests, success and error responses. Pure functions over bytes
 * (no sockets); used by the ICE code of lk-jobproc and lk-devserver.
 */
#ifndef LK_RTC_STUN_H
#define LK_RTC_STUN_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TID_LEN 12
/* Largest message accepted or built: above any path MTU we use. */
#define STUN_MAX_LEN 2048
/* RFC 8489 §14.3: USERNAME is less than 513 bytes. */
#define STUN_MAX_USERNAME 512
#define STUN_MAX_REASON 763
#define STUN_MAX_UNKNOWN 8
#define STUN_HMAC_LEN 20
#define STUN_FINGERPRINT_XOR 0x5354554Eu

/* Message classes (RFC 8489 §5: C1 C0 bits). */
enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

#define STUN_METHOD_BINDING 0x001

/* Full message types of the Binding method. */
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_INDICATION 0x0011
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111

/* Attribute types (RFC 8489 §18.3, RFC 8445 §16.1). */
enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PRIORITY = 0x0024,
	STUN_ATTR_USE_CANDIDATE = 0x0025,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,
	STUN_ATTR_ICE_CONTROLLING = 0x802A,
	/* libwebrtc's network id/cost, sent in every check; ignored. */
	STUN_ATTR_GOOG_NETWORK_INFO = 0xC057,
};

/* Error codes used by ICE (RFC 8489 §14.8, RFC 8445 §7.3.1.1). */
enum stun_error_code {
	STUN_ERR_BAD_REQUEST = 400,
	STUN_ERR_UNAUTHORIZED = 401,
	STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
	STUN_ERR_ROLE_CONFLICT = 487,
	STUN_ERR_SERVER_ERROR = 500,
};

/* stun_msg.flags: which attributes were present (first occurrence kept). */
enum stun_flag {
	STUN_F_USERNAME = 1u << 0,
	STUN_F_XOR_MAPPED = 1u << 1,
	STUN_F_INTEGRITY = 1u << 2,
	STUN_F_FINGERPRINT = 1u << 3,
	STUN_F_PRIORITY = 1u << 4,
	STUN_F_USE_CANDIDATE = 1u << 5,
	STUN_F_CONTROLLING = 1u << 6,
	STUN_F_CONTROLLED = 1u << 7,
	STUN_F_ERROR_CODE = 1u << 8,
	STUN_F_MAPPED = 1u << 9,
	STUN_F_INTEGRITY_SHA256 = 1u << 10,
};

/* A transport address; family 4 or 6, port and address in host terms. */
struct stun_addr {
	uint8_t family; /* 4 or 6; 0 = unset */
	uint16_t port;
	uint8_t addr[16]; /* IPv4 in addr[0..3] */
};

/*
 * A parsed message. Pointers borrow from the parsed datagram, which must
 * outlive the struct.
 */
struct stun_msg {
	const uint8_t *raw;
	size_t len; /* whole message, header included */
	uint16_t type;
	uint16_t method;
	enum stun_class cls;
	uint8_t tid[STUN_TID_LEN];
	unsigned flags;
	int n_attrs;

	const uint8_t *username; /* not NUL-terminated */
	size_t username_len;
	uint32_t priority;
	uint64_t tie_breaker; /* ICE-CONTROLLING or ICE-CONTROLLED value */
	struct stun_addr xor_mapped;
	struct stun_addr mapped;
	int error_code; /* 300..699 */
	const uint8_t *error_reason;
	size_t error_reason_len;
	size_t integrity_off; /* offset of the MESSAGE-INTEGRITY attribute */
	size_t fingerprint_off;
	uint32_t fingerprint;
	/* Comprehension-required attributes (< 0x8000) we do not know: a
	 * request carrying any gets a 420 (RFC 8489 §6.3.1.1). */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	int n_unknown;
};

/*
 * Parse one datagram as a STUN message (RFC 8489 §5, §14): top bits zero,
 * magic cookie, length a multiple of 4 and equal to the datagram, every
 * attribute in bounds with its padding, FINGERPRINT last if present.
 * Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored.
 * Returns 0, LK_EINVAL, LK_ETOOBIG or LK_ETRAIL.
 */
int stun_parse(const uint8_t *p, size_t len, struct stun_msg *m);

/* Quick test that a datagram looks like STUN (header and cookie only). */
int stun_is_stun(const uint8_t *p, size_t len);

/*
 * MESSAGE-INTEGRITY check (RFC 8489 §14.5) with a short-term key (the ICE
 * password, RFC 8445 §7.2.2). 0 if valid; LK_ENOTFOUND if absent;
 * LK_EAUTH if wrong.
 */
int stun_check_integrity(const struct stun_msg *m, const void *key, size_t keylen);

/* FINGERPRINT check (RFC 8489 §14.7): 0, LK_ENOTFOUND or LK_EINVAL. */
int stun_check_fingerprint(const struct stun_msg *m);

/*
 * RFC 8445 §7.3: a request to us carries USERNAME "ourufrag:theirufrag".
 * 0 if USERNAME matches; remote_ufrag NULL checks only the local part.
 * LK_ENOTFOUND if absent, LK_EAUTH on mismatch.
 */
int stun_check_username(
        const struct stun_msg *m, const char *local_ufrag, const char *remote_ufrag);

/* CRC-32 (ISO-HDLC, as used by FINGERPRINT), no zlib. */
uint32_t stun_crc32(const uint8_t *p, size_t len);

/* Conversions between stun_addr and sockaddr_in/in6 (0 or LK_EINVAL). */
int stun_addr_from_sockaddr(struct stun_addr *a, const struct sockaddr *sa);
int stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr *sa, size_t salen);

/*
 * A writer for messages of our own. Calls after an error are no-ops; the
 * error is reported by stun_w_finish.
 */
struct stun_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	int sealed; /* FINGERPRINT written: nothing may follow */
};

void stun_w_begin(struct stun_writer *w, uint8_t *buf, size_t cap, uint16_t type,
        const uint8_t tid[STUN_TID_LEN]);
void stun_w_attr(struct stun_writer *w, uint16_t type, const void *val, size_t len);
void stun_w_u32(struct stun_writer *w, uint16_t type, uint32_t v);
void stun_w_u64(struct stun_writer *w, uint16_t type, uint64_t v);
void stun_w_xor_addr(struct stun_writer *w, uint16_t type, const struct stun_addr *a);
void stun_w_error_code(struct stun_writer *w, int code, const char *reason);
/* MESSAGE-INTEGRITY over everything written so far. */
void stun_w_integrity(struct stun_writer *w, const void *key, size_t keylen);
/* FINGERPRINT; must be the last attribute. */
void stun_w_fingerprint(struct stun_writer *w);
/* Message length or a negative error (LK_ETOOBIG, LK_EINVAL). */
int stun_w_finish(struct stun_writer *w);

/* A Binding request as an ICE agent sends it (RFC 8445 §7.2.2). */
struct stun_binding_req {
	const uint8_t *tid; /* STUN_TID_LEN random bytes */
	const char *username; /* "theirufrag:ourufrag" */
	const char *password; /* their ice-pwd: the MESSAGE-INTEGRITY key */
	uint32_t priority; /* PRIORITY of a peer-reflexive candidate */
	int controlling; /* ICE-CONTROLLING if set, else ICE-CONTROLLED */
	uint64_t tie_breaker;
	int use_candidate; /* USE-CANDIDATE (controlling only) */
};

/* Each returns the message length or a negative error. */
int stun_build_binding_request(uint8_t *buf, size_t cap, const struct stun_binding_req *r);
/* XOR-MAPPED-ADDRESS = where the request came from; key = our ice-pwd. */
int stun_build_binding_success(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN],
        const struct stun_addr *mapped, const char *password);
/*
 * Binding error response with ERROR-CODE (e.g. 400, 401, 420, 487). key
 * NULL leaves out MESSAGE-INTEGRITY (RFC 8489 §6.3.4: a 400 or 401 answer
 * to a request whose credentials failed carries none). unknown/n_unknown
 * fill UNKNOWN-ATTRIBUTES for a 420.
 */
int stun_build_binding_error(uint8_t *buf, size_t cap, const uint8_t tid[STUN_TID_LEN], int code,
        const char *password, const uint16_t *unknown, int n_unknown);

/* Default reason phrase of an error code. */
const char *stun_error_reason(int code);

#endif
