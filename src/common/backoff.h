/*
 * backoff: reconnect delays, as the Python worker does:
 * min(2 * attempt, 10) s, plus up to 1 s of jitter. attempt counts from 0
 * (the first retry is immediate apart from jitter).
 */
#ifndef LK_BACKOFF_H
#define LK_BACKOFF_H

#include <stdint.h>

#define BACKOFF_STEP_MS 2000
#define BACKOFF_MAX_MS 10000
#define BACKOFF_JITTER_MS 1000

/* Base delay for this attempt, without jitter. */
uint32_t backoff_base_ms(unsigned attempt);
/* Base delay plus jitter derived from rnd (rnd % (BACKOFF_JITTER_MS + 1)). */
uint32_t backoff_delay_ms(unsigned attempt, uint32_t rnd);

#endif
