import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server-process.ts';

/**
 * The README's fenced blocks whose info string is exactly `sh <tag>` (e.g. ```sh migrate), in
 * order: what a test runs is what a reader copies, so the two cannot drift.
 */
export function readmeBlocks(tag: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(new RegExp(`^\`\`\`sh ${tag}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => match[1]!);
}

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` in bash (exit on the first failing command) from the repository root, with only
 * `env` and PATH: no variable of the test's own environment leaks into what the README's reader has.
 */
export function runShell(script: string, env: Record<string, string>, cwd = ROOT): Promise<ShellResult> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-euo', 'pipefail', '-c', script],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
