import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** OTP_ALLOWED_COUNTRIES: ISO 3166 regions whose numbers may sign up, or every region. */
export type AllowedCountries = readonly string[] | '*';

/** Why a valid number is not sent a code. */
export type SmsRefusal = 'country_not_allowed' | 'number_type_not_allowed';

// Only these can receive an SMS. Premium-rate, toll-free, shared-cost, UAN, pager, voicemail,
// VoIP, personal and plain fixed-line ranges are what SMS pumping buys.
const SMS_CAPABLE_TYPES = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/** Whether a code may be sent to `e164` (a number phone.ts accepted), or why not. */
export function smsRefusal(e164: string, allowedCountries: AllowedCountries): SmsRefusal | undefined {
  const parsed = parsePhoneNumberFromString(e164);
  // A number shared by several regions (+1, +7, +44...) is attributed to the region its digits belong to.
  const country = parsed?.country;
  if (allowedCountries !== '*' && (country === undefined || !allowedCountries.includes(country))) return 'country_not_allowed';
  const type = parsed?.getType();
  if (type === undefined || !SMS_CAPABLE_TYPES.has(type)) return 'number_type_not_allowed';
  return undefined;
}
