import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../wrk', import.meta.url));

export interface LoadResult {
  connections: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Connect/read/write errors, timeouts and non-2xx/3xx answers together. */
  errors: number;
  /** Answers that were not 2xx/3xx. */
  badStatus: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
}

interface WrkJson {
  requests: number;
  duration_us: number;
  errors: Record<'connect' | 'read' | 'write' | 'status' | 'timeout', number>;
  latency_us: Record<'mean' | 'p50' | 'p90' | 'p99' | 'max', number>;
}

/** Runs `wrk` with one of bench/wrk/*.lua against `url` (closed loop: `connections` clients). */
export async function wrk(
  url: string,
  script: string,
  options: { connections: number; seconds: number; env?: Record<string, string> },
): Promise<LoadResult> {
  const { connections, seconds } = options;
  const threads = Math.min(2, connections);
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      String(threads),
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '10s',
      '-s',
      `${SCRIPTS}/${script}`,
      url,
    ],
    { env: { ...process.env, WRK_SCRIPTS: SCRIPTS, ...options.env }, timeout: (seconds + 30) * 1000 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const json = JSON.parse(line.slice('WRK_JSON '.length)) as WrkJson;
  const ms = (us: number) => Math.round(us / 10) / 100;
  const e = json.errors;
  return {
    connections,
    requests: json.requests,
    seconds: json.duration_us / 1e6,
    requestsPerSecond: Math.round(json.requests / (json.duration_us / 1e6)),
    errors: e.connect + e.read + e.write + e.timeout + e.status,
    badStatus: e.status,
    latencyMs: {
      mean: ms(json.latency_us.mean),
      p50: ms(json.latency_us.p50),
      p90: ms(json.latency_us.p90),
      p99: ms(json.latency_us.p99),
      max: ms(json.latency_us.max),
    },
  };
}
