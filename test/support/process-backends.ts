import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { tempDir, TEST_DATABASE_URL, TEST_REDIS_URL } from './backends.ts';
import { migratedDataDir } from './embedded.ts';
import { createPostgresDatabase } from './postgres.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

/** What a server process under test keeps its data in: a fresh store of one kind, and its removal. */
export interface ProcessBackend {
  name: 'embedded' | 'postgres+redis';
  create(): Promise<{ env: Record<string, string>; remove(): Promise<void> }>;
}

const embedded: ProcessBackend = {
  name: 'embedded',
  async create() {
    const dataDir = await migratedDataDir();
    const uploadDir = tempDir();
    return {
      env: { DATA_DIR: dataDir, UPLOAD_DIR: uploadDir },
      remove: async () => {
        for (const dir of [dirname(dataDir), uploadDir]) rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function postgresAndRedis(databaseUrl: string, redisUrl: string): ProcessBackend {
  return {
    name: 'postgres+redis',
    async create() {
      const database = await createPostgresDatabase(databaseUrl, 'cheershare_process_');
      const uploadDir = tempDir();
      // The server's key prefix is fixed: a database number of its own keeps it apart from most
      // other suites. Its keys all expire (codes, limit windows), so none are deleted: another
      // suite's server may share the number and its keys.
      const redis = new URL(redisUrl);
      redis.pathname = `/${randomInt(1, 16)}`;
      return {
        env: { DATABASE_URL: database.url, REDIS_URL: redis.toString(), UPLOAD_DIR: uploadDir },
        remove: async () => {
          await database.drop();
          rmSync(uploadDir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The embedded default always; PostgreSQL + Redis too where the suite has them (always under CI=true). */
export const processBackends: ProcessBackend[] = [
  embedded,
  ...(TEST_DATABASE_URL && TEST_REDIS_URL ? [postgresAndRedis(TEST_DATABASE_URL, TEST_REDIS_URL)] : []),
];

/**
 * Limits high enough that a test sending many requests from one address never meets them (and
 * never meets another suite's counters in a shared Redis).
 */
export const UNLIMITED = {
  OTP_PER_IP_PER_HOUR: '1000000',
  OTP_PER_NUMBER_PER_HOUR: '1000000',
  OTP_PER_PREFIX_PER_HOUR: '1000000',
  VERIFY_PER_IP_PER_HOUR: '1000000',
  UPLOADS_PER_USER_PER_HOUR: '1000000',
  SMS_PER_HOUR: '1000000',
  OTP_RESEND_SECONDS: '1',
};

/** Signs a new person in through the API, reading the code from the console provider's log line. */
export async function signUpThroughApi(server: ServerProcess, phone: string): Promise<{ authorization: string }> {
  const post = (body: object) =>
    fetch(`${server.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const requested = await post({ name: 'Soak', phone_number: phone });
  if (requested.status !== 200) throw new Error(`requesting a code: ${requested.status} ${await requested.text()}`);
  const line = await server.waitForLog((entry) => (entry.sms as { to?: string } | undefined)?.to === phone);
  const code = /\d{4,}/.exec((line.sms as { message: string }).message)![0];
  const verified = await post({ phone_number: phone, otp: code });
  if (verified.status !== 200) throw new Error(`verifying: ${verified.status} ${await verified.text()}`);
  const { token } = (await verified.json()) as { token: string };
  return { authorization: `Bearer ${token}` };
}

/**
 * A server process on a fresh store of `backend`, for hostile clients: every limit out of the way,
 * codes in its log, and body timeouts of `timeoutSeconds`. `stop()` ends it and removes the store.
 */
export async function startHostileTarget(
  backend: ProcessBackend,
  timeoutSeconds: number,
  env: Record<string, string> = {},
): Promise<{ server: ServerProcess; stop(): Promise<void> }> {
  const store = await backend.create();
  const server = await startServerProcess({
    ...store.env,
    ...UNLIMITED,
    SMS_PROVIDER: 'console',
    REQUEST_TIMEOUT_SECONDS: String(timeoutSeconds),
    UPLOAD_IDLE_TIMEOUT_SECONDS: String(timeoutSeconds),
    ...env,
  }).catch(async (error: unknown) => {
    await store.remove();
    throw error;
  });
  return {
    server,
    async stop() {
      await server.stop();
      await store.remove();
    },
  };
}
