import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ORPHAN_MIN_AGE_MS, sweepOrphans } from '../../src/creatives/orphan-sweep.ts';
import { LocalDiskStorage } from '../../src/creatives/storage/local-disk.ts';
import { S3Storage } from '../../src/creatives/storage/s3.ts';
import type { Storage } from '../../src/creatives/storage/storage.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { databaseBackends, tempDir, type TestDatabase } from '../support/backends.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { createSignedInUser } from '../support/users.ts';

const log = pino({ level: 'silent' });
let moto: Moto;
before(async () => {
  moto = await startMoto();
});
after(() => moto.stop());

const storages: { name: string; open(): Promise<{ storage: Storage; close(): Promise<void> }> }[] = [
  {
    name: 'local disk',
    async open() {
      const directory = tempDir('cheershare-sweep-');
      const { storage } = await LocalDiskStorage.open(directory);
      return { storage, close: () => rm(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 'S3',
    async open() {
      const bucket = await moto.createBucket();
      const storage = await S3Storage.open(moto.settings(bucket, 'c/'));
      return { storage, close: () => storage.close() };
    },
  },
];

async function stored(storage: Storage, extension: string, stem?: string): Promise<string> {
  const pending = await storage.put(Buffer.from('image bytes'), extension, stem);
  await pending.commit();
  return pending.key;
}

async function names(storage: Storage): Promise<string[]> {
  const found: { name: string; modifiedAt: Date }[] = [];
  for await (const file of storage.list()) found.push(file);
  return found.map((file) => file.name).sort();
}

/** "Now" for the sweep, such that files written before `fresh` are over an hour old and `fresh` is not. */
async function justAfterAnHourFrom(storage: Storage, fresh: string): Promise<() => number> {
  for await (const file of storage.list()) {
    if (file.name === fresh) return () => file.modifiedAt.getTime() + ORPHAN_MIN_AGE_MS - 1;
  }
  throw new Error(`${fresh} is not listed`);
}

// Listed times have a resolution of one second in S3.
const aSecondLater = () => new Promise((resolve) => setTimeout(resolve, 1100));

for (const backend of databaseBackends) {
  for (const kind of storages) {
    describe(`orphan sweep on ${backend.name} with ${kind.name}`, () => {
      let database: TestDatabase;
      let db: Database;
      before(async () => {
        database = await backend.create();
        db = await database.open();
        await new Migrator(db).up();
      });
      after(async () => {
        await db.close();
        await database.drop();
      });

      test('an old file no row names goes; a named file, its variants and a fresh file stay; a failed delete is retried', async () => {
        const { storage, close } = await kind.open();
        try {
          const { user } = await createSignedInUser(db);
          const named = await stored(storage, 'png');
          const uuid = named.slice(0, 36);
          const thumb = await stored(storage, 'thumb.webp', uuid);
          // The original server's rows name `./uploads/<uuid>.<its client's extension>`.
          const original = await stored(storage, 'JPEG');
          await db.query(
            `INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, CURRENT_DATE), ($1, $3, CURRENT_DATE)`,
            [user.id, `/uploads/${named}`, `./uploads/${original}`],
          );
          const orphan = await stored(storage, 'gif');
          await stored(storage, 'feed.webp', orphan.slice(0, 36));
          await aSecondLater();
          const fresh = await stored(storage, 'webp');
          const now = await justAfterAnHourFrom(storage, fresh);

          let failNextDelete = true;
          const flaky: Storage = Object.assign(Object.create(storage) as Storage, {
            delete: async (name: string) => {
              if (failNextDelete) {
                failNextDelete = false;
                throw new Error('bucket hiccup');
              }
              return storage.delete(name);
            },
          });
          // The orphan and its variant: one delete fails and is retried by the next round.
          assert.equal(await sweepOrphans(db, flaky, log, now), 1);
          assert.equal((await names(storage)).length, 5);
          assert.equal(await sweepOrphans(db, flaky, log, now), 1);
          assert.deepEqual(await names(storage), [named, thumb, original, fresh].sort());
        } finally {
          await close();
        }
      });

      // Only PostgreSQL has two instances: one process owns an embedded database.
      if (backend.name === 'postgres')
        test('two instances never sweep at once', async () => {
          const { storage, close } = await kind.open();
          const other = await database.open();
          try {
            let release!: () => void;
            const released = new Promise<void>((resolve) => (release = resolve));
            let listing = 0;
            const slow: Storage = Object.assign(Object.create(storage) as Storage, {
              list: async function* () {
                listing++;
                await released;
                yield* storage.list();
              },
            });
            const first = sweepOrphans(db, slow, log);
            while (listing === 0) await new Promise((resolve) => setTimeout(resolve, 10));
            assert.equal(await sweepOrphans(other, slow, log), 0);
            assert.equal(listing, 1, 'the second sweep did not list while the first held the lock');
            release();
            await first;
            await sweepOrphans(other, slow, log);
            assert.equal(listing, 2, 'the lock is released after a sweep');
          } finally {
            await other.close();
            await close();
          }
        });
    });
  }
}
