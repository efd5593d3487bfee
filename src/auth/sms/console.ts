import type { FastifyBaseLogger } from 'fastify';
import type { SmsProvider } from './provider.ts';

/**
 * Development provider: writes the message (code included — that is its purpose) to the log
 * instead of sending it. Its line is the only one a code gets: nothing was sent to report.
 */
export class ConsoleSmsProvider implements SmsProvider {
  readonly name = 'console';
  readonly sends = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  async send(to: string, body: string): Promise<void> {
    this.log.info(
      { sms: { to, message: body } },
      'SMS logged, not sent: SMS_PROVIDER=console is a development provider that only logs it',
    );
  }
}
