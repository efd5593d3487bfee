import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { templateDirectory } from '../src/platform/db/pglite-template.ts';
import { startServer, type ServerCommand } from './support/server.ts';

export interface StartupResult {
  command: string;
  template: boolean;
  /** Spawn → first 200 from /readyz, on a fresh DATA_DIR, then on the DATA_DIR that start left behind. */
  freshMs: number[];
  existingMs: number[];
}

const COMMAND_LINES: Record<ServerCommand, string> = {
  'npm-start': 'npm start',
  dist: 'node dist/main.js (with the start flags)',
  tsx: 'node --import tsx src/main.ts',
};

/** Cold starts on the embedded database, with the install-time template cluster or (hidden for the run) without. */
export async function benchStartup(options: {
  command: ServerCommand;
  template: boolean;
  runs: number;
  workDir: string;
}): Promise<StartupResult> {
  const { command, runs, workDir } = options;
  const template = templateDirectory();
  const hidden = `${template}.hidden-${process.pid}`;
  if (!options.template && existsSync(template)) renameSync(template, hidden);
  try {
    const result: StartupResult = { command: COMMAND_LINES[command], template: options.template, freshMs: [], existingMs: [] };
    for (let run = 0; run < runs; run++) {
      const env = {
        DATA_DIR: join(workDir, `startup-${command}-${options.template}-${run}`),
        UPLOAD_DIR: join(workDir, 'uploads'),
      };
      for (const times of [result.freshMs, result.existingMs]) {
        const server = await startServer(command, env, workDir);
        times.push(Math.round(server.readyMs));
        await server.stop();
      }
    }
    return result;
  } finally {
    if (existsSync(hidden)) renameSync(hidden, template);
  }
}
