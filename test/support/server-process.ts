import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// tsx as a loader in the one process (no tsx CLI parent relaying signals): signals and exit codes
// are the server's own, and each start costs one Node.js process instead of two.
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServerProcess {
  proc: ChildProcess;
  /** The server's own process id (`proc` may be a wrapper such as npm that runs it as a descendant). */
  pid: number;
  port: number;
  url: string;
  /** Parsed JSON log lines so far (stdout). */
  logs: LogLine[];
  /** Raw stderr so far. */
  stderr(): string;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (or 128+n for a signal) once the process has ended. */
  exited: Promise<number>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const running = new Map<ChildProcess, { detached: boolean }>();

/**
 * SIGKILLs every process started here that is still running (the whole group of a detached one).
 * For `after()` in test files: a test that fails half-way must not leave a server behind, which
 * would also keep the test file's process alive through its pipes.
 */
export function killStrayProcesses(): void {
  for (const [proc, { detached }] of running) {
    try {
      if (detached) process.kill(-proc.pid!, 'SIGKILL');
      else proc.kill('SIGKILL');
    } catch {
      // Already gone between its exit and our look.
    }
  }
}

export interface RunOptions {
  /** Relative to the repository root: TypeScript runs under tsx, JavaScript (`dist/main.js`) with plain node. */
  script?: string;
  args?: string[];
  /** The working directory (where `.env` is read); the repository root by default. */
  cwd?: string;
  /** Another command line instead of `script` under tsx, e.g. `['npm', 'start']` or `['node', 'dist/main.js']`. */
  command?: [string, ...string[]];
  /** In a process group of its own, so that a test can signal the group as a terminal's Ctrl-C does. */
  detached?: boolean;
  /** Node.js options before `script` (e.g. another `--import`). */
  nodeOptions?: string[];
}

// A failed test skips its own stop: whatever is still running when the test file ends is killed,
// so a failure never leaves a server behind (`npm test` uses --test-force-exit so the file ends).
process.once('exit', killStrayProcesses);

/** Runs `src/main.ts` (or `script`) as a child process with `env`, without waiting for readiness. */
export function runProcess(
  env: Record<string, string>,
  { script = 'src/main.ts', args = [], cwd = ROOT, command, detached = false, nodeOptions = [] }: RunOptions = {},
): Omit<ServerProcess, 'port' | 'url' | 'pid'> {
  const loader = script.endsWith('.ts') ? ['--import', TSX_LOADER] : [];
  const [file, ...argv] = command ?? [process.execPath, ...loader, ...nodeOptions, join(ROOT, script), ...args];
  const proc = spawn(file, argv, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  running.set(proc, { detached });
  proc.once('exit', () => running.delete(proc));
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number>((resolve) => {
    // 'close', not 'exit': output still in the pipes at exit is read before anyone looks at it.
    proc.once('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? 128 + (signal ? osSignal(signal) : 0));
    });
  });

  const recent = () => `stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`;
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> =>
    waitUntil(
      waiters,
      () => {
        const found = logs.find(predicate);
        if (!found && (proc.exitCode !== null || proc.signalCode !== null)) {
          throw new Error(`process exited before the expected log line; ${recent()}`);
        }
        return found;
      },
      timeoutMs,
      () => `timed out waiting for a log line; ${recent()}`,
    );

  return {
    proc,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Starts the server on a free loopback port and waits for its "server started" log line. */
export async function startServerProcess(env: Record<string, string>, options: RunOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = runProcess({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env }, options);
  let started: LogLine;
  try {
    // Generous: on a busy machine several servers may be starting at once.
    started = await child.waitForLog((line) => line.msg === 'server started', 90_000);
  } catch (error) {
    if (options.detached) process.kill(-child.proc.pid!, 'SIGKILL');
    else child.proc.kill('SIGKILL');
    throw error;
  }
  return { ...child, pid: Number(started.pid), port, url: `http://127.0.0.1:${port}` };
}

function osSignal(signal: NodeJS.Signals): number {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}
