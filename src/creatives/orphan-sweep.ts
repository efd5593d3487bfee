import type { FastifyBaseLogger } from 'fastify';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { Storage } from './storage/storage.ts';

/** A file younger than this may belong to an upload whose row is about to be inserted. */
export const ORPHAN_MIN_AGE_MS = 60 * 60 * 1000;
/** Held for the length of a sweep, so that one instance at a time sweeps. */
const SWEEP_LOCK_KEY = 7_261_830_145_002_732;
const BATCH = 500;

// The same expression as the index creatives_file_uuid_idx (migration 8), so that it is used.
const FILE_UUID = `lower(substring(creative_url from '([0-9A-Fa-f-]{36})[^/]*$'))`;

/**
 * Removes stored files that no row names and that are older than an hour, and what failed uploads
 * left in the storage. Runs only if no other instance is sweeping (a session-level advisory lock
 * on a connection of its own); returns how many files it removed, 0 if another instance holds the lock.
 * A file that cannot be deleted is logged and stays for the next round.
 */
export async function sweepOrphans(
  db: Database,
  storage: Storage,
  log: FastifyBaseLogger,
  now: () => number = Date.now,
): Promise<number> {
  return db.withSession(async (session) => {
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SWEEP_LOCK_KEY]);
    if (!rows[0]?.locked) return 0;
    try {
      const before = new Date(now() - ORPHAN_MIN_AGE_MS);
      let removed = await storage.sweepLeftovers(before);
      let batch: string[] = [];
      for await (const file of storage.list()) {
        if (file.modifiedAt >= before) continue;
        batch.push(file.name);
        if (batch.length === BATCH) {
          removed += await removeUnnamed(session, storage, batch, log);
          batch = [];
        }
      }
      if (batch.length > 0) removed += await removeUnnamed(session, storage, batch, log);
      return removed;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK_KEY]);
    }
  });
}

/** Deletes those of `names` whose uuid no row names; how many it deleted. */
async function removeUnnamed(db: Queryable, storage: Storage, names: string[], log: FastifyBaseLogger): Promise<number> {
  const uuids = [...new Set(names.map(fileUuid))];
  const { rows } = await db.query<{ uuid: string }>(
    `SELECT DISTINCT ${FILE_UUID} AS uuid FROM creatives WHERE ${FILE_UUID} = ANY($1::text[])`,
    [uuids],
  );
  const named = new Set(rows.map((row) => row.uuid));
  let removed = 0;
  for (const name of names) {
    if (named.has(fileUuid(name))) continue;
    try {
      await storage.delete(name);
      removed++;
    } catch (err) {
      log.warn({ err, file: name }, 'could not remove an orphaned file; the next sweep tries again');
    }
  }
  return removed;
}

function fileUuid(name: string): string {
  return name.slice(0, 36).toLowerCase();
}
