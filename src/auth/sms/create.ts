import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.ts';
import { ConsoleSmsProvider } from './console.ts';
import type { SmsProvider } from './provider.ts';
import { TwilioSmsProvider } from './twilio.ts';

export function createSmsProvider(config: Pick<Config, 'smsProvider' | 'twilio' | 'env'>, log: FastifyBaseLogger): SmsProvider {
  if (config.smsProvider === 'twilio') {
    if (!config.twilio) throw new Error('SMS_PROVIDER=twilio needs the Twilio settings');
    return new TwilioSmsProvider(config.twilio);
  }
  if (config.env === 'production') {
    log.warn('SMS_PROVIDER=console in production: codes are written to the log and no SMS is sent; set SMS_PROVIDER=twilio');
  }
  return new ConsoleSmsProvider(log);
}
