import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseEnv } from 'node:util';
// The metadata phone.ts parses with: the default entry point would load a second copy of the
// library's modules and metadata at start-up (every flavour lists the same countries).
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type Environment = 'development' | 'test' | 'production';
export type SmsProviderName = 'console' | 'twilio';
/** What Fastify's `trustProxy` accepts: a boolean, a hop count, or addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  from: string;
  apiBase: string;
}

export type StorageConfig =
  | { kind: 'local' }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      endpoint: string | undefined;
      forcePathStyle: boolean;
      prefix: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
    };

export interface Config {
  port: number;
  host: string;
  env: Environment;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  uploadDir: string;
  maxUploadBytes: number;
  appTimezone: string;
  maxScheduleDays: number;
  defaultCountry: string;
  otp: {
    length: number;
    ttlSeconds: number;
    maxAttempts: number;
    resendSeconds: number;
    perNumberPerHour: number;
    perIpPerHour: number;
    verifyPerIpPerHour: number;
    perPrefixPerHour: number;
    /** ISO 3166 regions whose numbers may sign up, or every region. */
    allowedCountries: string[] | '*';
  };
  /** Codes sent per hour by all instances together. */
  smsPerHour: number;
  /** The share of smsPerHour kept for numbers that have an account. */
  smsReservedForKnownPercent: number;
  /** Fixed codes by E.164 number: nothing is sent to them. */
  otpTestNumbers: Map<string, string>;
  /** With ENV=production, test numbers work only before this moment. */
  otpTestNumbersUntil: Date | undefined;
  trustProxy: TrustProxy;
  tokenTtlHours: number;
  smsProvider: SmsProviderName;
  twilio: TwilioConfig | undefined;
  smsMaxAttempts: number;
  shutdownTimeoutSeconds: number;
  appSecret: string;
  logLevel: string;
  storage: StorageConfig;
  /** Where clients fetch stored files from instead of /uploads (no trailing slash). */
  publicFilesUrl: string | undefined;
  maxImagePixels: number;
  imageConcurrency: number;
  uploadsPerUserPerHour: number;
  userQuotaBytes: number;
  minFreeDiskBytes: number;
  feedLimit: number;
  requestTimeoutSeconds: number;
  uploadIdleTimeoutSeconds: number;
  uploadsInFlightPerUser: number;
  imageSecondsPerUserPerHour: number;
  uploadMaxSeconds: number;
  uploadTempMaxBytes: number;
  /** The Prometheus listener; off when METRICS_PORT is unset. */
  metrics: { port: number; host: string } | undefined;
}

export type Env = Record<string, string | undefined>;

export const DEV_APP_SECRET = 'cheershare-development-secret-do-not-use-in-production';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
// setTimeout cannot wait longer than 2^31-1 ms; a longer shutdown budget would fire at once.
const MAX_TIMER_SECONDS = Math.floor(2 ** 31 / 1000) - 1;

/** Reads `.env` (if present) under the process environment: the process environment wins. */
export function environmentWithDotenv(processEnv: Env = process.env, path = '.env'): Env {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return processEnv;
  }
  const fromFile = parseEnv(text) as Env;
  const merged: Env = { ...fromFile };
  for (const [key, value] of Object.entries(processEnv)) {
    if (value !== undefined && value !== '') merged[key] = value;
  }
  return merged;
}

