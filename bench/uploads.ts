import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Migrator } from '../src/platform/db/migrator.ts';
import { openDatabase } from '../src/platform/db/open.ts';
import { png } from '../test/support/images.ts';
import { uploadForm } from '../test/support/multipart.ts';
import { createSignedInUser } from '../test/support/users.ts';
import { createMigratedDatabase } from './support/postgres.ts';
import { productionEnv, ROOT, startServer, type ServerCommand } from './support/server.ts';

const MIB = 1024 * 1024;

export interface UploadRun {
  database: 'postgres' | 'pglite';
  sizeMib: number;
  concurrency: number;
  uploads: number;
  seconds: number;
  uploadsPerSecond: number;
  mibPerSecond: number;
  latencyMs: { p50: number; p99: number };
  failures: number;
  /** Server RSS (MiB): after start-up and one upload; peak during the run (VmHWM reset before it); peak over its whole life. */
  rssMib: { idle: number; peakDuringUploads: number; peakLifetime: number };
}

/** An image to upload: a real one instead of a padded PNG. */
export interface UploadImage {
  bytes: Buffer;
  filename: string;
  contentType: string;
}

/**
 * The Authorization header of a new user in a migrated database. Made before the server starts:
 * an embedded database opens in one process at a time.
 */
export async function signedInBeforeStart(database: { databaseUrl: string | undefined; dataDir: string }): Promise<string> {
  const db = await openDatabase(database);
  try {
    await new Migrator(db).up();
    return (await createSignedInUser(db)).headers.authorization;
  } finally {
    await db.close();
  }
}

/**
 * `uploads` POST /upload-creative of one `sizeMib` PNG each, `concurrency` at a time (closed loop),
 * from a body built once so the client costs little CPU; the server on a fresh database.
 */
export async function benchUploads(options: {
  database: 'postgres' | 'pglite';
  sizeMib: number;
  concurrency: number;
  uploads: number;
  workDir: string;
  command: ServerCommand;
  serverEnv?: Record<string, string>;
  /** A real image to send instead of a PNG padded to `sizeMib` (give its size as `sizeMib`). */
  image?: UploadImage;
  /** The checkout whose server runs (see startServer). */
  root?: string;
}): Promise<UploadRun> {
  const { sizeMib, concurrency, uploads, workDir, command } = options;
  const size = Math.round(sizeMib * MIB);
  const dataDir = join(workDir, `pglite-${randomBytes(4).toString('hex')}`);
  const postgres = options.database === 'postgres' ? await createMigratedDatabase() : undefined;
  const databaseEnv: Record<string, string> = postgres ? { DATABASE_URL: postgres.url } : { DATA_DIR: dataDir };
  try {
    const authorization = await signedInBeforeStart({ databaseUrl: postgres?.url, dataDir });
    const server = await startServer(
      command,
      {
        ...productionEnv(),
        UPLOAD_DIR: join(workDir, `uploads-${randomBytes(4).toString('hex')}`),
        MAX_UPLOAD_BYTES: String(Math.max(size, 10 * MIB)),
        ...databaseEnv,
        ...options.serverEnv,
      },
      workDir,
      undefined,
      options.root ?? ROOT,
    );
    const { image } = options;
    try {
      // Warm-up: the first request compiles routes and schemas.
      await runUploads(server.url, authorization, { size, concurrency: 1, uploads: 1, image });
      const idle = server.memoryMib('VmRSS');
      const startupPeak = server.memoryMib('VmHWM');
      server.resetPeak();
      const { seconds, latencies, failures } = await runUploads(server.url, authorization, { size, concurrency, uploads, image });
      const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
      return {
        database: options.database,
        sizeMib,
        concurrency,
        uploads,
        seconds: Math.round(seconds * 100) / 100,
        uploadsPerSecond: Math.round((uploads / seconds) * 10) / 10,
        mibPerSecond: Math.round((uploads * sizeMib) / seconds),
        latencyMs: { p50: at(0.5), p99: at(0.99) },
        failures,
        rssMib: {
          idle: Math.round(idle),
          peakDuringUploads: Math.round(server.memoryMib('VmHWM')),
          peakLifetime: Math.round(Math.max(startupPeak, server.memoryMib('VmHWM'))),
        },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await postgres?.drop();
  }
}

export interface UploadLoop {
  seconds: number;
  /** Milliseconds, sorted. */
  latencies: number[];
  failures: number;
  /** creative_url of the last upload that succeeded. */
  lastCreativeUrl?: string;
}

/**
 * `uploads` POST /upload-creative of one `size`-byte PNG (or `image`) each to `baseUrl`,
 * `concurrency` at a time (closed loop), from a body built once so the client costs little CPU.
 */
export async function runUploads(
  baseUrl: string,
  authorization: string,
  { size, concurrency, uploads, image }: { size: number; concurrency: number; uploads: number; image?: UploadImage },
): Promise<UploadLoop> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const today = new Date().toISOString().slice(0, 10);
  const form = image ? uploadForm(image.bytes, today, image) : uploadForm(png(size), today);
  const url = new URL('/upload-creative', baseUrl);
  const headers = { ...form.headers, authorization, 'content-length': String(form.body.length) };
  let lastCreativeUrl: string | undefined;
  const uploadOnce = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          if (res.statusCode === 201)
            lastCreativeUrl = (JSON.parse(Buffer.concat(chunks).toString()) as { creative: { creative_url: string } }).creative
              .creative_url;
          resolve(res.statusCode ?? 0);
        });
      });
      req.once('error', reject);
      req.end(form.body);
    });
  const latencies: number[] = [];
  let started = 0;
  let failures = 0;
  const worker = async () => {
    while (started < uploads) {
      started++;
      const t0 = performance.now();
      const status = await uploadOnce().catch(() => 0);
      latencies.push(performance.now() - t0);
      if (status !== 201) failures++;
    }
  };
  try {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { seconds: (performance.now() - t0) / 1000, latencies: latencies.sort((a, b) => a - b), failures, lastCreativeUrl };
  } finally {
    agent.destroy();
  }
}
