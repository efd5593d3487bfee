import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FairQueue } from '../src/creatives/fair-queue.ts';

/** A task that runs until `finish()` is called, recording when it started. */
function controlled(started: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { run: () => (started.push(name), done), finish: () => finish() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test("one owner's backlog delays another owner's first task by one task at most", async () => {
  const queue = new FairQueue<string>(1);
  const started: string[] = [];
  const backlog = Array.from({ length: 8 }, (_, i) => controlled(started, `a${i}`));
  const running = backlog.map((task) => queue.run('a', task.run));
  await settle();
  const b = controlled(started, 'b0');
  const bDone = queue.run('b', b.run);
  await settle();
  assert.deepEqual(started, ['a0']);
  backlog[0]!.finish();
  await settle();
  // First come would have been a1; the owner with nothing running goes first.
  assert.deepEqual(started, ['a0', 'b0']);
  b.finish();
  await bDone;
  for (const [i, task] of backlog.entries()) {
    await settle();
    if (i > 0) task.finish();
  }
  await Promise.all(running);
  assert.deepEqual(started, ['a0', 'b0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']);
});

test('owners with work waiting take turns; at most `concurrency` run at once', async () => {
  const queue = new FairQueue<string>(2);
  const started: string[] = [];
  const tasks = ['a', 'a', 'a', 'b', 'b', 'c'].map((owner, i) => ({ owner, task: controlled(started, `${owner}${i}`) }));
  const running = tasks.map(({ owner, task }) => queue.run(owner, task.run));
  await settle();
  assert.deepEqual(started, ['a0', 'a1']);
  tasks[0]!.task.finish();
  await settle();
  tasks[1]!.task.finish();
  await settle();
  // b and c had nothing running: they go before a's third.
  assert.deepEqual(started, ['a0', 'a1', 'b3', 'c5']);
  for (const { task } of tasks) task.finish();
  await Promise.all(running);
  assert.equal(started.length, 6);
});

test('a task that throws frees its place', async () => {
  const queue = new FairQueue<string>(1);
  await assert.rejects(
    queue.run('a', () => Promise.reject(new Error('undecodable'))),
    /undecodable/,
  );
  assert.equal(await queue.run('a', () => Promise.resolve(7)), 7);
});
