import type { FastifyBaseLogger } from 'fastify';
import type { BackgroundTasks } from '../../platform/background.ts';
import { maskPhoneNumber } from '../phone.ts';
import type { Metrics } from '../../platform/metrics.ts';
import { retry } from '../../platform/retry.ts';
import { SmsError, type SmsProvider } from './provider.ts';

export interface SmsRetrySettings {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_SMS_BASE_DELAY_MS = 500;
export const DEFAULT_SMS_MAX_DELAY_MS = 8_000;

/**
 * Sends text messages in the background — the HTTP response never waits for the provider — with
 * retries; shutdown awaits them through BackgroundTasks. Logs say who and what went wrong, never
 * the message text (it holds the code).
 */
export class SmsSender {
  constructor(
    readonly provider: SmsProvider,
    private readonly background: BackgroundTasks,
    private readonly log: FastifyBaseLogger,
    private readonly settings: SmsRetrySettings,
    private readonly metrics: Metrics,
  ) {}

  send(to: string, body: string): void {
    this.background.run('sms', () => this.deliver(to, body));
  }

  /** Resolves whether or not the message went out (failures are logged). */
  async deliver(to: string, body: string): Promise<boolean> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.settings;
    const recipient = maskPhoneNumber(to);
    const provider = this.provider.name;
    try {
      const attempt = await retry(
        async (attempt) => {
          await this.provider.send(to, body);
          return attempt;
        },
        {
          attempts: maxAttempts,
          baseDelayMs,
          maxDelayMs,
          shouldRetry: (error) => !(error instanceof SmsError) || error.retryable,
          onFailedAttempt: (error, attempt, nextDelayMs) =>
            this.log.warn(
              { provider, to: recipient, attempt, maxAttempts, retryInMs: nextDelayMs ?? null, reason: describe(error) },
              'SMS attempt failed',
            ),
        },
      );
      // The console provider's own line says it was logged, not sent: one line per code.
      if (this.provider.sends) this.log.info({ provider, to: recipient, attempt }, 'SMS sent');
      this.metrics.smsSends.inc({ outcome: this.provider.sends ? 'sent' : 'logged' });
      return true;
    } catch (error) {
      this.log.error({ provider, to: recipient, reason: describe(error) }, 'SMS delivery failed');
      this.metrics.smsSends.inc({ outcome: 'failed' });
      return false;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
