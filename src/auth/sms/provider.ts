/** Sends one text message; throws SmsError when it could not. */
export interface SmsProvider {
  readonly name: string;
  /** False for a provider that only logs the message (console): the sender then reports nothing as sent. */
  readonly sends: boolean;
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
