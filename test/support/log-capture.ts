import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../../src/platform/logger.ts';

/** A logger configured like the app's (redaction included) whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[]; text(): string } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
  return {
    logger,
    get lines() {
      return raw.flatMap((chunk) =>
        chunk
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      );
    },
    text: () => raw.join(''),
  };
}

/** True if `code` appears in `text` as a run of digits of its own (not inside a longer number). */
export function containsCode(text: string, code: string): boolean {
  return new RegExp(`(?<![0-9])${code}(?![0-9])`).test(text);
}
