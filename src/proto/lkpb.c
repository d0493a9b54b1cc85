/*
 * lkpb: encode/decode/free wrappers around nanopb for the generated
 * LiveKit messages. Pure library code, linked into every process that
 * speaks protobuf (supervisor, job process, dev server).
 */
#include <stdlib.h>
#include <string.h>

#include <pb_common.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "common/err.h"
#include "proto/lkpb.h"

/*
 * End of the last member of the struct fields describes, measured from
 * msg. pb_msgdesc_t carries no struct size, so it is derived from the
 * field layout; trailing padding is not covered, which is harmless.
 */
static size_t
lkpb_extent(const pb_msgdesc_t *fields, const void *msg)
{
	pb_field_iter_t it;
	size_t end = 0, e;
	const uint8_t *base = msg;

	if (!pb_field_iter_begin_const(&it, fields, msg))
		return 0;
	do {
		size_t storage;

		switch (PB_ATYPE(it.type)) {
		case PB_ATYPE_POINTER:
			storage = sizeof(void *);
			break;
		case PB_ATYPE_CALLBACK:
			storage = sizeof(pb_callback_t);
			break;
		default:
			storage = (size_t)it.data_size;
			if (PB_HTYPE(it.type) == PB_HTYPE_REPEATED)
				storage *= (size_t)it.array_size;
			break;
		}
		e = (size_t)((const uint8_t *)it.pField - base) + storage;
		if (e > end)
			end = e;
		if (it.pSize != NULL) {
			/* has_ flags are bool; counts and which_ tags pb_size_t. */
			size_t ssz = PB_HTYPE(it.type) == PB_HTYPE_OPTIONAL ? sizeof(bool)
			                                                    : sizeof(pb_size_t);

			e = (size_t)((const uint8_t *)it.pSize - base) + ssz;
			if (e > end)
				end = e;
		}
	} while (pb_field_iter_next(&it));
	return end;
}

int
lkpb_size(const pb_msgdesc_t *fields, const void *msg, size_t *size)
{
	if (fields == NULL || msg == NULL || size == NULL)
		return LK_EINVAL;
	if (!pb_get_encoded_size(size, fields, msg))
		return LK_EINVAL;
	return 0;
}

int
lkpb_encode(const pb_msgdesc_t *fields, const void *msg, struct buf *out)
{
	pb_ostream_t os;
	size_t size;
	int rc;

	if (out == NULL)
		return LK_EINVAL;
	if ((rc = lkpb_size(fields, msg, &size)) < 0)
		return rc;
	if (size == 0)
		return 0;
	/* Size first, so the buffer's limit is checked before any write. */
	if ((rc = buf_reserve(out, size)) < 0)
		return rc;
	os = pb_ostream_from_buffer(out->data + out->len, size);
	if (!pb_encode(&os, fields, msg) || os.bytes_written != size)
		return LK_EINVAL;
	out->len += size;
	return 0;
}

int
lkpb_decode(const pb_msgdesc_t *fields, void *msg, const uint8_t *data, size_t len, size_t limit)
{
	pb_istream_t is;
	size_t n;

	if (fields == NULL || msg == NULL || (data == NULL && len > 0))
		return LK_EINVAL;
	if ((n = lkpb_extent(fields, msg)) > 0)
		memset(msg, 0, n);
	/* Check the length before reading a byte. */
	if (len > limit)
		return LK_ETOOBIG;
	is = pb_istream_from_buffer(data, len);
	/*
	 * pb_decode reads fields until the buffer ends, so every byte must
	 * belong to a well-formed field: trailing garbage fails the decode.
	 */
	if (!pb_decode(&is, fields, msg)) {
		lkpb_free(fields, msg);
		return LK_EINVAL;
	}
	if (is.bytes_left != 0) {
		lkpb_free(fields, msg);
		return LK_ETRAIL;
	}
	return 0;
}

void
lkpb_free(const pb_msgdesc_t *fields, void *msg)
{
	size_t n;

	if (fields == NULL || msg == NULL)
		return;
	pb_release(fields, msg);
	if ((n = lkpb_extent(fields, msg)) > 0)
		memset(msg, 0, n);
}

int
lkpb_copy(const pb_msgdesc_t *fields, void *dst, const void *src)
{
	struct buf b;
	size_t n;
	int rc;

	if (fields == NULL || dst == NULL || src == NULL || dst == src)
		return LK_EINVAL;
	if ((n = lkpb_extent(fields, dst)) > 0)
		memset(dst, 0, n);
	/* A round trip through the wire form gives a deep copy owned by dst. */
	buf_init(&b, 0);
	if ((rc = lkpb_encode(fields, src, &b)) == 0)
		rc = lkpb_decode(fields, dst, b.data, b.len, b.len);
	buf_free(&b);
	return rc;
}

char *
lkpb_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return strdup(s);
}

pb_bytes_array_t *
lkpb_bytes(const void *data, size_t n)
{
	pb_bytes_array_t *b;

	/* pb_bytes_array_t.size is a pb_size_t (16 bits in this nanopb build). */
	if (n > PB_SIZE_MAX || (data == NULL && n > 0))
		return NULL;
	if ((b = malloc(PB_BYTES_ARRAY_T_ALLOCSIZE(n))) == NULL)
		return NULL;
	b->size = (pb_size_t)n;
	if (n > 0)
		memcpy(b->bytes, data, n);
	return b;
}

void *
lkpb_new(size_t size)
{
	return calloc(1, size > 0 ? size : 1);
}
