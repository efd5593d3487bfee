import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundTasks } from '../../src/platform/background.ts';
import { capturingLogger } from '../support/log-capture.ts';

test('a failing background task is logged with its name and stops nothing', async () => {
  const log = capturingLogger();
  const background = new BackgroundTasks(log.logger);
  background.run('send SMS', async () => {
    throw new Error('provider down');
  });
  background.run('sync throw', () => {
    throw new Error('thrown before any await');
  });
  await background.drain();
  const failures = log.lines.filter((line) => line.msg === 'background task failed');
  assert.deepEqual(failures.map((line) => [line.task, (line.err as { message: string }).message]).sort(), [
    ['send SMS', 'provider down'],
    ['sync throw', 'thrown before any await'],
  ]);
  assert.deepEqual(background.pending(), []);
});

test('drain waits for every task, those started while draining included; pending names what runs', async () => {
  const background = new BackgroundTasks(capturingLogger().logger);
  const finished: string[] = [];
  background.run('first', async () => {
    await sleep(30);
    finished.push('first');
    background.run('started by first', async () => {
      await sleep(30);
      finished.push('started by first');
    });
  });
  assert.deepEqual(background.pending(), ['first']);
  await background.drain();
  assert.deepEqual(finished, ['first', 'started by first']);
  assert.deepEqual(background.pending(), []);
});
