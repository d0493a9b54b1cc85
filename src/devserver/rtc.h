/*
 * rtc: lk-devserver's room signalling endpoint, /rtc (livekit v0 "dual
 * PC" protocol, binary protobuf SignalRequest/SignalResponse over a
 * WebSocket) and /rtc/validate. /rtc/v1 answers 404 so that clients fall
 * back to /rtc. Join, leave and keepalive here; media requests go to the
 * SFU (sfu.h) when one is attached. Runs in lk-devserver only.
 */
#ifndef LK_DS_RTC_H
#define LK_DS_RTC_H

#include <stddef.h>

struct ds;
struct ds_rtc;
struct ds_sfu;
struct http_req;

#define DS_RTC_MAX_MSG (2 * 1024 * 1024) /* livekit-server's WebSocket read limit */
#define DS_RTC_PING_INTERVAL_S 5 /* JoinResponse.ping_interval */
#define DS_RTC_PING_TIMEOUT_S 15 /* JoinResponse.ping_timeout */
#define DS_RTC_WS_PING_S 10.0 /* WebSocket ping control frames */
#define DS_RTC_IDLE_CLOSE_MS 35000 /* nothing received: the peer is gone */
#define DS_RTC_PROTOCOL 17 /* ServerInfo.protocol */

struct ds_rtc *ds_rtc_new(struct ds *ds);
/* Close every signalling connection (without callbacks) and free. */
void ds_rtc_free(struct ds_rtc *rtc);

/* True for the paths ds_rtc_handle serves: /rtc, /rtc/validate, /rtc/v1... */
int ds_rtc_path(const char *path);
/* Serve one request on an rtc path (normalised; authenticates it itself). */
void ds_rtc_handle(struct ds_rtc *rtc, struct http_req *req, const char *path);

/* Open signalling connections (joined or not yet). */
int ds_rtc_count(const struct ds_rtc *rtc);

/*
 * Serve media through sfu (owned by the caller, freed after
 * ds_rtc_free): every participant joining from now on gets transports
 * and a subscriber offer. Without it, media requests are skipped.
 */
void ds_rtc_set_sfu(struct ds_rtc *rtc, struct ds_sfu *sfu);

#endif
