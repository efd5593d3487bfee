import type { CountryCode } from 'libphonenumber-js';
// The "max" metadata carries each region's digit patterns: the default "min" one only checks
// lengths, which would accept numbers that cannot exist (e.g. +91 5555555555).
import { getCountryCallingCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * The number in E.164 (`+919876543210`), or null when it is not a valid number for its region.
 * Numbers without `+` are read as national numbers of `defaultCountry`. Extensions are refused:
 * an SMS cannot reach one.
 */
export function normalisePhoneNumber(input: string, defaultCountry: string): string | null {
  const parsed = parsePhoneNumberFromString(input, { defaultCountry: defaultCountry as CountryCode, extract: false });
  if (!parsed || parsed.ext || !parsed.isValid()) return null;
  return parsed.number;
}

export const MAX_NAME_LENGTH = 100;

/** A person's name as stored: trimmed, 1–100 characters, no control characters; else the reason. */
export function normaliseName(input: string): { name: string } | { error: string } {
  if (/\p{Cc}/u.test(input)) return { error: 'name must not contain control characters' };
  const name = input.trim();
  const length = [...name].length;
  if (length === 0) return { error: 'name must not be empty' };
  if (length > MAX_NAME_LENGTH) return { error: `name must be at most ${MAX_NAME_LENGTH} characters` };
  return { name };
}

/** For logs: the start of the country code and the last four digits, not enough to identify a person. */
export function maskPhoneNumber(e164: string): string {
  if (e164.length < 10) return '*'.repeat(e164.length);
  return `${e164.slice(0, 3)}${'*'.repeat(e164.length - 7)}${e164.slice(-4)}`;
}

/** The country calling code (`91`) of a number already normalised to E.164. */
export function callingCodeOf(e164: string): string {
  return parsePhoneNumberFromString(e164)!.countryCallingCode;
}

/** How many country calling codes the regions share (several regions may share one, as +1 does). */
export function countCallingCodes(regions: string[] | '*'): number | 'any' {
  if (regions === '*') return 'any';
  return new Set(regions.map((region) => getCountryCallingCode(region as CountryCode))).size;
}
