import pino, { type Logger } from 'pino';
import type { Config } from '../config.ts';

/** Paths that may hold a bearer token, an OTP or a credential; pino replaces them with [redacted]. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'otp',
  'code',
  'token',
  '*.otp',
  '*.code',
  '*.token',
  '*.authToken',
  '*.appSecret',
];

export function createLogger(config: Pick<Config, 'logLevel' | 'env'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  if (config.env === 'development' && process.stdout.isTTY) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  // Synchronous writes: the last lines ("server stopped") are out before process.exit, and a closed
  // stdout (EPIPE) just drops lines. An asynchronous destination flushes at exit in a loop that
  // never ends on EPIPE, so a server whose log reader has gone could not be stopped by a signal.
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
