/*
 * scripts: the registry of job scripts a job process can run, and the
 * built-in ones: noop, tone, echo, record, plus crash/hang/fail for the
 * supervisor's tests. Runs in lk-jobproc.
 */
#ifndef LK_SCRIPTS_H
#define LK_SCRIPTS_H

#include <stddef.h>

#include "jobproc/room.h"

struct job;

struct script {
	const char *name;
	const char *help;
	/*
	 * Called once, before the room is joined (job_media() exists already:
	 * taps and publications registered here start with the room). args:
	 * the free-form script arguments (may be NULL). Returns 0, or a
	 * negative lk_err with a message in err: the job then fails. A script
	 * that ends on its own calls job_script_done().
	 */
	int (*start)(struct job *job, const char *args, char *err, size_t errlen);
	/* Called once in the shutdown cascade if start succeeded; may be NULL. */
	void (*stop)(struct job *job);
	/* Room events forwarded to the script (arg is the job); may be NULL. */
	const struct room_events *events;
};

/* NULL when no script has that name. */
const struct script *script_find(const char *name);
/* The table, NULL-name terminated (for --help). */
const struct script *script_table(void);

#endif
