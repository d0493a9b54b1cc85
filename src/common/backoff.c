/*
 * backoff: reconnect delays for the supervisor's server connection,
 * min(2 s * attempt, 10 s) plus up to 1 s of jitter. Pure arithmetic.
 */
#include "common/backoff.h"

uint32_t
backoff_base_ms(unsigned attempt)
{
	/* Compare before multiplying so large attempt counts cannot overflow. */
	if (attempt >= BACKOFF_MAX_MS / BACKOFF_STEP_MS)
		return BACKOFF_MAX_MS;
	return (uint32_t)attempt * BACKOFF_STEP_MS;
}

uint32_t
backoff_delay_ms(unsigned attempt, uint32_t rnd)
{
	return backoff_base_ms(attempt) + rnd % (BACKOFF_JITTER_MS + 1);
}
