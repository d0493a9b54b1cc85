/*
 * load: the worker's CPU load (0..1) as the Python worker measures it:
 * utilisation sampled every 0.5 s from cgroup v2 cpu.stat (quota from
 * cpu.max), else cgroup v1 cpuacct.usage, else /proc/stat, averaged over the
 * last 5 samples. Runs in lk-supervisor on its libev loop. The parsers take
 * text so they can be tested without /sys.
 */
#ifndef LK_SUP_LOAD_H
#define LK_SUP_LOAD_H

#include <stdint.h>

struct ev_loop;
struct sup_load;

#define SUP_LOAD_INTERVAL_MS 500
#define SUP_LOAD_SAMPLES 5

struct sup_load_opts {
	const char *cgroup_root; /* NULL = /sys/fs/cgroup */
	const char *proc_stat; /* NULL = /proc/stat */
	int interval_ms; /* 0 = SUP_LOAD_INTERVAL_MS */
};

enum sup_load_source {
	SUP_LOAD_NONE = 0,
	SUP_LOAD_CGROUP2,
	SUP_LOAD_CGROUP1,
	SUP_LOAD_PROCSTAT,
};

/* CPUs this process may run on (the affinity mask, as nproc prints). */
unsigned sup_load_nproc(void);

/* Starts sampling at once (the first sample sets the baseline). */
struct sup_load *sup_load_new(struct ev_loop *loop, const struct sup_load_opts *opts);
/* Moving average, 0..1; 0 until two samples exist. */
double sup_load_get(const struct sup_load *ld);
enum sup_load_source sup_load_source(const struct sup_load *ld);
const char *sup_load_source_name(enum sup_load_source src);
/* CPUs the load is measured against (quota or the affinity mask). */
double sup_load_cpus(const struct sup_load *ld);
/* Take one sample now (tests and the timer). */
void sup_load_sample(struct sup_load *ld);
void sup_load_free(struct sup_load *ld);

/* cgroup v2 cpu.stat: the usage_usec line. 0 or -1. */
int sup_load_parse_cpu_stat(const char *text, uint64_t *usage_usec);
/*
 * cgroup v2 cpu.max "QUOTA PERIOD" or "max PERIOD": *cpus = QUOTA/PERIOD, or
 * 0 when there is no quota. 0 or -1.
 */
int sup_load_parse_cpu_max(const char *text, double *cpus);
/* cgroup v1 cpu.cfs_quota_us + cpu.cfs_period_us texts; -1 quota gives 0 CPUs. */
int sup_load_parse_cfs(const char *quota, const char *period, double *cpus);
/* One unsigned decimal number (cpuacct.usage), surrounding space allowed. */
int sup_load_parse_u64(const char *text, uint64_t *v);
/*
 * /proc/stat aggregate "cpu " line: busy = all time but idle and iowait,
 * total = user..steal. 0 or -1.
 */
int sup_load_parse_proc_stat(const char *text, uint64_t *busy, uint64_t *total);

/* Utilisation of cpus CPUs by d_usage_us of CPU time over d_wall_us, clamped 0..1. */
double sup_load_utilisation(uint64_t d_usage_us, uint64_t d_wall_us, double cpus);

/* Moving average over the last SUP_LOAD_SAMPLES values. */
struct sup_load_avg {
	double v[SUP_LOAD_SAMPLES];
	unsigned n;
	unsigned next;
};
void sup_load_avg_push(struct sup_load_avg *a, double v);
double sup_load_avg_get(const struct sup_load_avg *a);

#endif
