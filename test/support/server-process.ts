import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServerProcess {
  proc: ChildProcess;
  /** The server's own process id (under tsx, `proc` is a wrapper that runs the server as its child). */
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

/**
 * Runs `src/main.ts` (or `script`: TypeScript through tsx, JavaScript such as `dist/main.js` with
 * plain node) as a child process with `env`, without waiting for readiness.
 */
export function runProcess(env: Record<string, string>, script = 'src/main.ts'): Omit<ServerProcess, 'port' | 'url' | 'pid'> {
  const proc = spawn(process.execPath, script.endsWith('.ts') ? [TSX, script] : [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let partial = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
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
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number>((resolve) => {
    proc.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? 128 + (signal ? osSignal(signal) : 0));
    });
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(
            new Error(`process exited before the expected log line; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

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
export async function startServerProcess(env: Record<string, string>, script?: string): Promise<ServerProcess> {
  const port = await freePort();
  const child = runProcess({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env }, script);
  let started: LogLine;
  try {
    started = await child.waitForLog((line) => line.msg === 'server started', 30_000);
  } catch (error) {
    child.proc.kill('SIGKILL');
    throw error;
  }
  return { ...child, pid: Number(started.pid), port, url: `http://127.0.0.1:${port}` };
}

function osSignal(signal: NodeJS.Signals): number {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}
