import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../support/backends.ts';
import { TWILIO, VARIABLES } from '../support/config-variables.ts';
import { runProcess } from '../support/server-process.ts';

/** Any path, region name or credential is accepted as it is. */
const FREE_FORM = ['DATA_DIR', 'UPLOAD_DIR', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];

/** Runs fn over items, `size` at a time: each start of a process costs about a second of CPU. */
async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('a bad variable stops the real process: exit code 1, one stderr line naming it, nothing else', () => {
  const cases: [variable: string, env: Record<string, string>][] = [
    ['PORT', { PORT: 'http' }],
    ['HOST', { HOST: 'not a host' }],
    ['ENV', { ENV: 'staging' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/cheershare' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['MAX_UPLOAD_BYTES', { MAX_UPLOAD_BYTES: '10MB' }],
    ['APP_TIMEZONE', { APP_TIMEZONE: 'India/Mumbai' }],
    ['MAX_SCHEDULE_DAYS', { MAX_SCHEDULE_DAYS: '0' }],
    ['DEFAULT_COUNTRY', { DEFAULT_COUNTRY: 'IND' }],
    ['OTP_LENGTH', { OTP_LENGTH: '3' }],
    ['OTP_LENGTH', { OTP_LENGTH: '11' }],
    ['OTP_TTL_SECONDS', { OTP_TTL_SECONDS: '-300' }],
    ['OTP_MAX_ATTEMPTS', { OTP_MAX_ATTEMPTS: 'five' }],
    ['OTP_RESEND_SECONDS', { OTP_RESEND_SECONDS: '0.5' }],
    ['OTP_PER_NUMBER_PER_HOUR', { OTP_PER_NUMBER_PER_HOUR: '0' }],
    ['OTP_PER_IP_PER_HOUR', { OTP_PER_IP_PER_HOUR: 'many' }],
    ['VERIFY_PER_IP_PER_HOUR', { VERIFY_PER_IP_PER_HOUR: '1e2' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['TOKEN_TTL_HOURS', { TOKEN_TTL_HOURS: '48h' }],
    ['SMS_PROVIDER', { SMS_PROVIDER: 'pigeon' }],
    ['TWILIO_ACCOUNT_SID', { ...TWILIO, TWILIO_ACCOUNT_SID: '' }],
    ['TWILIO_AUTH_TOKEN', { ...TWILIO, TWILIO_AUTH_TOKEN: '' }],
    ['TWILIO_FROM', { ...TWILIO, TWILIO_FROM: '' }],
    ['TWILIO_API_BASE', { TWILIO_API_BASE: 'api.twilio.com' }],
    ['SMS_MAX_ATTEMPTS', { SMS_MAX_ATTEMPTS: '0' }],
    ['SHUTDOWN_TIMEOUT_SECONDS', { SHUTDOWN_TIMEOUT_SECONDS: '30s' }],
    ['APP_SECRET', { ENV: 'production' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['SMS_PROVIDER', { ENV: 'production', APP_SECRET: 'x'.repeat(16) }],
    ['TRUST_PROXY', { ...TWILIO, ENV: 'production', TRUST_PROXY: 'true' }],
    ['APP_SECRET', { ...TWILIO, APP_SECRET: '' }],
    ['S3_BUCKET', { STORAGE: 's3' }],
    ['MAX_IMAGE_PIXELS', { MAX_IMAGE_PIXELS: 'lots' }],
    ['STORAGE', { STORAGE: 'disk' }],
    ['S3_ENDPOINT', { STORAGE: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }],
    ['S3_FORCE_PATH_STYLE', { STORAGE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: '1' }],
    ['S3_PREFIX', { STORAGE: 's3', S3_BUCKET: 'b', S3_PREFIX: '/abs/' }],
    ['PUBLIC_FILES_URL', { PUBLIC_FILES_URL: 'ftp://cdn' }],
    ['IMAGE_CONCURRENCY', { IMAGE_CONCURRENCY: '0' }],
    ['UPLOADS_PER_USER_PER_HOUR', { UPLOADS_PER_USER_PER_HOUR: '-1' }],
    ['USER_QUOTA_BYTES', { USER_QUOTA_BYTES: '1GB' }],
    ['MIN_FREE_DISK_BYTES', { MIN_FREE_DISK_BYTES: '1.5' }],
    ['FEED_LIMIT', { FEED_LIMIT: 'all' }],
    ['OTP_ALLOWED_COUNTRIES', { OTP_ALLOWED_COUNTRIES: 'IN,ZZ' }],
    ['OTP_PER_PREFIX_PER_HOUR', { OTP_PER_PREFIX_PER_HOUR: '0' }],
    ['SMS_PER_HOUR', { SMS_PER_HOUR: 'x' }],
    ['OTP_TEST_NUMBERS', { OTP_TEST_NUMBERS: '+910000=123456' }],
    ['OTP_TEST_NUMBERS_UNTIL', { OTP_TEST_NUMBERS_UNTIL: 'next week' }],
    ['REQUEST_TIMEOUT_SECONDS', { REQUEST_TIMEOUT_SECONDS: '0' }],
    ['UPLOAD_IDLE_TIMEOUT_SECONDS', { UPLOAD_IDLE_TIMEOUT_SECONDS: '30s' }],
    ['METRICS_PORT', { METRICS_PORT: '70000' }],
    ['TRUST_PROXY', { TRUST_PROXY: '0.0.0.0/0' }],
    ['TRUST_PROXY', { ...TWILIO, ENV: 'production', TRUST_PROXY: '0.0.0.0/1,128.0.0.0/1,::/1,8000::/1' }],
    ['UPLOADS_IN_FLIGHT_PER_USER', { UPLOADS_IN_FLIGHT_PER_USER: '0' }],
    ['IMAGE_SECONDS_PER_USER_PER_HOUR', { IMAGE_SECONDS_PER_USER_PER_HOUR: '2m' }],
    ['UPLOAD_MAX_SECONDS', { UPLOAD_MAX_SECONDS: '-5' }],
    ['UPLOAD_TEMP_MAX_BYTES', { UPLOAD_TEMP_MAX_BYTES: '2GiB' }],
    ['SMS_RESERVED_FOR_KNOWN_PERCENT', { SMS_RESERVED_FOR_KNOWN_PERCENT: '101' }],
    ['METRICS_HOST', { METRICS_PORT: '9464', METRICS_HOST: 'not a host' }],
  ];

  test(`${cases.length} cases, covering every variable that can be wrong`, async () => {
    const failures: string[] = [];
    await inBatches(cases, 4, async ([variable, env]) => {
      const child = runProcess(env);
      const code = await child.exited;
      const lines = child.stderr().trimEnd().split('\n');
      const label = `${JSON.stringify(env)} → exit ${code}, stderr ${JSON.stringify(child.stderr())}, logs ${child.logs.length}`;
      if (code !== 1 || lines.length !== 1 || !lines[0]!.startsWith(`configuration error: ${variable}: `) || child.logs.length) {
        failures.push(label);
      }
    });
    assert.deepEqual(failures, []);
    const named = new Set(cases.map(([variable]) => variable));
    const untested = VARIABLES.filter((name) => !named.has(name) && !FREE_FORM.includes(name));
    assert.deepEqual(untested, [], 'every variable but the free-form ones can be wrong');
  });

  test('.env in the working directory is read by the process, and the process environment wins', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, '.env'), 'OTP_LENGTH=12\nLOG_LEVEL=chatty\n');
      const fromFile = runProcess({}, { cwd: dir });
      const overridden = runProcess({ LOG_LEVEL: 'silent', OTP_LENGTH: '6', PORT: 'none' }, { cwd: dir });
      assert.equal(await fromFile.exited, 1);
      assert.match(fromFile.stderr(), /^configuration error: OTP_LENGTH: .*"12"\n$/);
      assert.equal(await overridden.exited, 1);
      assert.match(overridden.stderr(), /^configuration error: PORT: /, 'LOG_LEVEL and OTP_LENGTH from .env were overridden');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
