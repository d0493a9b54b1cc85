/*
 * loop_check: the end-of-test check every Check suite with a libev loop
 * runs (STYLE: a test leaves no watcher behind).
 */
#ifndef LK_TESTS_LOOP_CHECK_H
#define LK_TESTS_LOOP_CHECK_H

struct ev_loop;

/* Fails the current test if any watcher is still active on loop. */
void loop_check_no_watchers(struct ev_loop *loop);

#endif
