/*
 * fuzz_ipc: ipc_unpack on arbitrary datagrams. Whatever it accepts must pack
 * again and decode to the same message (the strict reader and the packer
 * agree). Built into replay_ipc for make check, or linked with libFuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg m1, m2;
	uint8_t *buf;
	int n;

	if (ipc_unpack(data, size, &m1) != 0)
		return 0;
	/* an accepted message is never larger once re-packed in canonical form */
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	n = ipc_pack(&m1, buf, size);
	if (n < 0 || (size_t)n > size)
		abort();
	if (ipc_unpack(buf, (size_t)n, &m2) != 0 || !ipc_msg_equal(&m1, &m2))
		abort();
	free(buf);
	return 0;
}
