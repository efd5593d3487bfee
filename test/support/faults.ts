import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { openPglite } from '../../src/platform/db/pglite.ts';
import { tempDir } from './backends.ts';
import { migratedDataDir } from './embedded.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { createSignedInUser, type SignedInUser } from './users.ts';

export interface TimedResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

/** A fetch whose answer is read whole, with how long it took. */
export async function timedFetch(url: string, init: RequestInit = {}): Promise<TimedResponse> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  const ms = performance.now() - started;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body, ms };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<TimedResponse> {
  return timedFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The slowest 503 so far in this test file, for its report. */
export const slowestUnavailable = { ms: 0 };

/** 503 `service_unavailable` with a Retry-After, answered within `withinMs`. */
export function assertUnavailable(response: TimedResponse, withinMs: number, what: string): void {
  slowestUnavailable.ms = Math.max(slowestUnavailable.ms, Math.round(response.ms));
  assert.equal(response.status, 503, `${what}: ${JSON.stringify(response.body)}`);
  assert.equal(response.body.code, 'service_unavailable', what);
  assert.match(response.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/, `${what}: Retry-After`);
  assert.ok(response.ms < withinMs, `${what}: answered in ${Math.round(response.ms)} ms, limit ${withinMs} ms`);
}

/**
 * A server process on a fresh, migrated embedded database that already has a signed-in user;
 * the directories it made are pushed onto `dirs` for the caller to remove.
 */
export async function embeddedServerWithUser(
  env: Record<string, string>,
  dirs: string[],
): Promise<{ server: ServerProcess; user: SignedInUser; uploadDir: string }> {
  const dataDir = await migratedDataDir();
  const uploadDir = tempDir();
  dirs.push(dirname(dataDir), uploadDir);
  const db = await openPglite(dataDir);
  const user = await createSignedInUser(db).finally(() => db.close());
  const server = await startServerProcess({ DATA_DIR: dataDir, UPLOAD_DIR: uploadDir, ...env });
  return { server, user, uploadDir };
}
