/*
 * agents_opts: knobs of lk-devserver's /agent endpoint (agents.c) that only
 * tests turn. Runs in lk-devserver and its unit tests.
 */
#ifndef LK_DS_AGENTS_OPTS_H
#define LK_DS_AGENTS_OPTS_H

struct ds_agents;

/*
 * Override RegisterTimeout and AssignJobTimeout (seconds, both 10 by
 * default, as livekit-server), so tests can reach the timeout paths quickly.
 * Applies to timers started afterwards; a value <= 0 keeps the current one.
 */
void ds_agents_set_timeouts(struct ds_agents *ag, double register_s, double assign_s);

#endif
