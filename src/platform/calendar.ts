/** Calendar dates as `YYYY-MM-DD` strings, which sort and compare as text. */

/** The window of every hourly limit (codes, uploads, the SMS budget). */
export const HOUR_MS = 60 * 60 * 1000;

// Building a formatter costs more than formatting; zones come from clients (`?tz=`, in any letter
// case), so the cache is bounded.
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_CACHED_ZONES = 1000;

// Every UTC offset in use is a whole number of minutes, so a zone's date changes only at the start
// of a UTC minute: within one minute the date found for a zone stays right.
const MINUTE_MS = 60_000;
const datesThisMinute = new Map<string, { minute: number; date: string }>();

/** The date it is now in the IANA time zone `zone`; throws RangeError for an unknown zone. */
export function todayIn(zone: string, now: Date = new Date()): string {
  const minute = Math.floor(now.getTime() / MINUTE_MS);
  const known = datesThisMinute.get(zone);
  if (known?.minute === minute) return known.date;
  let formatter = formatters.get(zone);
  if (!formatter) {
    // en-CA formats dates as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (formatters.size >= MAX_CACHED_ZONES) {
      formatters.clear();
      datesThisMinute.clear();
    }
    formatters.set(zone, formatter);
  }
  const date = formatter.format(now);
  datesThisMinute.set(zone, { minute, date });
  return date;
}

/** True for `YYYY-MM-DD` naming a day that exists (no 2026-02-30). */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}
