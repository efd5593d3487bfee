import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { databaseBackends } from '../support/backends.ts';
import { png } from '../support/images.ts';
import { uploadForm } from '../support/multipart.ts';
import { createSignedInUser, type SignedInUser } from '../support/users.ts';

const CDN = 'https://cdn.example.com/creatives';
const today = () => new Date().toISOString().slice(0, 10);

describe('PUBLIC_FILES_URL', () => {
  let t: TestApp;
  let asha: SignedInUser;
  before(async () => {
    t = await buildTestApp(databaseBackends[0]!, { PUBLIC_FILES_URL: CDN });
    asha = await createSignedInUser(t.deps.db, 'Asha');
  });
  after(() => t.close());

  test('creative URLs point there everywhere, the row keeps /uploads/<name>, and /uploads/<name> still serves', async () => {
    const form = uploadForm(png(2000), today());
    const created = await t.app.inject({
      method: 'POST',
      url: '/upload-creative',
      headers: { ...form.headers, ...asha.headers },
      payload: form.body,
    });
    assert.equal(created.statusCode, 201, created.body);
    const {
      id,
      creative_url: url,
      variants,
    } = created.json().creative as { id: number; creative_url: string; variants: { thumb: string; feed: string } };
    const name = url.slice(CDN.length + 1);
    assert.equal(url, `${CDN}/${name}`);
    const stem = name.slice(0, -'.png'.length);
    assert.deepEqual(variants, { thumb: `${CDN}/${stem}.thumb.webp`, feed: `${CDN}/${stem}.feed.webp` });

    const own = await t.app.inject({ url: '/creatives', headers: asha.headers });
    assert.equal(own.json().creatives[0].creative_url, url);
    assert.deepEqual(own.json().creatives[0].variants, variants);
    const feed = await t.app.inject({ url: '/scheduled', headers: asha.headers });
    assert.equal(feed.json().scheduled_creatives.today[0].creative_url, url);
    assert.deepEqual(feed.json().scheduled_creatives.today[0].variants, variants);

    const { rows } = await t.deps.db.query('SELECT creative_url FROM creatives WHERE id = $1', [id]);
    assert.deepEqual(rows, [{ creative_url: `/uploads/${name}` }]);
    assert.equal((await t.app.inject(`/uploads/${name}`)).statusCode, 200);

    assert.equal((await t.app.inject({ method: 'DELETE', url: `/creatives/${id}`, headers: asha.headers })).statusCode, 204);
    for (const file of [name, `${stem}.thumb.webp`, `${stem}.feed.webp`])
      assert.equal(existsSync(join(t.uploadDir, file)), false, file);
  });
});
