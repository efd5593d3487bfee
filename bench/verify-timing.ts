/**
 * Does a wrong-code verify take the same time whether or not a code is pending for the number?
 * (Issue 23, finding 6: 3.3 ms with a pending code against 1.9–2.3 ms without, on PostgreSQL.)
 *
 *   npx tsx bench/verify-timing.ts [--requests 400] [--root /path/to/another/checkout]
 *
 * One server (`tsx`, PostgreSQL from BENCH/TEST_DATABASE_URL's admin database; OTP challenges in
 * the database, where the review measured the difference), one connection, requests one at a
 * time, alternating between a number with a pending code and one without, so that the machine's
 * load falls on both alike. Prints the medians and their ratio as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMigratedDatabase } from './support/postgres.ts';
import { ROOT, startServer } from './support/server.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '400' }, root: { type: 'string', default: ROOT } },
});
const requests = Number(values.requests);

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const workDir = mkdtempSync(join(tmpdir(), 'cheershare-verify-timing-'));
const postgres = await createMigratedDatabase();
try {
  const server = await startServer(
    'tsx',
    {
      ENV: 'development',
      APP_SECRET: randomBytes(24).toString('hex'),
      DATABASE_URL: postgres.url,
      UPLOAD_DIR: join(workDir, 'uploads'),
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
      // Out of the way: every guess is counted, none refused.
      VERIFY_PER_IP_PER_HOUR: '1000000',
      OTP_MAX_ATTEMPTS: '1000000',
    },
    workDir,
    60_000,
    values.root,
  );
  try {
    const post = async (body: object, client: string) => {
      const started = performance.now();
      const response = await fetch(`${server.url}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
        body: JSON.stringify(body),
      });
      await response.arrayBuffer();
      return { status: response.status, ms: performance.now() - started };
    };
    const pending = '+919876500001';
    const none = '+919876500002';
    if ((await post({ name: 'Bench', phone_number: pending }, '198.51.100.1')).status !== 200) throw new Error('no code issued');
    const times: Record<'pending' | 'none', number[]> = { pending: [], none: [] };
    for (let i = 0; i < requests + 40; i++) {
      for (const [kind, phone] of [
        ['pending', pending],
        ['none', none],
      ] as const) {
        const { status, ms } = await post({ phone_number: phone, otp: '000000' }, `203.0.113.${(i % 250) + 1}`);
        if (status !== 401) throw new Error(`expected 401, got ${status}`);
        // The first 40 of each warm the server up.
        if (i >= 40) times[kind].push(ms);
      }
    }
    const result = {
      requests,
      medianPendingMs: Math.round(median(times.pending) * 1000) / 1000,
      medianNoneMs: Math.round(median(times.none) * 1000) / 1000,
      ratio: Math.round((median(times.pending) / median(times.none)) * 1000) / 1000,
    };
    console.log(JSON.stringify(result));
  } finally {
    await server.stop();
  }
} finally {
  await postgres.drop();
  rmSync(workDir, { recursive: true, force: true });
}
