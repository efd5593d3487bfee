/**
 * Upload throughput and the server's memory under concurrent uploads (not a test; run on demand).
 *
 *   npx tsx bench/uploads.ts [--count 20] [--size-mib 10] [--rounds 3] [--built] [--postgres]
 *
 * Starts the server on loopback (tsx src/main.ts, or node dist/main.js with --built after
 * `npm run build`) on a fresh embedded database, or with --postgres on a fresh database made
 * through TEST_DATABASE_URL, with
 * MAX_UPLOAD_BYTES = the upload size. Then runs `rounds` rounds of `count` concurrent uploads of
 * a `size-mib` PNG and prints uploads/s and the server's peak resident memory (VmHWM, reset after
 * start-up so it covers the uploads only). Streaming shows as a peak that does not grow with size.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { databaseBackends, tempDir } from '../test/support/backends.ts';
import { png } from '../test/support/images.ts';
import { seedSignedInUser } from '../test/support/seed.ts';
import { startServerProcess } from '../test/support/server-process.ts';

const MIB = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20' },
    'size-mib': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    built: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
  },
});
const count = positive('count', values.count);
const sizeMib = positive('size-mib', values['size-mib']);
const rounds = positive('rounds', values.rounds);
const size = Math.round(sizeMib * MIB);

function positive(name: string, raw: string): number {
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

/** A field of /proc/<pid>/status in MiB (VmRSS: now, VmHWM: peak). */
function memoryMib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) / 1024;
}

const backend = databaseBackends.find((b) => b.name === (values.postgres ? 'postgres' : 'pglite'));
if (!backend) throw new Error('--postgres needs TEST_DATABASE_URL');
const database = await backend.create();
const uploadDir = tempDir('cheershare-bench-uploads-');
const user = await seedSignedInUser(database);
const server = await startServerProcess(
  { ...database.env, UPLOAD_DIR: uploadDir, MAX_UPLOAD_BYTES: String(size), LOG_LEVEL: 'info' },
  { script: values.built ? 'dist/main.js' : 'src/main.ts' },
);

try {
  const image = new Blob([png(size)], { type: 'image/png' });
  const date = new Date().toISOString().slice(0, 10);
  const uploadOnce = async () => {
    const form = new FormData();
    form.append('scheduled_at', date);
    form.append('file', image, 'bench.png');
    const res = await fetch(`${server.url}/upload-creative`, {
      method: 'POST',
      headers: user.headers,
      body: form,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };

  await uploadOnce(); // warm-up: first request compiles routes and schemas
  const idle = memoryMib(server.pid, 'VmRSS');
  // Writing 5 to clear_refs resets the peak, so VmHWM covers the uploads, not start-up.
  writeFileSync(`/proc/${server.pid}/clear_refs`, '5');

  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    await Promise.all(Array.from({ length: count }, uploadOnce));
  }
  const seconds = (performance.now() - started) / 1000;
  const uploads = count * rounds;

  console.log(`server: ${values.built ? 'node dist/main.js' : 'tsx src/main.ts'} on ${backend.name}, pid ${server.pid}`);
  console.log(
    `uploads: ${rounds} rounds of ${count} concurrent × ${sizeMib} MiB PNG = ${uploads} uploads in ${seconds.toFixed(2)} s`,
  );
  console.log(`throughput: ${(uploads / seconds).toFixed(1)} uploads/s, ${((uploads * size) / MIB / seconds).toFixed(0)} MiB/s`);
  console.log(
    `server RSS: ${idle.toFixed(0)} MiB idle, peak ${memoryMib(server.pid, 'VmHWM').toFixed(0)} MiB during the uploads`,
  );
} finally {
  await server.stop('SIGTERM');
  await database.drop();
  rmSync(uploadDir, { recursive: true, force: true });
}
