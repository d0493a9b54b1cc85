/*
 * err: the small negative error vocabulary shared by the library folders.
 * Library functions return 0 (or a length) on success and one of these,
 * negated errno values, on failure. They never exit.
 */
#ifndef LK_ERR_H
#define LK_ERR_H

enum lk_err {
	LK_OK = 0,
	LK_EINVAL = -1001, /* malformed input */
	LK_ETOOBIG = -1002, /* over a size limit */
	LK_ETYPE = -1003, /* wrong type in a decoded message */
	LK_ETRAIL = -1004, /* trailing bytes after a message */
	LK_EVERSION = -1005, /* protocol version mismatch */
	LK_ENOMEM = -1006,
	LK_EAUTH = -1007, /* signature / credential rejected */
	LK_EEXPIRED = -1008, /* token expired or not yet valid */
	LK_ECLOSED = -1009, /* peer gone */
	LK_EAGAIN = -1010,
	LK_EIO = -1011,
	LK_ENOTFOUND = -1012,
};

/* Short text for an lk_err or a negated errno. */
const char *lk_strerror(int err);

#endif
