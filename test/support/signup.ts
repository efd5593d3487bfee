import type { TestApp } from './app.ts';
import type { FakeTwilio } from './fake-twilio.ts';

let phoneCounter = 0;
let ipCounter = 0;

/** A valid Indian mobile number, in a number range no other test in this process uses. */
export function uniquePhone(): string {
  phoneCounter++;
  // The counter in the range digits: numbers that share all but their last 4 digits count
  // together (OTP_PER_PREFIX_PER_HOUR), and tests mean different people.
  return `+9197${String(phoneCounter).padStart(4, '0')}${String(process.pid % 10_000).padStart(4, '0')}`;
}

/** A client address no other test in this process uses (for `inject({ remoteAddress })`). */
export function uniqueIp(): string {
  ipCounter++;
  return `10.${process.pid % 250}.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

export function postSignup(t: TestApp, body: unknown, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/signup', payload: body as object, remoteAddress, headers });
}

/** Requests a code, waits for the background SMS, and returns the code the fake Twilio received. */
export async function requestCode(t: TestApp, fake: FakeTwilio, phone: string, name = 'Asha', ip = uniqueIp()): Promise<string> {
  const response = await postSignup(t, { name, phone_number: phone }, ip);
  if (response.statusCode !== 200) throw new Error(`requesting a code: ${response.statusCode} ${response.body}`);
  await t.deps.background.drain();
  const code = fake.codeFor(phone, t.config.otp.length);
  if (!code) throw new Error(`no SMS to ${phone}: ${JSON.stringify(fake.requests.filter((r) => r.to === phone))}`);
  return code;
}

/** Signs up (or in) through the API and returns the token and user. */
export async function signIn(t: TestApp, fake: FakeTwilio, phone = uniquePhone(), name = 'Asha') {
  const ip = uniqueIp();
  const code = await requestCode(t, fake, phone, name, ip);
  const response = await postSignup(t, { phone_number: phone, otp: code }, ip);
  if (response.statusCode !== 200) throw new Error(`verifying: ${response.statusCode} ${response.body}`);
  const body = response.json<{ token: string; data: { id: number } }>();
  return { token: body.token, user: body.data, headers: { authorization: `Bearer ${body.token}` } };
}
