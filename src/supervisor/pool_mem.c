/*
 * pool_mem: lk-supervisor reading a job process's memory from /proc
 * (PSS from smaps_rollup, RSS from status) for the pool's warn/limit
 * checks and /debug/jobs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/pool_int.h"

/* The "Key:   1234 kB" line's number, or -1 when absent. */
static int
sup_procmem_field(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = text;
	char *end;
	unsigned long long v;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			errno = 0;
			v = strtoull(p + klen + 1, &end, 10);
			if (errno != 0 || end == p + klen + 1)
				return -1;
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

int
sup_procmem_read(pid_t pid, uint64_t *pss_kb, uint64_t *rss_kb)
{
	char path[64], buf[4096];
	int have = 0;

	*pss_kb = 0;
	*rss_kb = 0;
	/* PSS counts shared pages once per sharer: the fair share of a job */
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (lk_read_text_file(path, buf, sizeof(buf)) > 0 &&
	        sup_procmem_field(buf, "Pss", pss_kb) == 0)
		have = 1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (lk_read_text_file(path, buf, sizeof(buf)) > 0 &&
	        sup_procmem_field(buf, "VmRSS", rss_kb) == 0)
		have = 1;
	return have ? 0 : -ENOENT;
}
