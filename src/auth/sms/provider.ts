/** Sends one text message; throws SmsError when it could not. */
export interface SmsProvider {
  readonly name: string;
  send(to: string, body: string): Promise<void>;
}

/** A failed send. Its message never contains the text that was sent. */
export class SmsError extends Error {
  constructor(
    message: string,
    /** Worth another attempt: network trouble, 429 or 5xx — not a number the provider refuses. */
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SmsError';
  }
}
