/*
 * notify: the systemd service manager protocol (sd_notify(3)) spoken by
 * hand: datagrams to $NOTIFY_SOCKET with READY=1, STATUS=, STOPPING=1 and
 * WATCHDOG=1 every WATCHDOG_USEC/2. Runs in lk-supervisor; without
 * NOTIFY_SOCKET every call is a no-op.
 */
#ifndef LK_SUP_NOTIFY_H
#define LK_SUP_NOTIFY_H

struct ev_loop;
struct sup_notify;

/*
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, then removes them
 * from the environment so job processes never talk to systemd. Starts the
 * watchdog timer when systemd asks for one. Never fails: problems are logged.
 */
struct sup_notify *sup_notify_new(struct ev_loop *loop);
/* READY=1 / STATUS= / STOPPING=1 plus STATUS=status (NULL: none). 0 or -errno (logged). */
int sup_notify_ready(struct sup_notify *n, const char *status);
int sup_notify_status(struct sup_notify *n, const char *status);
int sup_notify_stopping(struct sup_notify *n, const char *status);
void sup_notify_free(struct sup_notify *n);

#endif
