import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Migrator } from '../../src/platform/db/migrator.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { halves } from '../support/photos.ts';
import { runProcess } from '../support/server-process.ts';
import { createSignedInUser } from '../support/users.ts';

for (const backend of databaseBackends) {
  describe(`npm run creatives:backfill on ${backend.name}`, () => {
    test('prints a summary naming each failed file, and exits 1 when one failed', async () => {
      const database = await backend.create();
      const uploadDir = tempDir('cheershare-uploads-');
      try {
        const db = await database.open();
        let good: number, bad: number;
        try {
          await new Migrator(db).up();
          const asha = await createSignedInUser(db, 'Asha');
          const insert = async (name: string, bytes: Buffer) => {
            writeFileSync(join(uploadDir, name), bytes);
            const { rows } = await db.query<{ id: number }>(
              'INSERT INTO creatives (user_id, creative_url, scheduled_at) VALUES ($1, $2, CURRENT_DATE) RETURNING id',
              [asha.user.id, `./uploads/${name}`],
            );
            return rows[0]!.id;
          };
          good = await insert(`${randomUUID()}.jpeg`, await halves(64, 32).jpeg().toBuffer());
          bad = await insert(`${randomUUID()}.png`, Buffer.from('garbage'));
        } finally {
          await db.close();
        }
        const cli = runProcess(
          { ...database.env, UPLOAD_DIR: uploadDir, LOG_LEVEL: 'silent' },
          { script: 'src/cli/backfill.ts', args: ['--concurrency', '2'] },
        );
        assert.equal(await cli.exited, 1, cli.stderr());
        const output = cli.logs.map((line) => line.msg).join('\n');
        assert.match(output, /2 creatives to do: 1 done, 1 failed/);
        assert.match(
          output,
          new RegExp(`#${bad} \\./uploads/[0-9a-f-]{36}\\.png: the file is not a JPEG, PNG, GIF or WebP image`),
        );
        assert.doesNotMatch(output, new RegExp(`#${good} `));
        assert.match(cli.stderr(), new RegExp(`failed #${bad} `), 'without a terminal, each failure as it happens');
        const reopened = await database.open();
        try {
          const { rows } = await reopened.query<{ id: number; width: number | null }>(
            'SELECT id, width FROM creatives ORDER BY id',
          );
          assert.deepEqual(rows, [
            { id: good, width: 64 },
            { id: bad, width: null },
          ]);
        } finally {
          await reopened.close();
        }
      } finally {
        await database.drop();
        rmSync(uploadDir, { recursive: true, force: true });
      }
    });
  });
}
