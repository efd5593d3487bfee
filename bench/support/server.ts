import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/server-process.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BenchServer {
  pid: number;
  url: string;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  logFile: string;
  /** Peak (VmHWM) or current (VmRSS) resident memory of the server process, in MiB. */
  memoryMib(field: 'VmHWM' | 'VmRSS'): number;
  /** CPU time (user + system) the server process has used so far, in seconds. */
  cpuSeconds(): number;
  /** Resets VmHWM to the current RSS, so a later peak covers only what ran in between. */
  resetPeak(): void;
  /** Lines of the server's JSON log at `level` or above (50 = error). */
  logLines(minLevel: number): Record<string, unknown>[];
  stop(): Promise<number>;
}

/**
 * ENV=production as the benchmarks run it. Production refuses the console SMS provider, so Twilio
 * is configured, at a loopback port nothing listens on: a code to send fails at once.
 */
export function productionEnv(): Record<string, string> {
  return {
    ENV: 'production',
    APP_SECRET: randomBytes(24).toString('hex'),
    SMS_PROVIDER: 'twilio',
    TWILIO_API_BASE: 'http://127.0.0.1:9',
    TWILIO_ACCOUNT_SID: 'ACbenchmark',
    TWILIO_AUTH_TOKEN: 'benchmark',
    TWILIO_FROM: '+15005550006',
  };
}

export type ServerCommand = 'dist' | 'tsx' | 'npm-start';

/**
 * `dist`: what `npm start` runs after its build (`node <flags> dist/main.js`, read from package.json),
 * without npm in between, plus BENCH_NODE_FLAGS (e.g. `--cpu-prof`, which NODE_OPTIONS refuses, or
 * `--max-semi-space-size=16`: given later, it wins over the start command's).
 */
const START_FLAGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));
const BENCH_NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];

const COMMANDS: Record<ServerCommand, string[]> = {
  dist: [process.execPath, ...START_FLAGS, ...BENCH_NODE_FLAGS, 'dist/main.js'],
  // `--import tsx` keeps the server in this one process (the tsx CLI would run it as a child).
  tsx: [process.execPath, '--import', 'tsx', 'src/main.ts'],
  'npm-start': ['npm', 'start', '--silent'],
};

/**
 * Starts the server on a free loopback port with `env` (on top of PATH/HOME only), its log in
 * `logDir/server.log` rather than a pipe this process would have to read, and waits until /readyz
 * answers 200. Gives up after `timeoutMs`.
 */
export async function startServer(
  command: ServerCommand,
  env: Record<string, string>,
  logDir: string,
  timeoutMs = 60_000,
  /** The checkout to run: this one, or another version to compare with. */
  root = ROOT,
): Promise<BenchServer> {
  // Other test runs on this machine start servers on free ports too: if one takes the port between
  // freePort() and our listen, its /readyz answers and ours fails to start. Try another port then.
  for (let attempt = 1; ; attempt++) {
    const server = await startServerOnce(command, env, logDir, timeoutMs, root);
    if (server || attempt === 3) return server ?? Promise.reject(new Error('three ports taken by other processes'));
  }
}

async function startServerOnce(
  command: ServerCommand,
  env: Record<string, string>,
  logDir: string,
  timeoutMs: number,
  root: string,
): Promise<BenchServer | undefined> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(logDir, `server-${port}.log`);
  const out = openSync(logFile, 'w');
  const [program, ...args] = COMMANDS[command];
  const started = performance.now();
  const proc: ChildProcess = spawn(program!, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<number>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0))));
  let readyMs: number | undefined;
  while (readyMs === undefined) {
    if (proc.exitCode !== null)
      throw new Error(`server exited with ${proc.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (performance.now() - started > timeoutMs) {
      proc.kill('SIGKILL');
      throw new Error(`server not ready within ${timeoutMs} ms: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    const status = await fetch(`${url}/readyz`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) readyMs = performance.now() - started;
    else await sleep(5);
  }
  // Ours logs "server started" before it can answer; without that line, another process answered.
  const startedLine = readFileSync(logFile, 'utf8')
    .split('\n')
    .find((line) => line.includes('"server started"') && line.includes(`:${port}"`));
  if (!startedLine) {
    proc.kill('SIGKILL');
    await exited;
    return undefined;
  }
  // Under npm the server is a descendant; its pid is in its log line.
  const pid = command === 'npm-start' ? Number((JSON.parse(startedLine) as { pid: number }).pid) : proc.pid!;

  const status = () => readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    pid,
    url,
    readyMs,
    logFile,
    memoryMib(field) {
      const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status())?.[1];
      return Number(kib) / 1024;
    },
    cpuSeconds: () => cpuSeconds(pid),
    resetPeak() {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    },
    logLines(minLevel) {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => Number(line.level) >= minLevel);
    },
    async stop() {
      if (proc.exitCode === null) process.kill(command === 'npm-start' ? pid : proc.pid!, 'SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** User plus system CPU time of process `pid` so far, in seconds (from /proc, in clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  // The command name in parentheses may hold spaces; the fields counted from after it do not.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
