/** `npm run creatives:backfill [-- --concurrency N]`: variants, dimensions and placeholders for older creatives. */
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { ConfigError, environmentWithDotenv, loadConfig } from '../config.ts';
import { backfillCreatives, type BackfillSummary } from '../creatives/backfill.ts';
import { createFeedCache } from '../creatives/feed-cache.ts';
import { ImageProcessor } from '../creatives/images.ts';
import { CreativesService } from '../creatives/service.ts';
import { openStorage } from '../creatives/storage/open.ts';
import { UploadLimits } from '../creatives/upload-limits.ts';
import { formatName, Migrator } from '../platform/db/migrator.ts';
import { openDatabase } from '../platform/db/open.ts';
import { createLogger } from '../platform/logger.ts';

const USAGE = 'usage: npm run creatives:backfill [-- --concurrency N]';

class UsageError extends Error {}

function parseConcurrency(args: string[], fallback: number): number {
  if (args.length === 0) return fallback;
  const [flag, value] = args;
  if (flag !== '--concurrency' || args.length !== 2 || !/^[1-9]\d*$/.test(value ?? '')) throw new UsageError(USAGE);
  return Number(value);
}

function report(summary: BackfillSummary): string {
  const lines = [
    `backfill: ${summary.total} creative${summary.total === 1 ? '' : 's'} to do: ${summary.done} done, ${summary.failed.length} failed (left as they were), ${summary.gone} deleted or changed meanwhile`,
  ];
  for (const failure of summary.failed) lines.push(`  #${failure.id} ${failure.url}: ${failure.reason}`);
  return lines.join('\n');
}

async function run(args: string[]): Promise<BackfillSummary> {
  const config = loadConfig(environmentWithDotenv());
  const concurrency = parseConcurrency(args, config.imageConcurrency);
  const db = await openDatabase(config);
  try {
    // The columns it fills come with migration 7; the server applies pending migrations the same way.
    for (const m of await new Migrator(db).up()) console.error(`applied migration ${formatName(m)}`);
    // stdout is for the summary; the log (files that could not be removed) goes to stderr.
    const logger = createLogger(config, pino.destination(2));
    const storage = await openStorage(config, logger);
    try {
      // The backfill uploads nothing, so the per-person limits never come into play.
      const limits = new UploadLimits(db, {
        perUserPerHour: config.uploadsPerUserPerHour,
        userQuotaBytes: config.userQuotaBytes,
        imageSecondsPerUserPerHour: config.imageSecondsPerUserPerHour,
      });
      return await backfillWith(new CreativesService(db, storage, createFeedCache(), logger, limits, config.feedLimit));
    } finally {
      await storage.close();
    }
  } finally {
    await db.close();
  }

  async function backfillWith(creatives: CreativesService): Promise<BackfillSummary> {
    // A bar on a terminal; elsewhere (a log, a pipe) each failure on its own line as it happens.
    const bar = process.stderr.isTTY
      ? new SingleBar({
          format: 'backfill [{bar}] {value}/{total} {percentage}% · {failed} failed · ETA {eta_formatted}',
          hideCursor: true,
        })
      : undefined;
    let failed = 0;
    const summary = await backfillCreatives({
      db,
      creatives,
      images: new ImageProcessor({ maxPixels: config.maxImagePixels }, concurrency),
      concurrency,
      onStart: (total) => bar?.start(total, 0, { failed }),
      onRow: (outcome) => {
        if (outcome.status === 'failed') {
          failed++;
          if (!bar) console.error(`failed #${outcome.id} ${outcome.url}: ${outcome.reason}`);
        }
        bar?.increment({ failed });
      },
    });
    bar?.stop();
    return summary;
  }
}

run(process.argv.slice(2)).then(
  (summary) => {
    console.log(report(summary));
    process.exitCode = summary.failed.length > 0 ? 1 : 0;
  },
  (error: unknown) => {
    if (error instanceof UsageError) console.error(error.message);
    else
      console.error(
        error instanceof ConfigError ? `configuration error: ${error.message}` : `backfill: ${(error as Error).message}`,
      );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
