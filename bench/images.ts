import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { ACCEPTED_IMAGE_TYPES } from '../src/creatives/image-type.ts';
import { stripMetadata } from '../src/creatives/strip/strip.ts';
import { startMoto } from '../test/support/moto.ts';
import { uploadForm } from '../test/support/multipart.ts';
import { createMigratedDatabase } from './support/postgres.ts';
import { ROOT, startServer } from './support/server.ts';
import { benchUploads, signedInBeforeStart, type UploadRun } from './uploads.ts';

const MIB = 1024 * 1024;
const FEED_SIZE = 20;
/** ENV=production refuses the console SMS provider; for uploads the environments differ in nothing else. */
const BENCH_ENV = 'development';

/**
 * A photo-like JPEG: detail at every scale (broad shading, mid-sized shapes, fine grain), so that
 * neither its variants nor the original compress better than a phone photo's would. `grain` and
 * `quality` set its size.
 */
async function photo(width: number, height: number, grain: number, quality: number): Promise<Buffer> {
  const noise = (w: number, h: number, sigma: number) =>
    sharp({ create: { width: w, height: h, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma } } });
  const scaled = async (divisor: number, sigma: number) =>
    noise(Math.ceil(width / divisor), Math.ceil(height / divisor), sigma)
      .png()
      .toBuffer()
      .then((small) => sharp(small).resize(width, height, { kernel: 'cubic' }).png({ compressionLevel: 0 }).toBuffer());
  const broad = await scaled(200, 70);
  const shapes = await scaled(25, 60);
  const fine = await noise(width, height, grain).png({ compressionLevel: 0 }).toBuffer();
  return sharp(broad)
    .composite([
      { input: shapes, blend: 'overlay' },
      { input: fine, blend: 'soft-light' },
    ])
    .jpeg({ quality })
    .toBuffer();
}

export interface ImagesResults {
  inputs: Record<string, { width: number; height: number; mib: number }>;
  feed: {
    creatives: number;
    originalsMib: number;
    storedOriginalsMib: number;
    thumbsMib: number;
    feedsMib: number;
    thumbsPercent: number;
    feedsPercent: number;
  };
  uploads: (UploadRun & { image: string; server: Server; storage: 'local' | 's3' })[];
  /** Milliseconds of each step for one 4000×3000 photo, in this process, one libvips thread. */
  stepsMs: Record<string, number>;
}

/** Ours, or today's: the copy-only server (stores bytes as sent), built from the baseline commit. */
type Server = 'images' | 'copy-only';

/**
 * Issues 11 and 21: the bytes a client downloads for a feed of 20 creatives made from ~10 MiB
 * photos (originals vs what is stored, thumb and feed); uploads/s and peak server RSS for 1 MiB
 * images and ~10 MiB photos at 1 and 16 concurrent uploads, ours against the copy-only server (the
 * baseline commit) in the same run, on local disk and on S3 (moto); and where the time of one
 * photo goes.
 */
export async function benchImages(options: {
  workDir: string;
  baseline: string;
  uploads: number;
  log: (line: string) => void;
}): Promise<ImagesResults> {
  const { workDir, log } = options;
  log('  making the photos …');
  // Four different photos, five times each: as many bytes as twenty, in a fifth of the time to make.
  const distinct: Buffer[] = [];
  for (let i = 0; i < 4; i++) distinct.push(await photo(4000, 3000, 55, 97));
  const feedPhotos = Array.from({ length: FEED_SIZE }, (_, i) => distinct[i % distinct.length]!);
  const large = distinct[0]!;
  const small = await photo(1600, 1200, 45, 93);
  const inputs = {
    '10 MiB photo 4000×3000': { width: 4000, height: 3000, mib: round(large.length / MIB) },
    '1 MiB 1600×1200': { width: 1600, height: 1200, mib: round(small.length / MIB) },
  };

  const feed = await feedBytes(feedPhotos, workDir);
  log(
    `  feed of ${FEED_SIZE}: originals ${feed.originalsMib} MiB (stored ${feed.storedOriginalsMib} MiB), thumbs ${feed.thumbsMib} MiB (${feed.thumbsPercent} %), feed ${feed.feedsMib} MiB (${feed.feedsPercent} %)`,
  );

  const uploads: ImagesResults['uploads'] = [];
  const moto = await startMoto();
  try {
    for (const { image, bytes, concurrencies, storage } of [
      { image: '1 MiB 1600×1200', bytes: small, concurrencies: [1, 16], storage: 'local' },
      { image: '10 MiB photo 4000×3000', bytes: large, concurrencies: [1, 16], storage: 'local' },
      { image: '10 MiB photo 4000×3000', bytes: large, concurrencies: [16], storage: 's3' },
    ] as const) {
      for (const concurrency of concurrencies) {
        // Ours and the copy-only server one after the other, so that both see about the same load.
        for (const server of ['images', 'copy-only'] as const) {
          const storageEnv = storage === 's3' ? moto.env(await moto.createBucket()) : {};
          const run = await benchUploads({
            database: 'postgres',
            sizeMib: round(bytes.length / MIB),
            image: { bytes, filename: 'photo.jpg', contentType: 'image/jpeg' },
            concurrency,
            uploads: options.uploads,
            workDir,
            command: 'dist',
            root: server === 'copy-only' ? options.baseline : ROOT,
            serverEnv: { ENV: BENCH_ENV, ...storageEnv },
          });
          log(
            `  ${server} ${storage} ${image} × ${concurrency}: ${run.uploadsPerSecond} uploads/s, p50 ${run.latencyMs.p50} ms, ` +
              `failures ${run.failures}, RSS idle ${run.rssMib.idle} / peak ${run.rssMib.peakDuringUploads} MiB`,
          );
          uploads.push({ ...run, image, server, storage });
        }
      }
    }
  } finally {
    await moto.stop();
  }
  const stepsMs = await steps(large, workDir);
  log(`  steps of one photo (ms): ${JSON.stringify(stepsMs)}`);
  return { inputs, feed, uploads, stepsMs };
}

