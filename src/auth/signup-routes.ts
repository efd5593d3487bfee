import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../config.ts';
import type { Queryable } from '../platform/db/database.ts';
import { clientAddressKeys, type ClientKeys } from '../platform/http/client-ip.ts';
import { ErrorBody, HttpError, toHttpError } from '../platform/http/errors.ts';
import type { Metrics } from '../platform/metrics.ts';
import { unauthorized } from './guard.ts';
import type { OtpService } from './otp/service.ts';
import type { TestNumbers } from './otp/test-numbers.ts';
import { callingCodeOf, normaliseName, normalisePhoneNumber } from './phone.ts';
import { retryAfterSeconds, type LimitRule, type RateLimiter, type TakeResult } from './rate-limit/limiter.ts';
import type { Sessions } from './sessions.ts';
import type { Recipient, SmsBudget } from './sms-budget.ts';
import { smsRefusal, type SmsRefusal } from './sms-eligibility.ts';
import type { SmsSender } from './sms/sender.ts';
import { findOrCreateUser, hasAccount, UserSchema, userJson } from './users.ts';

export interface SignupOptions {
  config: Config;
  db: Queryable;
  otp: OtpService;
  rateLimiter: RateLimiter;
  sms: SmsSender;
  smsBudget: SmsBudget;
  testNumbers: TestNumbers;
  sessions: Sessions;
  metrics: Metrics;
}

const HOUR_MS = 60 * 60 * 1000;

const PhoneNumber = Type.String({ maxLength: 64, description: 'E.164, or a national number of DEFAULT_COUNTRY' });

// Validated as one object, so that a body of neither phase is refused with the field to blame
// ("name is required to request a code") rather than "must match exactly one schema in oneOf".
const SignupBody = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Required when requesting a code; ignored when verifying.' })),
    phone_number: PhoneNumber,
    otp: Type.Optional(Type.String({ description: 'The code received by SMS; present to verify, absent to request one.' })),
  },
  { additionalProperties: false },
);

const CodeRequest = Type.Object(
  {
    name: Type.String({ description: 'The name a new account gets: 1–100 characters once trimmed, no control characters' }),
    phone_number: PhoneNumber,
  },
  { title: 'SignupCodeRequest', additionalProperties: false, description: 'Phase 1: send a one-time code by SMS' },
);

const CodeVerification = Type.Object(
  {
    phone_number: PhoneNumber,
    otp: Type.String({ pattern: '^[0-9]+$', description: 'The code received by SMS (OTP_LENGTH digits)' }),
    name: Type.Optional(Type.String({ description: 'Ignored' })),
  },
  { title: 'SignupVerification', additionalProperties: false, description: 'Phase 2: verify the code to get a bearer token' },
);

/** The body as clients read it: one of the two phases, told apart by `otp`. */
const DocumentedSignupBody = {
  oneOf: [CodeRequest, CodeVerification],
  'x-examples': {
    requestCode: { summary: 'Phase 1: request a code', value: { name: 'Asha', phone_number: '+919876543210' } },
    verifyCode: { summary: 'Phase 2: verify it', value: { phone_number: '+919876543210', otp: '123456' } },
  },
};

const CodeSent = Type.Object(
  { success: Type.Boolean(), message: Type.String() },
  { title: 'SignupCodeSent', additionalProperties: false },
);

const SignedIn = Type.Object(
  {
    success: Type.Boolean(),
    message: Type.String(),
    data: UserSchema,
    token: Type.String({ description: 'The bearer token: `Authorization: Bearer <token>`' }),
    expiry: Type.String({ format: 'date-time' }),
  },
  { title: 'SignedIn' },
);

// Serialized as one object with the verify phase's fields optional; documented as either answer.
const SignupResponse = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  data: Type.Optional(UserSchema),
  token: Type.Optional(Type.String()),
  expiry: Type.Optional(Type.String({ format: 'date-time' })),
});

export function smsText(code: string): string {
  return `Your Cheershare code is ${code}`;
}

