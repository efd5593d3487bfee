import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppDependencies } from '../app.ts';
import type { Config } from '../config.ts';
import { createToken } from '../data/tokens.ts';
import { findOrCreateUser, UserSchema } from '../data/users.ts';
import { unauthorized } from '../http/auth.ts';
import { clientAddressKey } from '../http/client-ip.ts';
import { ErrorBody, HttpError } from '../http/errors.ts';
import { normaliseName, normalisePhoneNumber } from '../phone.ts';
import { retryAfterSeconds, type LimitRule, type TakeResult } from '../ratelimit/limiter.ts';
import { userJson } from './account.ts';

export type SignupOptions = Pick<AppDependencies, 'config' | 'db' | 'otp' | 'rateLimiter' | 'sms'>;

const HOUR_MS = 60 * 60 * 1000;

const SignupBody = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Required when requesting a code; ignored when verifying.' })),
    phone_number: Type.String({ maxLength: 64, description: 'E.164, or a national number of DEFAULT_COUNTRY' }),
    otp: Type.Optional(Type.String({ description: 'The code received by SMS; present to verify, absent to request one.' })),
  },
  { additionalProperties: false },
);

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

function otpRequestRules(phoneNumber: string, clientKey: string, otp: Config['otp']): LimitRule[] {
  return [
    {
      key: `otp-resend:${phoneNumber}`,
      limit: 1,
      windowMs: otp.resendSeconds * 1000,
      message: 'a code was just sent to this number; wait before requesting another',
    },
    {
      key: `otp-number:${phoneNumber}`,
      limit: otp.perNumberPerHour,
      windowMs: HOUR_MS,
      message: 'too many codes requested for this number; try again later',
    },
    {
      key: `otp-ip:${clientKey}`,
      limit: otp.perIpPerHour,
      windowMs: HOUR_MS,
      message: 'too many code requests from this address; try again later',
    },
  ];
}

function verifyRule(clientKey: string, otp: Config['otp']): LimitRule {
  return {
    key: `otp-verify-ip:${clientKey}`,
    limit: otp.verifyPerIpPerHour,
    windowMs: HOUR_MS,
    message: 'too many failed verification attempts from this address; try again later',
  };
}

function tooManyRequests(refusal: Extract<TakeResult, { allowed: false }>): HttpError {
  return new HttpError(429, refusal.rule.message, { 'retry-after': String(retryAfterSeconds(refusal.retryAfterMs)) });
}

/** `POST /signup`: without `otp`, sends a code by SMS; with it, verifies the code and issues a token. */
export const signupRoutes: FastifyPluginAsyncTypebox<SignupOptions> = async (app, { config, db, otp, rateLimiter, sms }) => {
  const otpPattern = new RegExp(`^[0-9]{${config.otp.length}}$`);

  app.post(
    '/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Request a one-time code by SMS (no otp), or verify one (with otp) to get a bearer token',
        body: SignupBody,
        response: { 200: SignupResponse, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const body = request.body;
      const phoneNumber = normalisePhoneNumber(body.phone_number, config.defaultCountry);
      if (!phoneNumber) throw new HttpError(400, 'phone_number is not a valid phone number');
      const clientKey = clientAddressKey(request.ip);

      if (body.otp === undefined) {
        if (body.name === undefined) throw new HttpError(400, 'name is required to request a code');
        const name = normaliseName(body.name);
        if ('error' in name) throw new HttpError(400, name.error);
        const taken = await rateLimiter.take(otpRequestRules(phoneNumber, clientKey, config.otp));
        if (!taken.allowed) throw tooManyRequests(taken);
        const code = await otp.issue(phoneNumber, name.name);
        sms.send(phoneNumber, smsText(code));
        // The same answer whether or not the number has an account.
        return { success: true, message: 'OTP sent successfully' };
      }

      if (!otpPattern.test(body.otp)) throw new HttpError(400, `otp must be ${config.otp.length} digits`);
      // Reserve a slot first so concurrent guesses cannot overshoot the limit; a success gives it back.
      const taken = await rateLimiter.take([verifyRule(clientKey, config.otp)]);
      if (!taken.allowed) throw tooManyRequests(taken);
      const verified = await otp.verify(phoneNumber, body.otp);
      if (!verified) throw unauthorized('Invalid or expired OTP');
      await rateLimiter.giveBack(taken.hit);
      const user = await findOrCreateUser(db, phoneNumber, verified.name);
      const { token, expiry } = await createToken(db, user.id, config.tokenTtlHours);
      request.log.info({ userId: user.id }, 'signed in with OTP');
      return { success: true, message: 'OTP verified successfully', data: userJson(user), token, expiry: expiry.toISOString() };
    },
  );
};