/** Uploads the photos, then downloads what a feed shows: each original, thumb and feed variant. */
async function feedBytes(photos: Buffer[], workDir: string): Promise<ImagesResults['feed']> {
  const postgres = await createMigratedDatabase();
  try {
    return await feedBytesOn(postgres.url, photos, workDir);
  } finally {
    await postgres.drop();
  }
}

async function feedBytesOn(databaseUrl: string, photos: Buffer[], workDir: string): Promise<ImagesResults['feed']> {
  const authorization = await signedInBeforeStart({ databaseUrl, dataDir: workDir });
  const server = await startServer(
    'dist',
    {
      ENV: BENCH_ENV,
      APP_SECRET: randomBytes(24).toString('hex'),
      DATABASE_URL: databaseUrl,
      UPLOAD_DIR: join(workDir, `uploads-${randomBytes(4).toString('hex')}`),
      MAX_UPLOAD_BYTES: String(16 * MIB),
    },
    workDir,
  );
  try {
    const today = new Date().toISOString().slice(0, 10);
    for (const bytes of photos) {
      const form = uploadForm(bytes, today, { filename: 'photo.jpg', contentType: 'image/jpeg' });
      const res = await fetch(`${server.url}/upload-creative`, {
        method: 'POST',
        headers: { ...form.headers, authorization },
        body: form.body,
      });
      if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    }
    const scheduled = (await (await fetch(`${server.url}/scheduled?tz=UTC`, { headers: { authorization } })).json()) as {
      scheduled_creatives: { today: { creative_url: string; variants: { thumb: string; feed: string } }[] };
    };
    const creatives = scheduled.scheduled_creatives.today;
    const download = async (url: string) => (await (await fetch(new URL(url, server.url))).arrayBuffer()).byteLength;
    const sum = async (urls: string[]) => (await Promise.all(urls.map(download))).reduce((a, b) => a + b, 0);
    const originals = photos.reduce((total, bytes) => total + bytes.length, 0);
    const storedOriginals = await sum(creatives.map((c) => c.creative_url));
    const thumbs = await sum(creatives.map((c) => c.variants.thumb));
    const feeds = await sum(creatives.map((c) => c.variants.feed));
    return {
      creatives: creatives.length,
      originalsMib: round(originals / MIB),
      storedOriginalsMib: round(storedOriginals / MIB),
      thumbsMib: round(thumbs / MIB, 3),
      feedsMib: round(feeds / MIB, 3),
      thumbsPercent: round((thumbs / originals) * 100, 3),
      feedsPercent: round((feeds / originals) * 100, 3),
    };
  } finally {
    await server.stop();
  }
}

/**
 * The steps of src/creatives/images.ts one at a time, on one photo, as the server runs them; and,
 * for the choice of how to keep a rotated photo upright, what a re-encode at quality 90 would cost.
 */
async function steps(bytes: Buffer, workDir: string): Promise<Record<string, number>> {
  const path = join(workDir, 'steps.jpg');
  writeFileSync(path, bytes);
  sharp.cache(false);
  sharp.concurrency(1);
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const value = await fn();
    return [value, Math.round(performance.now() - t0)];
  };
  const [, strip] = await timed(async () => stripMetadata(ACCEPTED_IMAGE_TYPES[0], readFileSync(path)));
  const [, header] = await timed(() => sharp(path).metadata());
  const [shrunk, shrink] = await timed(() =>
    sharp(path, { failOn: 'error' })
      .rotate()
      .resize({ width: 1080, withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
  const pixels = () => sharp(shrunk.data, { raw: shrunk.info });
  const [, feedWebp] = await timed(() => pixels().webp({ quality: 80, effort: 2 }).toBuffer());
  const [, thumbWebp] = await timed(() => pixels().resize({ width: 320 }).webp({ quality: 80, effort: 2 }).toBuffer());
  const [, placeholder] = await timed(async () => {
    const { data, info } = await pixels()
      .resize(32, 32, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return rgbaToThumbHash(info.width, info.height, data);
  });
  const [reencoded, reencode] = await timed(() =>
    sharp(path, { failOn: 'error' }).rotate(90).keepIccProfile().jpeg({ quality: 90, optimiseCoding: false }).toBuffer(),
  );
  return {
    'strip the metadata (JPEG segments, in JS)': strip,
    'header (metadata)': header,
    'variants: decode shrunk on load to 1080 wide': shrink,
    'feed WebP encode': feedWebp,
    'thumb resize + WebP encode': thumbWebp,
    'placeholder (ThumbHash)': placeholder,
    'not done: turn upright by decode + rotate + JPEG q90 encode': reencode,
    'not done: that re-encode, in KiB (the upload is this many KiB)': Math.round(reencoded.length / 1024),
    'the upload, KiB': Math.round(bytes.length / 1024),
  };
}

/**
 * The copy-only server: the baseline commit's source with its own dependencies (it has packages
 * this checkout no longer uses), built to dist/.
 */
export function buildBaseline(commit: string, workDir: string): string {
  const root = join(workDir, 'baseline');
  mkdirSync(root);
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive ${commit} | tar -x -C "${root}"`]);
  execFileSync('npm', ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--silent'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  return root;
}

function round(value: number, digits = 2): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