/** Validates the environment into a typed config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const str = (name: string, fallback: string): string => read(name) ?? fallback;
  const positiveInt = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      throw new ConfigError(
        name,
        `must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got "${raw}"`,
      );
    }
    return Number(raw);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };

  const percent = (name: string, fallback: number): number => {
    const raw = read(name);
    if (raw !== undefined && !/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole percentage 0–100, got "${raw}"`);
    const value = raw === undefined ? fallback : Number(raw);
    if (value > 100) throw new ConfigError(name, `must be a whole percentage 0–100, got "${raw}"`);
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => oneOf(name, ['true', 'false'], String(fallback)) === 'true';
  const url = (name: string, protocols: string[]): string | undefined => {
    const value = read(name);
    if (value !== undefined) requireUrl(name, value, protocols);
    return value?.replace(/\/+$/, '');
  };

  const envName = oneOf<Environment>('ENV', ['development', 'test', 'production'], 'development');
  const production = envName === 'production';

  const otpLength = positiveInt('OTP_LENGTH', 6);
  if (otpLength < 4 || otpLength > 10) throw new ConfigError('OTP_LENGTH', `must be between 4 and 10, got "${otpLength}"`);

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined) requireUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const redisUrl = read('REDIS_URL');
  if (redisUrl !== undefined) requireUrl('REDIS_URL', redisUrl, ['redis:', 'rediss:']);

  const appTimezone = str('APP_TIMEZONE', 'UTC');
  if (!isTimeZone(appTimezone)) throw new ConfigError('APP_TIMEZONE', `unknown IANA time zone "${appTimezone}"`);

  const defaultCountry = str('DEFAULT_COUNTRY', 'IN').toUpperCase();
  if (!isSupportedCountry(defaultCountry))
    throw new ConfigError('DEFAULT_COUNTRY', `must be a two-letter region code with phone numbers, got "${defaultCountry}"`);

  const smsProvider = oneOf<SmsProviderName>('SMS_PROVIDER', ['console', 'twilio'], 'console');
  const twilioApiBase = str('TWILIO_API_BASE', 'https://api.twilio.com');
  requireUrl('TWILIO_API_BASE', twilioApiBase, ['http:', 'https:']);
  let twilio: TwilioConfig | undefined;
  if (smsProvider === 'twilio') {
    const required = (name: string): string => {
      const value = read(name);
      if (value === undefined) throw new ConfigError(name, 'is required when SMS_PROVIDER=twilio');
      return value;
    };
    twilio = {
      accountSid: required('TWILIO_ACCOUNT_SID'),
      authToken: required('TWILIO_AUTH_TOKEN'),
      from: required('TWILIO_FROM'),
      apiBase: twilioApiBase.replace(/\/+$/, ''),
    };
  }

  const appSecret = read('APP_SECRET');
  if (production && (appSecret === undefined || appSecret === DEV_APP_SECRET))
    throw new ConfigError('APP_SECRET', 'is required when ENV=production (and must not be the development default)');
  if (smsProvider === 'twilio' && (appSecret === undefined || appSecret === DEV_APP_SECRET))
    throw new ConfigError('APP_SECRET', 'is required when SMS_PROVIDER=twilio (and must not be the development default)');
  if (appSecret !== undefined && appSecret.length < 16) throw new ConfigError('APP_SECRET', 'must be at least 16 characters');

  if (production && smsProvider === 'console')
    throw new ConfigError('SMS_PROVIDER', 'must not be console when ENV=production: every code would go to the log');

  const logLevel = str('LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const host = hostVariable('HOST', str('HOST', '0.0.0.0'));

  const trustProxy = parseTrustProxy(read('TRUST_PROXY'));
  if (production) checkProductionTrustProxy(trustProxy);

  const otpTestNumbersUntil = read('OTP_TEST_NUMBERS_UNTIL');
  if (otpTestNumbersUntil !== undefined && Number.isNaN(Date.parse(otpTestNumbersUntil)))
    throw new ConfigError('OTP_TEST_NUMBERS_UNTIL', `must be a date (YYYY-MM-DD or RFC 3339), got "${otpTestNumbersUntil}"`);

  const metricsPort = read('METRICS_PORT') === undefined ? undefined : positiveInt('METRICS_PORT', 0, 65535);

  return {
    port: positiveInt('PORT', 4000, 65535),
    host,
    env: envName,
    databaseUrl,
    dataDir: str('DATA_DIR', './data'),
    redisUrl,
    uploadDir: str('UPLOAD_DIR', './uploads'),
    maxUploadBytes: positiveInt('MAX_UPLOAD_BYTES', 10 * 1024 * 1024),
    appTimezone,
    maxScheduleDays: positiveInt('MAX_SCHEDULE_DAYS', 365),
    defaultCountry,
    otp: {
      length: otpLength,
      ttlSeconds: positiveInt('OTP_TTL_SECONDS', 300),
      maxAttempts: positiveInt('OTP_MAX_ATTEMPTS', 5),
      resendSeconds: positiveInt('OTP_RESEND_SECONDS', 30),
      perNumberPerHour: positiveInt('OTP_PER_NUMBER_PER_HOUR', 5),
      perIpPerHour: positiveInt('OTP_PER_IP_PER_HOUR', 30),
      verifyPerIpPerHour: positiveInt('VERIFY_PER_IP_PER_HOUR', 60),
      perPrefixPerHour: positiveInt('OTP_PER_PREFIX_PER_HOUR', 20),
      allowedCountries: parseCountries(read('OTP_ALLOWED_COUNTRIES'), defaultCountry),
    },
    smsPerHour: positiveInt('SMS_PER_HOUR', 1000),
    smsReservedForKnownPercent: percent('SMS_RESERVED_FOR_KNOWN_PERCENT', 50),
    otpTestNumbers: parseTestNumbers(read('OTP_TEST_NUMBERS'), otpLength),
    otpTestNumbersUntil: otpTestNumbersUntil === undefined ? undefined : new Date(otpTestNumbersUntil),
    trustProxy,
    tokenTtlHours: positiveInt('TOKEN_TTL_HOURS', 48),
    smsProvider,
    twilio,
    smsMaxAttempts: positiveInt('SMS_MAX_ATTEMPTS', 3),
    shutdownTimeoutSeconds: positiveInt('SHUTDOWN_TIMEOUT_SECONDS', 30, MAX_TIMER_SECONDS),
    appSecret: appSecret ?? DEV_APP_SECRET,
    logLevel,
    storage: parseStorage(read, bool),
    publicFilesUrl: url('PUBLIC_FILES_URL', ['http:', 'https:']),
    maxImagePixels: positiveInt('MAX_IMAGE_PIXELS', 40_000_000),
    imageConcurrency: positiveInt('IMAGE_CONCURRENCY', availableParallelism()),
    uploadsPerUserPerHour: positiveInt('UPLOADS_PER_USER_PER_HOUR', 100),
    userQuotaBytes: positiveInt('USER_QUOTA_BYTES', 1024 ** 3),
    minFreeDiskBytes: positiveInt('MIN_FREE_DISK_BYTES', 1024 ** 3),
    feedLimit: positiveInt('FEED_LIMIT', 500),
    requestTimeoutSeconds: positiveInt('REQUEST_TIMEOUT_SECONDS', 30, MAX_TIMER_SECONDS),
    uploadIdleTimeoutSeconds: positiveInt('UPLOAD_IDLE_TIMEOUT_SECONDS', 30, MAX_TIMER_SECONDS),
    uploadsInFlightPerUser: positiveInt('UPLOADS_IN_FLIGHT_PER_USER', 2),
    imageSecondsPerUserPerHour: positiveInt('IMAGE_SECONDS_PER_USER_PER_HOUR', 120),
    uploadMaxSeconds: positiveInt('UPLOAD_MAX_SECONDS', 300, MAX_TIMER_SECONDS),
    uploadTempMaxBytes: positiveInt('UPLOAD_TEMP_MAX_BYTES', 2 * 1024 ** 3),
    metrics:
      metricsPort === undefined
        ? undefined
        : { port: metricsPort, host: hostVariable('METRICS_HOST', str('METRICS_HOST', '127.0.0.1')) },
  };
}

function parseStorage(
  read: (name: string) => string | undefined,
  bool: (name: string, fallback: boolean) => boolean,
): StorageConfig {
  const kind = read('STORAGE') ?? 'local';
  if (kind === 'local') return { kind };
  if (kind !== 's3') throw new ConfigError('STORAGE', `must be one of local, s3, got "${kind}"`);
  const bucket = read('S3_BUCKET');
  if (bucket === undefined) throw new ConfigError('S3_BUCKET', 'is required when STORAGE=s3');
  const endpoint = read('S3_ENDPOINT');
  if (endpoint !== undefined) requireUrl('S3_ENDPOINT', endpoint, ['http:', 'https:']);
  const prefix = read('S3_PREFIX') ?? 'creatives/';
  if (prefix.startsWith('/') || prefix.includes('..'))
    throw new ConfigError('S3_PREFIX', `must be a relative key prefix, got "${prefix}"`);
  return {
    kind,
    bucket,
    region: read('S3_REGION') ?? 'us-east-1',
    endpoint,
    forcePathStyle: bool('S3_FORCE_PATH_STYLE', false),
    prefix,
    accessKeyId: read('S3_ACCESS_KEY_ID'),
    secretAccessKey: read('S3_SECRET_ACCESS_KEY'),
  };
}

function parseCountries(raw: string | undefined, defaultCountry: string): string[] | '*' {
  if (raw === undefined) return [defaultCountry];
  if (raw === '*') return '*';
  const countries = raw.split(',').map((part) => part.trim().toUpperCase());
  const unknown = countries.find((country) => !isSupportedCountry(country));
  if (unknown !== undefined)
    throw new ConfigError('OTP_ALLOWED_COUNTRIES', `"${unknown}" is not a region code with phone numbers (or use *)`);
  return countries;
}

/** `+919999900001=123456,...`: E.164 numbers with a fixed code of OTP_LENGTH digits each. */
function parseTestNumbers(raw: string | undefined, otpLength: number): Map<string, string> {
  const numbers = new Map<string, string>();
  if (raw === undefined) return numbers;
  for (const entry of raw.split(',')) {
    const [number = '', code = ''] = entry.split('=').map((part) => part.trim());
    const parsed = parsePhoneNumberFromString(number);
    if (!number.startsWith('+') || !parsed?.isValid())
      throw new ConfigError('OTP_TEST_NUMBERS', `"${number}" is not a valid E.164 phone number`);
    if (!new RegExp(`^[0-9]{${otpLength}}$`).test(code))
      throw new ConfigError('OTP_TEST_NUMBERS', `the code for ${parsed.number.slice(0, -4)}•••• must be ${otpLength} digits`);
    numbers.set(parsed.number, code);
  }
  return numbers;
}

