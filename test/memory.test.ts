import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { keepYoungGenerationSmall } from '../src/memory.ts';
import { ROOT } from './support/server-process.ts';

const MIB = 1024 * 1024;

/** Runs `body` in a fresh Node.js process (src/memory.ts imported) and returns what it prints as JSON. */
async function inFreshProcess(body: string, nodeOptions = ''): Promise<Record<string, unknown>> {
  const code = `import { compactHeap, keepYoungGenerationSmall } from './src/memory.ts';
    import { getHeapSpaceStatistics } from 'node:v8';
    const newSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
    ${body}`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

// Keeps 40 MiB of small objects alive through many scavenges: what makes V8 grow the young generation.
const SURVIVORS = `const kept = []; for (let i = 0; i < 400_000; i++) kept.push({ i, text: 'x'.repeat(64) + i });`;

describe('young generation', () => {
  it('stays at its initial size once kept small, where V8 on its own grows it', async () => {
    const grown = await inFreshProcess(`const before = newSpace(); ${SURVIVORS}
      console.log(JSON.stringify({ before, after: newSpace() }));`);
    const kept = await inFreshProcess(`const applied = keepYoungGenerationSmall(); const before = newSpace(); ${SURVIVORS}
      console.log(JSON.stringify({ applied, before, after: newSpace() }));`);
    assert.ok((grown.after as number) >= 4 * (grown.before as number), `V8 alone grows it: ${JSON.stringify(grown)}`);
    assert.equal(kept.applied, true);
    assert.ok((kept.after as number) <= (kept.before as number), `kept at its initial size: ${JSON.stringify(kept)}`);
  });

  it('is left as the operator sized it in NODE_OPTIONS or on the command line', async () => {
    const sized = await inFreshProcess(
      `const applied = keepYoungGenerationSmall(); ${SURVIVORS}
      console.log(JSON.stringify({ applied, after: newSpace() }));`,
      '--max-semi-space-size=8',
    );
    assert.equal(sized.applied, false);
    assert.ok((sized.after as number) >= 8 * MIB, `grown as V8 decides: ${JSON.stringify(sized)}`);
    assert.equal(keepYoungGenerationSmall(['--semi-space-growth-factor=4'], ''), false);
    assert.equal(keepYoungGenerationSmall([], '--inspect --min_semi_space_size=2'), false);
  });
});

describe('compactHeap', () => {
  it('frees start-up garbage without giving the process a global gc()', async () => {
    const result =
      await inFreshProcess(`let garbage = []; for (let i = 0; i < 200_000; i++) garbage.push({ i, text: 'y'.repeat(100) + i });
      garbage = undefined;
      const before = process.memoryUsage().heapUsed;
      compactHeap();
      console.log(JSON.stringify({ before, after: process.memoryUsage().heapUsed, gc: typeof globalThis.gc }));`);
    assert.ok((result.after as number) < (result.before as number) - 10 * MIB, JSON.stringify(result));
    assert.equal(result.gc, 'undefined');
  });
});
