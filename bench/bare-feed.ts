import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import { freePort } from '../test/support/server-process.ts';
import { startFeedServer } from './support/feed-server.ts';
import { cpuSeconds, ROOT, type ServerCommand } from './support/server.ts';
import { wrk, type LoadResult } from './support/wrk.ts';

export interface MeasuredLoad extends LoadResult {
  /** The server's CPU time (user + system) per request answered, in microseconds. */
  cpuUsPerRequest: number;
}

export interface BareFeedRound {
  bare: MeasuredLoad;
  ours: MeasuredLoad;
  /** Our requests/s over bare node:http's, measured back to back. */
  ratio: number;
  /**
   * Bare node:http's CPU time per request over ours: the throughput ratio the two would have
   * with a core each to themselves, which a machine whose cores are shared with other work (and
   * the load generator) cannot give them.
   */
  cpuRatio: number;
}

export interface BareFeedResult {
  command: ServerCommand;
  connections: number;
  /** Bytes of one answer, status line and headers included, the same for both servers. */
  responseBytes: number;
  rounds: BareFeedRound[];
  medianRatio: number;
  medianCpuRatio: number;
}

interface CapturedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Status line, headers and body as they came off the socket. */
  bytes: number;
}

/** Headers node:http writes by itself; the bare server lets it, as ours does. */
const NODE_OWN_HEADERS = new Set(['date', 'connection', 'keep-alive']);

/**
 * GET /scheduled on our server against bare node:http answering the very bytes ours answered,
 * with the same wrk script and connections, alternating in `rounds` pairs so both see the same
 * background load. The server runs on PostgreSQL with the benchmark seed and rotating tokens.
 */
export async function benchBareFeed(options: {
  connections: number;
  seconds: number;
  rounds: number;
  workDir: string;
  command: ServerCommand;
  serverEnv?: Record<string, string>;
  log: (line: string) => void;
}): Promise<BareFeedResult> {
  const { connections, seconds, rounds, workDir, command, log } = options;
  const { tokensFile, server, close } = await startFeedServer({ command, workDir, serverEnv: options.serverEnv });
  try {
    const token = readFileSync(tokensFile, 'utf8').split('\n')[0]!;
    const ours = await capture(server.url, token);
    const responseFile = join(workDir, 'bare-response.json');
    const headers = Object.fromEntries(Object.entries(ours.headers).filter(([name]) => !NODE_OWN_HEADERS.has(name)));
    writeFileSync(responseFile, JSON.stringify({ status: ours.status, headers, body: ours.body }));
    const bare = await startBareServer(responseFile);
    try {
      const answered = await capture(bare.url, token);
      if (answered.bytes !== ours.bytes || answered.body !== ours.body)
        throw new Error(`bare server answers ${answered.bytes} bytes, ours ${ours.bytes}`);
      const env = { TOKENS_FILE: tokensFile };
      const load = async (url: string, cpu: () => number): Promise<MeasuredLoad> => {
        const before = cpu();
        const result = await wrk(url, 'scheduled.lua', { connections, seconds, env });
        return { ...result, cpuUsPerRequest: Math.round(((cpu() - before) * 1e6) / result.requests) };
      };
      // Warm-up: JIT, the pool's connections, the caches.
      await wrk(bare.url, 'scheduled.lua', { connections, seconds: 3, env });
      await wrk(server.url, 'scheduled.lua', { connections, seconds: 3, env });
      const results: BareFeedRound[] = [];
      for (let round = 0; round < rounds; round++) {
        const bareResult = await load(bare.url, bare.cpuSeconds);
        const oursResult = await load(server.url, server.cpuSeconds);
        const ratio = round2(oursResult.requestsPerSecond / bareResult.requestsPerSecond);
        const cpuRatio = round2(bareResult.cpuUsPerRequest / oursResult.cpuUsPerRequest);
        log(
          `  ${connections} conns: bare node:http ${bareResult.requestsPerSecond} req/s, ${bareResult.cpuUsPerRequest} µs CPU/req | ` +
            `ours ${oursResult.requestsPerSecond} req/s, ${oursResult.cpuUsPerRequest} µs CPU/req | ratio ${ratio}×, by CPU ${cpuRatio}× | ` +
            `p99 ${bareResult.latencyMs.p99} / ${oursResult.latencyMs.p99} ms, errors ${bareResult.errors} / ${oursResult.errors}`,
        );
        results.push({ bare: bareResult, ours: oursResult, ratio, cpuRatio });
      }
      return {
        command,
        connections,
        responseBytes: ours.bytes,
        rounds: results,
        medianRatio: median(results.map((r) => r.ratio)),
        medianCpuRatio: median(results.map((r) => r.cpuRatio)),
      };
    } finally {
      bare.stop();
    }
  } finally {
    await close();
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function startBareServer(responseFile: string): Promise<{ url: string; cpuSeconds(): number; stop(): void }> {
  const port = await freePort();
  // Under tsx, which only loads it: the requests never pass through tsx.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/support/bare-server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), BARE_RESPONSE: responseFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(proc.stdout, 'data');
  return { url: `http://127.0.0.1:${port}`, cpuSeconds: () => cpuSeconds(proc.pid!), stop: () => proc.kill() };
}

/** One GET /scheduled, with the size of everything the server sent for it. */
function capture(url: string, token: string): Promise<CapturedResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/scheduled', url), { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        const head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n${res.rawHeaders
          .map((part, i) => (i % 2 ? `${part}\r\n` : `${part}: `))
          .join('')}\r\n`;
        const headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
        resolve({ status: res.statusCode ?? 0, headers, body: body.toString(), bytes: Buffer.byteLength(head) + body.length });
      });
    });
    req.once('error', reject);
    req.end();
  });
}
