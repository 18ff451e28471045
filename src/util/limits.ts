/** Bounds of numeric settings, shared by the command line and the configuration files. */

/** Seeds are taken modulo 2^32 by the generator (src/util/rng.ts): the valid range is 0 … 2^32 − 1. */
export const SEED_MAX = 0xffffffff;

/** Bootstrap iterations: a typo guard (10^5 resamples give p-values down to 10^-5; memory grows with iterations × words). */
export const BOOTSTRAP_MAX = 100_000;

/** Worker threads, even with --oversubscribe. */
export const THREADS_MAX = 1024;
