import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from './wait.ts';

/** One request as the fake received it. */
export interface TwilioRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  /** Basic auth matched the account SID and auth token. */
  authorized: boolean;
  to: string | null;
  from: string | null;
  body: string | null;
  /** The status answered; undefined while the request is still being delayed or held. */
  status?: number;
}

export interface FakeTwilioBehaviour {
  /** Wait this long before answering each request. */
  delayMs?: number;
  /** Answer the next `failures` requests with `failureStatus` (Infinity: all of them). */
  failures?: number;
  failureStatus?: number;
}

export interface FakeTwilio {
  url: string;
  accountSid: string;
  authToken: string;
  from: string;
  /** The environment that points the app at this fake. */
  env: Record<string, string>;
  /** Every request received, failed ones included, in arrival order. */
  requests: TwilioRequest[];
  /** The requests answered 201 (the messages "sent"). */
  messages(): TwilioRequest[];
  behave(behaviour: FakeTwilioBehaviour): void;
  /** Holds every request (after its delay) until `resume()`. */
  pause(): void;
  resume(): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  /** Waits until `count` requests have been answered. */
  waitForAnswers(count: number, timeoutMs?: number): Promise<void>;
  /** The code in the latest message sent to `to` (the only run of `length` digits in its body). */
  codeFor(to: string, length?: number): string | undefined;
  close(): Promise<void>;
}

/**
 * A stand-in for Twilio's Messages API on 127.0.0.1: it checks the path, form encoding and basic
 * auth the way Twilio does, records what it receives, and can be slowed down, held, or made to fail.
 */
export async function startFakeTwilio(behaviour: FakeTwilioBehaviour = {}): Promise<FakeTwilio> {
  const accountSid = 'AC00000000000000000000000000000001';
  const authToken = 'fake-twilio-auth-token';
  const from = '+15005550006';
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const messagesPath = `/2010-04-01/Accounts/${accountSid}/Messages.json`;

  let current: Required<FakeTwilioBehaviour> = { delayMs: 0, failures: 0, failureStatus: 500, ...behaviour };
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const requests: TwilioRequest[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const wake of waiters) wake();
  };

  const answer = (res: ServerResponse, record: TwilioRequest, status: number, payload: object) => {
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    notify();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const record: TwilioRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      contentType: req.headers['content-type'],
      authorized: req.headers.authorization === expectedAuth,
      to: form.get('To'),
      from: form.get('From'),
      body: form.get('Body'),
    };
    requests.push(record);
    notify();

    if (current.delayMs > 0) await sleep(current.delayMs);
    if (gate) await gate.promise;

    if (record.method !== 'POST' || record.path !== messagesPath) {
      return answer(res, record, 404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    }
    if (!record.authorized) return answer(res, record, 401, { code: 20003, message: 'Authenticate', status: 401 });
    if (!record.contentType?.startsWith('application/x-www-form-urlencoded') || !record.to || !record.from || !record.body) {
      return answer(res, record, 400, { code: 21604, message: 'A required parameter is missing', status: 400 });
    }
    if (current.failures > 0) {
      current.failures--;
      const status = current.failureStatus;
      return answer(res, record, status, { code: status === 400 ? 21211 : 20500, message: 'Simulated failure', status });
    }
    answer(res, record, 201, { sid: `SM${requests.length}`, to: record.to, from: record.from, status: 'queued' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const waitFor = (what: string, condition: () => boolean, timeoutMs: number): Promise<void> =>
    waitUntil(
      waiters,
      () => condition() || undefined,
      timeoutMs,
      () => `fake Twilio: timed out waiting for ${what}; requests: ${JSON.stringify(requests)}`,
    ).then(() => {});

  const messages = () => requests.filter((request) => request.status === 201);

  return {
    url,
    accountSid,
    authToken,
    from,
    env: {
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
      TWILIO_FROM: from,
      TWILIO_API_BASE: url,
      // Sending real codes needs a real key for their HMACs, whatever ENV says.
      APP_SECRET: 'fake-twilio-test-secret',
    },
    requests,
    messages,
    behave(next) {
      current = { ...current, ...next };
    },
    pause() {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    resume() {
      gate?.open();
      gate = undefined;
    },
    waitForRequests: (count, timeoutMs = 10_000) => waitFor(`${count} requests`, () => requests.length >= count, timeoutMs),
    waitForMessages: (count, timeoutMs = 10_000) => waitFor(`${count} messages`, () => messages().length >= count, timeoutMs),
    waitForAnswers: (count, timeoutMs = 10_000) =>
      waitFor(`${count} answers`, () => requests.filter((r) => r.status !== undefined).length >= count, timeoutMs),
    codeFor(to, length = 6) {
      const body = messages().findLast((message) => message.to === to)?.body;
      return body?.match(new RegExp(`(?<![0-9])[0-9]{${length}}(?![0-9])`))?.[0];
    },
    async close() {
      gate?.open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
