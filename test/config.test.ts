import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError, DEV_APP_SECRET, environmentWithDotenv, loadConfig, type Config, type Env } from '../src/config.ts';
import { tempDir } from './support/backends.ts';
import { TWILIO, VARIABLES } from './support/config-variables.ts';

const DEFAULTS: Config = {
  port: 4000,
  host: '0.0.0.0',
  env: 'development',
  databaseUrl: undefined,
  dataDir: './data',
  redisUrl: undefined,
  uploadDir: './uploads',
  maxUploadBytes: 10_485_760,
  appTimezone: 'UTC',
  maxScheduleDays: 365,
  defaultCountry: 'IN',
  otp: {
    length: 6,
    ttlSeconds: 300,
    maxAttempts: 5,
    resendSeconds: 30,
    perNumberPerHour: 5,
    perIpPerHour: 30,
    verifyPerIpPerHour: 60,
    perPrefixPerHour: 20,
    allowedCountries: ['IN'],
  },
  smsPerHour: 1000,
  smsReservedForKnownPercent: 50,
  otpTestNumbers: new Map(),
  otpTestNumbersUntil: undefined,
  trustProxy: false,
  tokenTtlHours: 48,
  smsProvider: 'console',
  twilio: undefined,
  smsMaxAttempts: 3,
  shutdownTimeoutSeconds: 30,
  appSecret: DEV_APP_SECRET,
  logLevel: 'info',
  storage: { kind: 'local' },
  publicFilesUrl: undefined,
  maxImagePixels: 40_000_000,
  imageConcurrency: availableParallelism(),
  uploadsPerUserPerHour: 100,
  userQuotaBytes: 1_073_741_824,
  minFreeDiskBytes: 1_073_741_824,
  feedLimit: 500,
  requestTimeoutSeconds: 30,
  uploadIdleTimeoutSeconds: 30,
  uploadsInFlightPerUser: 2,
  imageSecondsPerUserPerHour: 120,
  uploadMaxSeconds: 300,
  uploadTempMaxBytes: 2_147_483_648,
  metrics: undefined,
};

const POSITIVE_INTEGERS = [
  'MAX_IMAGE_PIXELS',
  'IMAGE_CONCURRENCY',
  'UPLOADS_PER_USER_PER_HOUR',
  'USER_QUOTA_BYTES',
  'MIN_FREE_DISK_BYTES',
  'FEED_LIMIT',
  'OTP_PER_PREFIX_PER_HOUR',
  'SMS_PER_HOUR',
  'REQUEST_TIMEOUT_SECONDS',
  'UPLOAD_IDLE_TIMEOUT_SECONDS',
  'UPLOADS_IN_FLIGHT_PER_USER',
  'IMAGE_SECONDS_PER_USER_PER_HOUR',
  'UPLOAD_MAX_SECONDS',
  'UPLOAD_TEMP_MAX_BYTES',
  'METRICS_PORT',
  'PORT',
  'MAX_UPLOAD_BYTES',
  'MAX_SCHEDULE_DAYS',
  'OTP_LENGTH',
  'OTP_TTL_SECONDS',
  'OTP_MAX_ATTEMPTS',
  'OTP_RESEND_SECONDS',
  'OTP_PER_NUMBER_PER_HOUR',
  'OTP_PER_IP_PER_HOUR',
  'VERIFY_PER_IP_PER_HOUR',
  'TOKEN_TTL_HOURS',
  'SMS_MAX_ATTEMPTS',
  'SHUTDOWN_TIMEOUT_SECONDS',
];

/** The variable a ConfigError names, or undefined when the environment is accepted. */
function refusedVariable(env: Env): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    assert.ok(error.message.startsWith(`${error.variable}: `), error.message);
    return error.variable;
  }
}

