/**
 * Time from spawning the server on a fresh embedded database (empty DATA_DIR) to the first
 * `GET /readyz` 200, and the same on the DATA_DIR it left behind.
 *
 *   node --import tsx bench/cold-start.ts [runs] [command...]
 *   node --import tsx bench/cold-start.ts 5 node dist/main.js   # after npm run build
 *
 * The default command is `node --import tsx src/main.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/server-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const [runsArg, ...commandArgs] = process.argv.slice(2);
const runs = Number(runsArg ?? 5);
const [command, ...args] = commandArgs.length ? commandArgs : [process.execPath, '--import', 'tsx', 'src/main.ts'];

async function timeToReady(dataDir: string, uploadDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      UPLOAD_DIR: uploadDir,
    },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ready) return performance.now() - started;
      await sleep(10);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const fresh: number[] = [];
const existing: number[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'cheershare-cold-start-'));
  try {
    fresh.push(await timeToReady(join(dir, 'data'), join(dir, 'uploads')));
    existing.push(await timeToReady(join(dir, 'data'), join(dir, 'uploads')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const show = (values: number[]) => `median ${median(values).toFixed(0)} ms (${values.map((v) => v.toFixed(0)).join(', ')})`;
console.log(`${[command, ...args].join(' ')}, ${runs} runs`);
console.log(`fresh DATA_DIR → /readyz 200:    ${show(fresh)}`);
console.log(`existing DATA_DIR → /readyz 200: ${show(existing)}`);
