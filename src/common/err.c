/*
 * err: text for the shared negative error codes (lk_err and negated errno).
 * Pure; linked into every lkworker process.
 */
#include <string.h>

#include "common/err.h"

const char *
lk_strerror(int err)
{
	switch (err) {
	case LK_OK:
		return "ok";
	case LK_EINVAL:
		return "malformed input";
	case LK_ETOOBIG:
		return "over size limit";
	case LK_ETYPE:
		return "wrong type";
	case LK_ETRAIL:
		return "trailing bytes";
	case LK_EVERSION:
		return "version mismatch";
	case LK_ENOMEM:
		return "out of memory";
	case LK_EAUTH:
		return "authentication failed";
	case LK_EEXPIRED:
		return "token expired or not yet valid";
	case LK_ECLOSED:
		return "peer closed";
	case LK_EAGAIN:
		return "try again";
	case LK_EIO:
		return "i/o error";
	case LK_ENOTFOUND:
		return "not found";
	default:
		break;
	}
	/* Negated errno values live in (-1000, 0). */
	if (err < 0 && err > -1000)
		return strerror(-err);
	return "unknown error";
}
