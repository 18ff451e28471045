import { pino, type Logger } from 'pino';

/**
 * The project's logger. Logs go to stderr so that stdout stays free for results; level from
 * SMFT_LOG_LEVEL (default info). Tests set it to 'silent'.
 */
export const log: Logger = pino(
  { name: 'smft', level: process.env.SMFT_LOG_LEVEL ?? 'info', base: undefined },
  pino.destination({ fd: 2, sync: true }),
);