function otpRequestRules(phoneNumber: string, client: ClientKeys, otp: Config['otp']): LimitRule[] {
  const rules: LimitRule[] = [
    {
      name: 'otp-resend',
      key: `otp-resend:${phoneNumber}`,
      limit: 1,
      windowMs: otp.resendSeconds * 1000,
      message: 'a code was just sent to this number; wait before requesting another',
    },
    {
      name: 'otp-number',
      key: `otp-number:${phoneNumber}`,
      limit: otp.perNumberPerHour,
      windowMs: HOUR_MS,
      message: 'too many codes requested for this number; try again later',
    },
    {
      // Numbers that share all but their last 4 digits: the ranges SMS pumping walks through.
      name: 'otp-prefix',
      key: `otp-prefix:${phoneNumber.slice(0, -4)}`,
      limit: otp.perPrefixPerHour,
      windowMs: HOUR_MS,
      message: 'too many codes requested for numbers like this one; try again later',
    },
    {
      name: 'otp-ip',
      key: `otp-ip:${client.address}`,
      limit: otp.perIpPerHour,
      windowMs: HOUR_MS,
      message: 'too many code requests from this address; try again later',
    },
  ];
  if (client.network) {
    rules.push({
      name: 'otp-ip48',
      key: `otp-ip48:${client.network}`,
      limit: 4 * otp.perIpPerHour,
      windowMs: HOUR_MS,
      message: 'too many code requests from this network; try again later',
    });
  }
  return rules;
}

/**
 * Failed verifications per address (an IPv6 client per /64, and its /48 at 4×, as for sending) and,
 * for a test number, per number: its code never changes, so its wrong guesses add up across requests.
 */
function verifyRules(client: ClientKeys, otp: Config['otp'], testNumber: string | undefined): LimitRule[] {
  const rules: LimitRule[] = [
    {
      name: 'otp-verify-ip',
      key: `otp-verify-ip:${client.address}`,
      limit: otp.verifyPerIpPerHour,
      windowMs: HOUR_MS,
      message: 'too many failed verification attempts from this address; try again later',
    },
  ];
  if (client.network) {
    rules.push({
      name: 'otp-verify-ip48',
      key: `otp-verify-ip48:${client.network}`,
      limit: 4 * otp.verifyPerIpPerHour,
      windowMs: HOUR_MS,
      message: 'too many failed verification attempts from this network; try again later',
    });
  }
  if (testNumber !== undefined) {
    rules.push({
      name: 'otp-test-number',
      key: `otp-test-number:${testNumber}`,
      limit: otp.maxAttempts,
      windowMs: HOUR_MS,
      message: 'too many wrong codes for this number; it is locked for the hour',
    });
  }
  return rules;
}

function tooManyRequests(refusal: Extract<TakeResult, { allowed: false }>): HttpError {
  return new HttpError(429, refusal.rule.message, {
    code: 'rate_limited',
    headers: { 'retry-after': String(retryAfterSeconds(refusal.retryAfterMs)) },
  });
}

/** Whom the SMS budget sees: a number with an account draws on the share kept for returning people. */
async function recipientOf(db: Queryable, phoneNumber: string): Promise<Recipient> {
  return (await hasAccount(db, phoneNumber)) ? { known: true } : { known: false, callingCode: callingCodeOf(phoneNumber) };
}

const SMS_REFUSALS: Record<SmsRefusal, string> = {
  country_not_allowed: 'phone_number: codes are not sent to numbers of this country',
  number_type_not_allowed: 'phone_number: codes are sent to mobile numbers only',
};

