/*
 * loop_check: with no active watchers ev_run returns at once. A guard
 * timer, unreferenced so that it does not keep the loop alive itself, turns
 * a leftover watcher into a test failure after 2 s instead of a hang.
 */
#include <check.h>
#include <ev.h>

#include "loop_check.h"

static void
loop_check_leak_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int *leak = w->data;

	(void)revents;
	*leak = 1;
	ev_break(loop, EVBREAK_ALL);
}

void
loop_check_no_watchers(struct ev_loop *loop)
{
	ev_timer guard;
	int leak = 0;

	ev_timer_init(&guard, loop_check_leak_cb, 2.0, 0.0);
	guard.data = &leak;
	ev_timer_start(loop, &guard);
	ev_unref(loop);
	ev_run(loop, 0);
	ev_ref(loop);
	ev_timer_stop(loop, &guard);
	ck_assert_msg(!leak, "watchers left active on the loop");
}
