import type { FastifyBaseLogger } from 'fastify';
import type { SmsProvider } from './provider.ts';

/**
 * Development provider: writes the message (code included — that is its purpose) to the log
 * instead of sending it.
 */
export class ConsoleSmsProvider implements SmsProvider {
  readonly name = 'console';

  constructor(private readonly log: FastifyBaseLogger) {}

  async send(to: string, body: string): Promise<void> {
    this.log.info(
      { sms: { to, message: body } },
      'SMS not sent: SMS_PROVIDER=console is a development provider that only logs it',
    );
  }
}