function requireUrl(name: string, value: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
}

function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const addresses = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (addresses.length === 0 || !addresses.every((entry) => NAMED_RANGES.has(entry) || parseCidr(entry))) {
    throw new ConfigError('TRUST_PROXY', `must be true, false, a hop count or comma-separated addresses, got "${raw}"`);
  }
  return addresses;
}

/** proxy-addr's named ranges: all of them private (loopback, link-local, unique local). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_PRODUCTION_HOPS = 5;
/** The widest range a production TRUST_PROXY may name, and the widest of public IPv4 space. */
const WIDEST_PREFIX = { 4: 8, 6: 32 } as const;
const WIDEST_PUBLIC_V4_PREFIX = 16;
/** IPv4 ranges that are not routed on the internet: a proxy there is one of ours. */
const PRIVATE_V4: [string, number][] = [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
];

interface Cidr {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/**
 * An address, a CIDR range or an IPv4 netmask range, as proxy-addr (behind Fastify's trustProxy)
 * compiles it without throwing (it refuses a /0); undefined when it is none of them.
 */
function parseCidr(entry: string): Cidr | undefined {
  const [address = '', range, ...rest] = entry.split('/');
  const family = isIP(address);
  if ((family !== 4 && family !== 6) || rest.length > 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (range !== undefined && /^\d{1,3}$/.test(range)) prefix = Number(range);
  else if (range !== undefined) prefix = family === 4 && isIP(range) === 4 ? netmaskPrefix(range) : -1;
  return prefix >= 1 && prefix <= bits ? { family, address, prefix } : undefined;
}

/** 255.255.0.0 → 16; -1 for a mask that is not contiguous ones then zeros. */
function netmaskPrefix(mask: string): number {
  const value = ipv4Number(mask);
  const prefix = 32 - Math.log2((~value >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : -1;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function insidePrivateV4({ address, prefix }: Cidr): boolean {
  const network = ipv4Number(address);
  return PRIVATE_V4.some(
    ([base, size]) => prefix >= size && Math.floor(network / 2 ** (32 - size)) === ipv4Number(base) / 2 ** (32 - size),
  );
}

/**
 * With ENV=production, TRUST_PROXY must not let a client choose its address: not `true`, not more
 * than a few hops, no range wider than a provider's own network.
 */
function checkProductionTrustProxy(trustProxy: TrustProxy): void {
  const refuse = (problem: string) => {
    throw new ConfigError(
      'TRUST_PROXY',
      `${problem} when ENV=production (any client could choose its address): give a hop count or the proxies' addresses`,
    );
  };
  if (trustProxy === true) refuse('must not be true');
  if (typeof trustProxy === 'number' && trustProxy > MAX_PRODUCTION_HOPS) refuse(`must be at most ${MAX_PRODUCTION_HOPS} hops`);
  if (!Array.isArray(trustProxy)) return;
  for (const cidr of trustProxy.map(parseCidr)) {
    if (!cidr) continue; // a named range
    const text = `${cidr.address}/${cidr.prefix}`;
    if (cidr.prefix < WIDEST_PREFIX[cidr.family])
      refuse(`must not name a range wider than /${WIDEST_PREFIX[cidr.family]} (${text})`);
    if (cidr.family === 4 && cidr.prefix < WIDEST_PUBLIC_V4_PREFIX && !insidePrivateV4(cidr))
      refuse(`must not name public address space wider than /${WIDEST_PUBLIC_V4_PREFIX} (${text})`);
  }
}

function hostVariable(name: string, host: string): string {
  if (!isIP(host) && !isHostname(host)) throw new ConfigError(name, `must be an IP address or a host name, got "${host}"`);
  return host;
}

function isHostname(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(label));
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