describe('loadConfig', () => {
  test('with nothing set, every variable takes the default of the spec', () => {
    assert.deepEqual(loadConfig({}), DEFAULTS);
  });

  test('an empty (or blank) value counts as unset', () => {
    const empty = Object.fromEntries(VARIABLES.map((name, i) => [name, i % 2 ? '' : '  ']));
    assert.deepEqual(loadConfig(empty), DEFAULTS);
  });

  test('values are read and typed', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      ENV: 'production',
      DATABASE_URL: 'postgres://app:pw@db.internal:5432/cheershare',
      DATA_DIR: '/var/lib/cheershare',
      REDIS_URL: 'rediss://cache.internal:6380/2',
      UPLOAD_DIR: '/srv/uploads',
      MAX_UPLOAD_BYTES: '2048',
      APP_TIMEZONE: 'Asia/Kolkata',
      MAX_SCHEDULE_DAYS: '30',
      DEFAULT_COUNTRY: 'us',
      OTP_LENGTH: '8',
      OTP_TTL_SECONDS: '60',
      OTP_MAX_ATTEMPTS: '3',
      OTP_RESEND_SECONDS: '10',
      OTP_PER_NUMBER_PER_HOUR: '4',
      OTP_PER_IP_PER_HOUR: '20',
      VERIFY_PER_IP_PER_HOUR: '40',
      TRUST_PROXY: '2',
      TOKEN_TTL_HOURS: '24',
      ...TWILIO,
      TWILIO_API_BASE: 'http://127.0.0.1:9999/',
      SMS_MAX_ATTEMPTS: '5',
      SHUTDOWN_TIMEOUT_SECONDS: '10',
      APP_SECRET: 'a-production-secret-of-some-length',
      LOG_LEVEL: 'warn',
      STORAGE: 's3',
      S3_BUCKET: 'creatives-prod',
      S3_REGION: 'eu-west-1',
      S3_ENDPOINT: 'https://s3.example.com',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: 'prod/',
      S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      S3_SECRET_ACCESS_KEY: 'secret-key-of-the-bucket',
      PUBLIC_FILES_URL: 'https://cdn.example.com/c/',
      MAX_IMAGE_PIXELS: '1000',
      IMAGE_CONCURRENCY: '3',
      UPLOADS_PER_USER_PER_HOUR: '9',
      USER_QUOTA_BYTES: '4096',
      MIN_FREE_DISK_BYTES: '512',
      FEED_LIMIT: '20',
      OTP_ALLOWED_COUNTRIES: 'us, ca',
      OTP_PER_PREFIX_PER_HOUR: '7',
      SMS_PER_HOUR: '50',
      SMS_RESERVED_FOR_KNOWN_PERCENT: '0',
      UPLOADS_IN_FLIGHT_PER_USER: '3',
      IMAGE_SECONDS_PER_USER_PER_HOUR: '60',
      UPLOAD_MAX_SECONDS: '90',
      UPLOAD_TEMP_MAX_BYTES: '1000000',
      OTP_TEST_NUMBERS: '+12015550123=12345678',
      OTP_TEST_NUMBERS_UNTIL: '2027-01-31',
      REQUEST_TIMEOUT_SECONDS: '12',
      UPLOAD_IDLE_TIMEOUT_SECONDS: '13',
      METRICS_PORT: '9464',
      METRICS_HOST: '0.0.0.0',
    });
    assert.deepEqual(config, {
      port: 8080,
      host: '127.0.0.1',
      env: 'production',
      databaseUrl: 'postgres://app:pw@db.internal:5432/cheershare',
      dataDir: '/var/lib/cheershare',
      redisUrl: 'rediss://cache.internal:6380/2',
      uploadDir: '/srv/uploads',
      maxUploadBytes: 2048,
      appTimezone: 'Asia/Kolkata',
      maxScheduleDays: 30,
      defaultCountry: 'US',
      otp: {
        length: 8,
        ttlSeconds: 60,
        maxAttempts: 3,
        resendSeconds: 10,
        perNumberPerHour: 4,
        perIpPerHour: 20,
        verifyPerIpPerHour: 40,
        perPrefixPerHour: 7,
        allowedCountries: ['US', 'CA'],
      },
      smsPerHour: 50,
      smsReservedForKnownPercent: 0,
      otpTestNumbers: new Map([['+12015550123', '12345678']]),
      otpTestNumbersUntil: new Date('2027-01-31'),
      trustProxy: 2,
      tokenTtlHours: 24,
      smsProvider: 'twilio',
      twilio: { accountSid: 'AC123', authToken: 'token-456', from: '+15005550006', apiBase: 'http://127.0.0.1:9999' },
      smsMaxAttempts: 5,
      shutdownTimeoutSeconds: 10,
      appSecret: 'a-production-secret-of-some-length',
      logLevel: 'warn',
      storage: {
        kind: 's3',
        bucket: 'creatives-prod',
        region: 'eu-west-1',
        endpoint: 'https://s3.example.com',
        forcePathStyle: true,
        prefix: 'prod/',
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: 'secret-key-of-the-bucket',
      },
      publicFilesUrl: 'https://cdn.example.com/c',
      maxImagePixels: 1000,
      imageConcurrency: 3,
      uploadsPerUserPerHour: 9,
      userQuotaBytes: 4096,
      minFreeDiskBytes: 512,
      feedLimit: 20,
      requestTimeoutSeconds: 12,
      uploadIdleTimeoutSeconds: 13,
      uploadsInFlightPerUser: 3,
      imageSecondsPerUserPerHour: 60,
      uploadMaxSeconds: 90,
      uploadTempMaxBytes: 1_000_000,
      metrics: { port: 9464, host: '0.0.0.0' },
    } satisfies Config);
  });

  test('numbers must be positive integers', () => {
    for (const name of POSITIVE_INTEGERS) {
      for (const bad of ['0', '-1', '1.5', '1e3', 'ten', '12abc', '0x10']) {
        assert.equal(refusedVariable({ [name]: bad }), name, `${name}=${bad}`);
      }
    }
    assert.equal(loadConfig({ PORT: '65535' }).port, 65535);
    assert.equal(refusedVariable({ PORT: '65536' }), 'PORT');
    assert.equal(refusedVariable({ MAX_UPLOAD_BYTES: '9'.repeat(20) }), 'MAX_UPLOAD_BYTES');
  });

  test('OTP_LENGTH is 4 to 10', () => {
    assert.equal(loadConfig({ OTP_LENGTH: '4' }).otp.length, 4);
    assert.equal(loadConfig({ OTP_LENGTH: '10' }).otp.length, 10);
    assert.equal(refusedVariable({ OTP_LENGTH: '3' }), 'OTP_LENGTH');
    assert.equal(refusedVariable({ OTP_LENGTH: '11' }), 'OTP_LENGTH');
  });

  test('SHUTDOWN_TIMEOUT_SECONDS must fit a timer (a longer one would fire at once)', () => {
    assert.equal(loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: '2147482' }).shutdownTimeoutSeconds, 2_147_482);
    assert.equal(refusedVariable({ SHUTDOWN_TIMEOUT_SECONDS: '2147484' }), 'SHUTDOWN_TIMEOUT_SECONDS');
  });

  test('words, URLs, zones, regions and hosts are checked', () => {
    const refused: [string, string][] = [
      ['ENV', 'staging'],
      ['ENV', 'Production'],
      ['HOST', 'not a host'],
      ['HOST', 'http://0.0.0.0'],
      ['DATABASE_URL', 'mysql://db/cheershare'],
      ['DATABASE_URL', 'not a url'],
      ['REDIS_URL', 'http://cache:6379'],
      ['APP_TIMEZONE', 'Mars/Olympus_Mons'],
      ['DEFAULT_COUNTRY', 'India'],
      ['DEFAULT_COUNTRY', 'XX'],
      ['SMS_PROVIDER', 'sns'],
      ['TWILIO_API_BASE', 'ftp://api.twilio.com'],
      ['TWILIO_API_BASE', 'twilio'],
      ['LOG_LEVEL', 'verbose'],
    ];
    for (const [name, value] of refused) assert.equal(refusedVariable({ [name]: value }), name, `${name}=${value}`);
    for (const host of ['::', '::1', '127.0.0.1', 'localhost', 'api.example.com']) {
      assert.equal(loadConfig({ HOST: host }).host, host);
    }
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://localhost/x' }).databaseUrl, 'postgresql://localhost/x');
  });

  test('SMS_PROVIDER=twilio requires each Twilio credential', () => {
    for (const name of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM']) {
      assert.equal(refusedVariable({ ...TWILIO, [name]: '' }), name);
    }
    assert.equal(loadConfig(TWILIO).twilio?.apiBase, 'https://api.twilio.com');
    assert.equal(loadConfig({ TWILIO_ACCOUNT_SID: 'AC123' }).twilio, undefined, 'ignored with the console provider');
  });

  test('APP_SECRET: required in production, never the development default there, at least 16 characters', () => {
    assert.equal(refusedVariable({ ENV: 'production' }), 'APP_SECRET');
    assert.equal(refusedVariable({ ENV: 'production', APP_SECRET: DEV_APP_SECRET }), 'APP_SECRET');
    assert.equal(refusedVariable({ APP_SECRET: 'too-short' }), 'APP_SECRET');
    assert.equal(loadConfig({ ENV: 'test' }).appSecret, DEV_APP_SECRET);
    assert.equal(loadConfig({ ...TWILIO, ENV: 'production', APP_SECRET: 'x'.repeat(16) }).appSecret, 'x'.repeat(16));
  });

  test('unsafe production settings refuse to start, naming the variable', () => {
    const production = { ENV: 'production', ...TWILIO };
    assert.equal(refusedVariable({ ...production, SMS_PROVIDER: 'console' }), 'SMS_PROVIDER');
    assert.equal(refusedVariable({ ...production, TRUST_PROXY: 'true' }), 'TRUST_PROXY');
    assert.deepEqual(loadConfig({ ...production, TRUST_PROXY: '1' }).trustProxy, 1);
    assert.deepEqual(loadConfig({ ...production, TRUST_PROXY: '10.0.0.0/8' }).trustProxy, ['10.0.0.0/8']);
    assert.equal(refusedVariable({ ...TWILIO, APP_SECRET: '' }), 'APP_SECRET', 'twilio needs a real secret, whatever ENV says');
    assert.equal(refusedVariable({ ...TWILIO, APP_SECRET: DEV_APP_SECRET }), 'APP_SECRET');
  });

  test('storage, regions, test numbers and the metrics listener are checked', () => {
    assert.equal(refusedVariable({ STORAGE: 'ftp' }), 'STORAGE');
    assert.equal(refusedVariable({ STORAGE: 's3' }), 'S3_BUCKET');
    assert.equal(refusedVariable({ STORAGE: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }), 'S3_ENDPOINT');
    assert.equal(refusedVariable({ STORAGE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'yes' }), 'S3_FORCE_PATH_STYLE');
    assert.deepEqual(loadConfig({ STORAGE: 's3', S3_BUCKET: 'b' }).storage, {
      kind: 's3',
      bucket: 'b',
      region: 'us-east-1',
      endpoint: undefined,
      forcePathStyle: false,
      prefix: 'creatives/',
      accessKeyId: undefined,
      secretAccessKey: undefined,
    });
    assert.equal(refusedVariable({ PUBLIC_FILES_URL: 'cdn.example.com' }), 'PUBLIC_FILES_URL');
    assert.equal(loadConfig({ OTP_ALLOWED_COUNTRIES: '*' }).otp.allowedCountries, '*');
    assert.deepEqual(loadConfig({ DEFAULT_COUNTRY: 'GB' }).otp.allowedCountries, ['GB']);
    assert.equal(refusedVariable({ OTP_ALLOWED_COUNTRIES: 'IN,XX' }), 'OTP_ALLOWED_COUNTRIES');
    assert.equal(refusedVariable({ OTP_TEST_NUMBERS: '+919999900001' }), 'OTP_TEST_NUMBERS');
    assert.equal(refusedVariable({ OTP_TEST_NUMBERS: '9999900001=123456' }), 'OTP_TEST_NUMBERS');
    assert.equal(refusedVariable({ OTP_TEST_NUMBERS: '+919999900001=12345' }), 'OTP_TEST_NUMBERS');
    assert.equal(refusedVariable({ OTP_TEST_NUMBERS_UNTIL: 'soon' }), 'OTP_TEST_NUMBERS_UNTIL');
    assert.deepEqual(
      loadConfig({ OTP_TEST_NUMBERS: '+919999900001=123456, +919999900002=000000' }).otpTestNumbers,
      new Map([
        ['+919999900001', '123456'],
        ['+919999900002', '000000'],
      ]),
    );
    assert.deepEqual(loadConfig({ METRICS_PORT: '9464' }).metrics, { port: 9464, host: '127.0.0.1' });
    assert.equal(loadConfig({ METRICS_HOST: '0.0.0.0' }).metrics, undefined, 'off without a port');
  });

  test('a problem message never repeats the secret it is about', () => {
    assert.throws(
      () => loadConfig({ APP_SECRET: 'short-secret' }),
      (error: Error) => error instanceof ConfigError && !error.message.includes('short-secret'),
    );
  });

  describe('TRUST_PROXY', () => {
    const accepted: [string, boolean | number | string[]][] = [
      ['true', true],
      ['false', false],
      ['0', 0],
      ['2', 2],
      ['10.0.0.1', ['10.0.0.1']],
      ['10.0.0.0/8, 192.168.1.0/255.255.255.0,loopback', ['10.0.0.0/8', '192.168.1.0/255.255.255.0', 'loopback']],
      ['::1, fd00::/8, uniquelocal, linklocal', ['::1', 'fd00::/8', 'uniquelocal', 'linklocal']],
    ];
    for (const [raw, expected] of accepted) {
      test(`"${raw}" is accepted`, () => assert.deepEqual(loadConfig({ TRUST_PROXY: raw }).trustProxy, expected));
    }
    // A /0 (or netmask 0.0.0.0) is refused here rather than by proxy-addr, which threw a stack at start-up.
    const refused = ['yes', 'TRUE', 'face', '10.0.0.1/33', '::1/129', '1.2.3', '10.0.0.0/8/1', '10.0.0.1/255.0.0', ','];
    for (const raw of [...refused, '0.0.0.0/0', '::/0', '0.0.0.0/0.0.0.0', '10.0.0.0/255.0.255.0']) {
      test(`"${raw}" is refused`, () => assert.equal(refusedVariable({ TRUST_PROXY: raw }), 'TRUST_PROXY'));
    }
    const production = { ...TWILIO, ENV: 'production' };
    const productionAccepted = [
      '5',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '100.64.0.0/10',
      '203.0.113.0/24',
      '198.51.0.0/16',
      '2001:db8::/32',
      'loopback, uniquelocal, linklocal',
      '10.0.0.0/255.0.0.0',
    ];
    for (const raw of productionAccepted) {
      test(`with ENV=production, "${raw}" is accepted`, () =>
        assert.equal(refusedVariable({ ...production, TRUST_PROXY: raw }), undefined));
    }
    // The review's bypass first: two halves of each family are the whole internet.
    const productionRefused = [
      '0.0.0.0/1,128.0.0.0/1,::/1,8000::/1',
      '6',
      '11.0.0.0/8',
      '10.0.0.0/7',
      '198.0.0.0/15',
      '2001::/31',
      '1.0.0.0/255.254.0.0',
      'true',
    ];
    for (const raw of productionRefused) {
      test(`with ENV=production, "${raw}" is refused`, () =>
        assert.equal(refusedVariable({ ...production, TRUST_PROXY: raw }), 'TRUST_PROXY'));
    }
  });
});

describe('environmentWithDotenv', () => {
  const withDotenv = (text: string, processEnv: Env): Env => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, '.env'), text);
      return environmentWithDotenv(processEnv, join(dir, '.env'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('reads .env; the process environment wins over it; an empty process value does not mask it', () => {
    const env = withDotenv(
      ['# a comment', 'PORT=5000', 'LOG_LEVEL="debug"', "APP_TIMEZONE='Asia/Kolkata'", 'OTP_LENGTH=8', ''].join('\n'),
      { PORT: '6000', OTP_LENGTH: '' },
    );
    const config = loadConfig(env);
    assert.equal(config.port, 6000);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.appTimezone, 'Asia/Kolkata');
    assert.equal(config.otp.length, 8);
  });

  test('a missing .env file leaves the process environment as it is', () => {
    const processEnv = { PORT: '6000' };
    const dir = tempDir();
    try {
      assert.deepEqual(environmentWithDotenv(processEnv, join(dir, 'no-such.env')), processEnv);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