/** `POST /signup`: without `otp`, sends a code by SMS; with it, verifies the code and issues a token. */
export const signupRoutes: FastifyPluginAsyncTypebox<SignupOptions> = async (
  app,
  { config, db, otp, rateLimiter, sms, smsBudget, testNumbers, sessions, metrics },
) => {
  const otpPattern = new RegExp(`^[0-9]{${config.otp.length}}$`);
  const refused = (refusal: Extract<TakeResult, { allowed: false }>): HttpError => {
    metrics.rateLimitRefusals.inc({ limit: refusal.rule.name });
    return tooManyRequests(refusal);
  };

  app.post(
    '/signup',
    {
      schema: {
        tags: ['auth'],
        operationId: 'signUp',
        summary: 'Request a one-time code by SMS (no otp), or verify one (with otp) to get a bearer token',
        body: SignupBody,
        response: { 200: SignupResponse, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
      config: { openapi: { body: DocumentedSignupBody, response: { 200: { oneOf: [CodeSent, SignedIn] } } } },
      // Every refusal, counted by what the client is told (the body may be anything here, or none).
      onError: async (request, _reply, error) => {
        const verifying = (request.body as { otp?: unknown } | null | undefined)?.otp !== undefined;
        (verifying ? metrics.otpVerifications : metrics.otpRequests).inc({ outcome: toHttpError(error).code });
      },
    },
    async (request) => {
      const body = request.body;
      const phoneNumber = normalisePhoneNumber(body.phone_number, config.defaultCountry);
      if (!phoneNumber) throw new HttpError(400, 'phone_number is not a valid phone number', { field: 'phone_number' });
      const client = clientAddressKeys(request.ip);

      if (body.otp === undefined) {
        if (body.name === undefined) throw new HttpError(400, 'name is required to request a code', { field: 'name' });
        const name = normaliseName(body.name);
        if ('error' in name) throw new HttpError(400, name.error, { field: 'name' });
        const testCode = testNumbers.codeFor(phoneNumber);
        if (testCode !== undefined) {
          // Nothing is sent, so none of the send limits apply; verifying works as for any number.
          await otp.issue(phoneNumber, name.name, testCode);
          metrics.otpRequests.inc({ outcome: 'test_number' });
          return { success: true, message: 'OTP sent successfully' };
        }
        const refusal = smsRefusal(phoneNumber, config.otp.allowedCountries);
        if (refusal) throw new HttpError(400, SMS_REFUSALS[refusal], { code: refusal, field: 'phone_number' });
        const taken = await rateLimiter.take(otpRequestRules(phoneNumber, client, config.otp));
        if (!taken.allowed) throw refused(taken);
        const budget = await smsBudget.take(await recipientOf(db, phoneNumber));
        if (!budget.allowed) {
          await rateLimiter.giveBack(taken.hit);
          throw new HttpError(503, 'no more codes can be sent this hour; try again later', {
            code: 'sms_budget_exhausted',
            headers: { 'retry-after': String(retryAfterSeconds(budget.retryAfterMs)) },
          });
        }
        const code = await otp.issue(phoneNumber, name.name);
        sms.send(phoneNumber, smsText(code));
        metrics.otpRequests.inc({ outcome: 'sent' });
        // The same answer whether or not the number has an account.
        return { success: true, message: 'OTP sent successfully' };
      }

      if (!otpPattern.test(body.otp)) throw new HttpError(400, `otp must be ${config.otp.length} digits`, { field: 'otp' });
      // Reserve a slot first so concurrent guesses cannot overshoot the limit; a success gives it back.
      const testNumber = testNumbers.codeFor(phoneNumber) === undefined ? undefined : phoneNumber;
      const taken = await rateLimiter.take(verifyRules(client, config.otp, testNumber));
      if (!taken.allowed) throw refused(taken);
      const verified = await otp.verify(phoneNumber, body.otp);
      if (!verified) throw unauthorized('Invalid or expired OTP', 'invalid_otp');
      await rateLimiter.giveBack(taken.hit);
      const user = await findOrCreateUser(db, phoneNumber, verified.name);
      const { token, expiry } = await sessions.issue(user.id);
      request.log.info({ userId: user.id }, 'signed in with OTP');
      metrics.otpVerifications.inc({ outcome: 'verified' });
      return { success: true, message: 'OTP verified successfully', data: userJson(user), token, expiry: expiry.toISOString() };
    },
  );
};
