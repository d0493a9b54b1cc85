/*
 * load: CPU utilisation sampling for availability answers and
 * UpdateWorkerStatus.load. Runs in lk-supervisor on its libev loop; every
 * sample is a couple of small file reads, no allocation.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "common/util.h"
#include "supervisor/load.h"

#define SUP_LOAD_FILE_MAX 4096

struct sup_load {
	struct ev_loop *loop;
	ev_timer timer;
	char cg_stat[512]; /* cgroup v2 cpu.stat or v1 cpuacct.usage */
	char proc_stat[512];
	enum sup_load_source src;
	double cpus;
	int have_prev;
	uint64_t prev_usage; /* usec (cgroup) or jiffies busy (/proc/stat) */
	uint64_t prev_total; /* usec of wall time, or jiffies total */
	struct sup_load_avg avg;
};

/* Read a small text file into buf (NUL-terminated). 0, or -1 if absent or empty. */
static int
sup_load_read(const char *path, char *buf, size_t cap)
{
	return lk_read_text_file(path, buf, cap) > 0 ? 0 : -1;
}

int
sup_load_parse_u64(const char *text, uint64_t *v)
{
	unsigned long long x;
	char *end;

	while (isspace((unsigned char)*text))
		text++;
	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	x = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -1;
	*v = x;
	return 0;
}

/* Parse one decimal number at *p, advancing *p. 0 or -1. */
static int
sup_load_next_u64(const char **p, uint64_t *v)
{
	unsigned long long x;
	char *end;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	x = strtoull(*p, &end, 10);
	if (errno != 0)
		return -1;
	*p = end;
	*v = x;
	return 0;
}

int
sup_load_parse_cpu_stat(const char *text, uint64_t *usage_usec)
{
	const char *line = text;

	while (line != NULL && *line != '\0') {
		if (strncmp(line, "usage_usec", 10) == 0 && (line[10] == ' ' || line[10] == '\t')) {
			const char *p = line + 10;

			if (sup_load_next_u64(&p, usage_usec) != 0)
				return -1;
			return (*p == '\n' || *p == '\0' || isspace((unsigned char)*p)) ? 0 : -1;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return -1;
}

int
sup_load_parse_cpu_max(const char *text, double *cpus)
{
	const char *p = text;
	uint64_t quota = 0, period;
	int unlimited = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "max", 3) == 0) {
		unlimited = 1;
		p += 3;
	} else if (sup_load_next_u64(&p, &quota) != 0) {
		return -1;
	}
	if (*p != ' ' && *p != '\t')
		return -1;
	if (sup_load_next_u64(&p, &period) != 0 || period == 0)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -1;
	*cpus = unlimited ? 0.0 : (double)quota / (double)period;
	return 0;
}

int
sup_load_parse_cfs(const char *quota, const char *period, double *cpus)
{
	uint64_t q, per;
	const char *p = quota;

	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '-' && p[1] == '1') {
		/* cgroup v1: a quota of -1 means none. */
		p += 2;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			return -1;
		*cpus = 0.0;
		return 0;
	}
	if (sup_load_parse_u64(quota, &q) != 0 || sup_load_parse_u64(period, &per) != 0 || per == 0)
		return -1;
	*cpus = (double)q / (double)per;
	return 0;
}

int
sup_load_parse_proc_stat(const char *text, uint64_t *busy, uint64_t *total)
{
	/* proc(5): cpu user nice system idle iowait irq softirq steal [guest guest_nice] */
	uint64_t f[8];
	const char *p;
	unsigned i;

	if (strncmp(text, "cpu ", 4) != 0)
		return -1;
	p = text + 4;
	for (i = 0; i < 8; i++) {
		if (sup_load_next_u64(&p, &f[i]) != 0) {
			/* Kernels before 2.6.11 stop earlier; need at least user..idle. */
			if (i < 4)
				return -1;
			f[i] = 0;
		}
	}
	*total = 0;
	for (i = 0; i < 8; i++)
		*total += f[i];
	/* guest time is already inside user; idle and iowait are not busy. */
	*busy = *total - f[3] - f[4];
	return 0;
}

double
sup_load_utilisation(uint64_t d_usage_us, uint64_t d_wall_us, double cpus)
{
	double u;

	if (d_wall_us == 0 || cpus <= 0.0)
		return 0.0;
	u = (double)d_usage_us / ((double)d_wall_us * cpus);
	if (u < 0.0)
		u = 0.0;
	if (u > 1.0)
		u = 1.0;
	return u;
}

void
sup_load_avg_push(struct sup_load_avg *a, double v)
{
	a->v[a->next] = v;
	a->next = (a->next + 1) % SUP_LOAD_SAMPLES;
	if (a->n < SUP_LOAD_SAMPLES)
		a->n++;
}

double
sup_load_avg_get(const struct sup_load_avg *a)
{
	double s = 0.0;
	unsigned i;

	if (a->n == 0)
		return 0.0;
	for (i = 0; i < a->n; i++)
		s += a->v[i];
	return s / a->n;
}

