import type { TwilioConfig } from '../../config.ts';
import { SmsError, type SmsProvider } from './provider.ts';

const REQUEST_TIMEOUT_MS = 10_000;

/** Twilio's Messages API: form-encoded To/From/Body, HTTP basic auth with the account SID and token. */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio';
  readonly sends = true;
  private readonly url: string;
  private readonly authorization: string;

  constructor(private readonly config: TwilioConfig) {
    this.url = `${config.apiBase}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`;
  }

  async send(to: string, body: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { authorization: this.authorization, accept: 'application/json' },
        body: new URLSearchParams({ To: to, From: this.config.from, Body: body }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new SmsError(`Twilio unreachable: ${describeNetworkError(error)}`, true);
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const detail = await twilioErrorDetail(response);
    const retryable = response.status === 429 || response.status >= 500;
    throw new SmsError(`Twilio answered ${response.status}${detail}`, retryable, response.status);
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}

/** Twilio's error code and message (they describe the request, never echo the body text). */
async function twilioErrorDetail(response: Response): Promise<string> {
  try {
    const payload = (await response.json()) as { code?: unknown; message?: unknown };
    const code = typeof payload.code === 'number' ? ` error ${payload.code}` : '';
    const message = typeof payload.message === 'string' ? `: ${payload.message.slice(0, 200)}` : '';
    return `${code}${message}`;
  } catch {
    return '';
  }
}
