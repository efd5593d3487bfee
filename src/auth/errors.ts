import type { ErrorCodes } from '../platform/http/errors.ts';

/** The error codes sign-up adds to the platform's, with the status each comes with. */
export const AUTH_ERROR_CODES = {
  invalid_otp: { status: 401, description: 'a wrong or expired code' },
  country_not_allowed: { status: 400, description: 'codes are not sent to numbers of this country' },
  number_type_not_allowed: { status: 400, description: 'codes are sent to mobile numbers only' },
  // The service saying no, not a fault: the route logs it once an hour, not at every request.
  sms_budget_exhausted: { status: 503, description: 'the hourly SMS budget is spent', expected: true },
} as const satisfies ErrorCodes;
