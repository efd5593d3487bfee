import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import { ConsoleSmsProvider } from './console.ts';
import type { SmsProvider } from './provider.ts';
import { TwilioSmsProvider } from './twilio.ts';

export function createSmsProvider(config: Pick<Config, 'smsProvider' | 'twilio'>, log: FastifyBaseLogger): SmsProvider {
  if (config.smsProvider === 'twilio') {
    if (!config.twilio) throw new Error('SMS_PROVIDER=twilio needs the Twilio settings');
    return new TwilioSmsProvider(config.twilio);
  }
  return new ConsoleSmsProvider(log);
}
