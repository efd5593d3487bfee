import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Queryable } from '../platform/db/database.ts';
import type { ImageProcessor } from './images.ts';
import { countUnprocessedCreatives, findUnprocessedCreatives, type UnprocessedCreative } from './repository.ts';
import type { CreativesService } from './service.ts';
import { receiveToFile } from './temporary-file.ts';

export interface BackfillOptions {
  db: Queryable;
  creatives: CreativesService;
  images: ImageProcessor;
  /** Rows worked on at once (each is downloaded, processed and stored). */
  concurrency: number;
  /** Rows read from the database at a time. */
  batchSize?: number;
  /** Called once with the number of rows to do, then after each row. */
  onStart?(total: number): void;
  onRow?(outcome: RowOutcome): void;
}

export type RowOutcome =
  | { id: number; url: string; status: 'done' }
  /** Deleted or changed while it was processed: nothing was changed. */
  | { id: number; url: string; status: 'gone' }
  | { id: number; url: string; status: 'failed'; reason: string };

export interface BackfillSummary {
  total: number;
  done: number;
  gone: number;
  failed: Extract<RowOutcome, { status: 'failed' }>[];
}

/**
 * Gives every creative that has none its variants, dimensions and placeholder, and replaces its
 * original with a stripped, upright copy under a new name (a URL never changes content: files are
 * cached as immutable). Rows are taken in id order and each is finished on its own, so an
 * interrupted run is resumed by running again, and a run with nothing to do changes nothing. A file
 * that cannot be processed is reported and left as it is.
 */
export async function backfillCreatives(options: BackfillOptions): Promise<BackfillSummary> {
  const { db, batchSize = 100 } = options;
  const summary: BackfillSummary = { total: 0, done: 0, gone: 0, failed: [] };
  const workDirectory = await mkdtemp(join(tmpdir(), 'cheershare-backfill-'));
  try {
    const limit = pLimit(options.concurrency);
    summary.total = await countUnprocessedCreatives(db);
    options.onStart?.(summary.total);
    // Rows that fail stay unprocessed: walking by id visits each once.
    let afterId = 0;
    for (;;) {
      const rows = await findUnprocessedCreatives(db, afterId, batchSize);
      if (rows.length === 0) break;
      const outcomes = await Promise.all(rows.map((row) => limit(() => backfillRow(row, options, workDirectory))));
      for (const outcome of outcomes) {
        if (outcome.status === 'failed') summary.failed.push(outcome);
        else summary[outcome.status]++;
      }
      afterId = rows.at(-1)!.id;
    }
    return summary;
  } finally {
    await rm(workDirectory, { recursive: true, force: true });
  }
}

async function backfillRow(row: UnprocessedCreative, options: BackfillOptions, workDirectory: string): Promise<RowOutcome> {
  const outcome = await tryBackfillRow(row, options, workDirectory).catch((error: unknown): RowOutcome => ({
    id: row.id,
    url: row.url,
    status: 'failed',
    reason: (error as Error).message,
  }));
  options.onRow?.(outcome);
  return outcome;
}

async function tryBackfillRow(
  row: UnprocessedCreative,
  { creatives, images }: BackfillOptions,
  workDirectory: string,
): Promise<RowOutcome> {
  const failed = (reason: string): RowOutcome => ({ id: row.id, url: row.url, status: 'failed', reason });
  const key = creatives.storage.keyFromUrl(row.url);
  if (key === undefined) return failed('the URL does not name a stored file');
  const file = await creatives.storage.stat(key);
  const body = file && (await creatives.storage.open(key, { start: 0, end: Math.max(0, file.size - 1) }));
  if (!body) return failed('the file is missing');
  const path = join(workDirectory, `${row.id}`);
  try {
    await receiveToFile(body, path);
    const image = await images.process(path);
    if ('refused' in image) return failed(image.message);
    try {
      const replaced = await creatives.replaceUnprocessedImage(row, image);
      return { id: row.id, url: row.url, status: replaced ? 'done' : 'gone' };
    } finally {
      await rm(image.original.path, { force: true });
    }
  } finally {
    await rm(path, { force: true });
  }
}