unsigned
sup_load_nproc(void)
{
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static uint64_t
sup_load_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Pick the source once: cgroup v2, then v1, then /proc/stat. */
static void
sup_load_probe(struct sup_load *ld, const char *root)
{
	char buf[SUP_LOAD_FILE_MAX], path[512], per[64];
	double nproc = sup_load_nproc(), quota = 0.0;
	uint64_t v;

	snprintf(path, sizeof(path), "%s/cpu.stat", root);
	if (sup_load_read(path, buf, sizeof(buf)) == 0 && sup_load_parse_cpu_stat(buf, &v) == 0) {
		ld->src = SUP_LOAD_CGROUP2;
		lk_strlcpy(ld->cg_stat, path, sizeof(ld->cg_stat));
		snprintf(path, sizeof(path), "%s/cpu.max", root);
		if (sup_load_read(path, buf, sizeof(buf)) != 0 ||
		        sup_load_parse_cpu_max(buf, &quota) != 0)
			quota = 0.0;
	} else {
		snprintf(path, sizeof(path), "%s/cpuacct/cpuacct.usage", root);
		if (sup_load_read(path, buf, sizeof(buf)) == 0 &&
		        sup_load_parse_u64(buf, &v) == 0) {
			ld->src = SUP_LOAD_CGROUP1;
			lk_strlcpy(ld->cg_stat, path, sizeof(ld->cg_stat));
			snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_quota_us", root);
			if (sup_load_read(path, buf, sizeof(buf)) == 0) {
				snprintf(path, sizeof(path), "%s/cpu/cpu.cfs_period_us", root);
				if (sup_load_read(path, per, sizeof(per)) != 0 ||
				        sup_load_parse_cfs(buf, per, &quota) != 0)
					quota = 0.0;
			}
		} else if (sup_load_read(ld->proc_stat, buf, sizeof(buf)) == 0) {
			ld->src = SUP_LOAD_PROCSTAT;
		} else {
			ld->src = SUP_LOAD_NONE;
		}
	}
	/* A quota below the CPU count is what the cgroup may really use. */
	ld->cpus = (quota > 0.0 && quota < nproc) ? quota : nproc;
}

void
sup_load_sample(struct sup_load *ld)
{
	char buf[SUP_LOAD_FILE_MAX];
	uint64_t usage, total, now;

	switch (ld->src) {
	case SUP_LOAD_CGROUP2:
	case SUP_LOAD_CGROUP1:
		if (sup_load_read(ld->cg_stat, buf, sizeof(buf)) != 0)
			return;
		if (ld->src == SUP_LOAD_CGROUP2) {
			if (sup_load_parse_cpu_stat(buf, &usage) != 0)
				return;
		} else {
			if (sup_load_parse_u64(buf, &usage) != 0)
				return;
			usage /= 1000; /* cpuacct.usage is in ns */
		}
		now = sup_load_mono_us();
		if (ld->have_prev && now > ld->prev_total && usage >= ld->prev_usage)
			sup_load_avg_push(&ld->avg,
			        sup_load_utilisation(
			                usage - ld->prev_usage, now - ld->prev_total, ld->cpus));
		ld->prev_usage = usage;
		ld->prev_total = now;
		ld->have_prev = 1;
		break;
	case SUP_LOAD_PROCSTAT:
		if (sup_load_read(ld->proc_stat, buf, sizeof(buf)) != 0 ||
		        sup_load_parse_proc_stat(buf, &usage, &total) != 0)
			return;
		if (ld->have_prev && total > ld->prev_total && usage >= ld->prev_usage)
			/* Both counters are in jiffies across all CPUs: the ratio is the load. */
			sup_load_avg_push(&ld->avg,
			        sup_load_utilisation(
			                usage - ld->prev_usage, total - ld->prev_total, 1.0));
		ld->prev_usage = usage;
		ld->prev_total = total;
		ld->have_prev = 1;
		break;
	case SUP_LOAD_NONE:
		break;
	}
}

static void
sup_load_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_load_sample(w->data);
}

struct sup_load *
sup_load_new(struct ev_loop *loop, const struct sup_load_opts *opts)
{
	struct sup_load *ld = lk_xcalloc(1, sizeof(*ld));
	const char *root = "/sys/fs/cgroup";
	int interval = SUP_LOAD_INTERVAL_MS;

	ld->loop = loop;
	lk_strlcpy(ld->proc_stat, "/proc/stat", sizeof(ld->proc_stat));
	if (opts != NULL) {
		if (opts->cgroup_root != NULL)
			root = opts->cgroup_root;
		if (opts->proc_stat != NULL)
			lk_strlcpy(ld->proc_stat, opts->proc_stat, sizeof(ld->proc_stat));
		if (opts->interval_ms > 0)
			interval = opts->interval_ms;
	}
	sup_load_probe(ld, root);
	sup_load_sample(ld);
	if (loop != NULL) {
		ev_timer_init(&ld->timer, sup_load_timer_cb, interval / 1000.0, interval / 1000.0);
		ld->timer.data = ld;
		ev_timer_start(loop, &ld->timer);
		/* Sampling alone must not keep the loop alive at shutdown. */
		ev_unref(loop);
	}
	return ld;
}

double
sup_load_get(const struct sup_load *ld)
{
	return ld != NULL ? sup_load_avg_get(&ld->avg) : 0.0;
}

enum sup_load_source
sup_load_source(const struct sup_load *ld)
{
	return ld->src;
}

const char *
sup_load_source_name(enum sup_load_source src)
{
	switch (src) {
	case SUP_LOAD_CGROUP2:
		return "cgroup2";
	case SUP_LOAD_CGROUP1:
		return "cgroup1";
	case SUP_LOAD_PROCSTAT:
		return "procstat";
	case SUP_LOAD_NONE:
		break;
	}
	return "none";
}

double
sup_load_cpus(const struct sup_load *ld)
{
	return ld->cpus;
}

void
sup_load_free(struct sup_load *ld)
{
	if (ld == NULL)
		return;
	if (ld->loop != NULL) {
		ev_ref(ld->loop);
		ev_timer_stop(ld->loop, &ld->timer);
	}
	free(ld);
}
