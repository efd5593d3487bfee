/**
 * Turns bench/results.json (from `npm run bench`) into Markdown tables on stdout and the chart
 * bench/feed.svg: GET /scheduled's requests/s and p99 against connections, beside the pgbench
 * ceiling measured in the same run.
 *
 *   npx tsx bench/report.ts [--chart bench/feed.svg] [results.json ...]
 *
 * With several files (e.g. a rerun of one part at a quieter moment), later files' parts replace
 * earlier ones'.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BareFeedResult } from './bare-feed.ts';
import type { FeedPoint, FeedResult } from './feed.ts';
import type { SignupResult } from './signup.ts';
import type { StartupResult } from './startup.ts';
import { ROOT } from './support/server.ts';
import type { UploadRun } from './uploads.ts';

interface Results {
  date: string;
  command: string;
  machine: Record<string, unknown>;
  loadAverageAtStart: string;
  loadAverageAtEnd?: string;
  sections: Record<string, { at: string; loadAverage: string }>;
  feed?: FeedResult;
  feedVsBare?: BareFeedResult;
  uploads?: (UploadRun & { nodeFlags: string | null })[];
  signup?: SignupResult[];
  startup?: StartupResult[];
}

const { values, positionals } = parseArgs({
  options: { chart: { type: 'string', default: join(ROOT, 'bench/feed.svg') } },
  allowPositionals: true,
});
const runs = (positionals.length ? positionals : [join(ROOT, 'bench/results.json')]).map(
  (file) => JSON.parse(readFileSync(file, 'utf8')) as Results,
);
const results: Results = Object.assign({}, ...runs);
results.sections = Object.assign({}, ...runs.map((run) => run.sections ?? {}));
const chart = values.chart;
/** Which run a part comes from, and how busy the machine was when it started. */
const measured = (part: keyof Results) => {
  const run = [...runs].reverse().find((r) => part in r)!;
  const when = run.sections?.[part];
  return `Measured ${when?.at ?? run.date} (\`${run.command}\`), load average ${when?.loadAverage ?? run.loadAverageAtStart}.`;
};

const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const out: string[] = [];
out.push(
  '',
  table(
    ['machine', ''],
    Object.entries(results.machine).map(([key, value]) => [key, String(value)]),
  ),
);

const feedRows = (points: FeedPoint[]) =>
  points.map((p) => [
    p.connections,
    p.pgbench.tps,
    p.server.requestsPerSecond,
    `**${p.ratio.toFixed(2)}×**`,
    p.server.latencyMs.p50,
    `**${p.server.latencyMs.p99}**`,
    p.server.latencyMs.max,
    p.server.errors,
  ]);
if (results.feed) {
  out.push(
    '',
    '### GET /scheduled (rotating tokens) against pgbench, back to back',
    '',
    measured('feed'),
    '',
    table(
      ['connections', 'pgbench tps', 'req/s', 'ratio', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
      feedRows(results.feed.points),
    ),
    '',
    `${results.feed.seed}. Server error log lines: ${results.feed.serverErrorLogLines}; server peak RSS ${results.feed.peakRssMib} MiB.`,
  );
  writeFileSync(chart, feedChart(results.feed.points));
}
if (results.feedVsBare) {
  const { responseBytes, rounds, medianRatio, medianCpuRatio } = results.feedVsBare;
  out.push(
    '',
    `### GET /scheduled against bare node:http answering the same ${responseBytes} bytes, 50 connections, back to back`,
    '',
    measured('feedVsBare'),
    '',
    table(
      ['round', 'bare req/s', 'ours req/s', 'ratio', 'bare µs CPU/req', 'ours µs CPU/req', 'ratio by CPU', 'p99 bare / ours ms'],
      rounds.map((r, i) => [
        i + 1,
        r.bare.requestsPerSecond,
        r.ours.requestsPerSecond,
        `**${r.ratio.toFixed(2)}×**`,
        r.bare.cpuUsPerRequest,
        r.ours.cpuUsPerRequest,
        `${r.cpuRatio.toFixed(2)}×`,
        `${r.bare.latencyMs.p99} / ${r.ours.latencyMs.p99}`,
      ]),
    ),
    '',
    `Median ratio **${medianRatio.toFixed(2)}×** (by CPU time per request ${medianCpuRatio.toFixed(2)}×).`,
  );
}
if (results.uploads) {
  out.push(
    '',
    '### POST /upload-creative, 16 concurrent, 64 uploads',
    '',
    measured('uploads'),
    '',
    table(
      [
        'database',
        'BENCH_NODE_FLAGS',
        'file',
        'uploads/s',
        'MiB/s',
        'p50 ms',
        'p99 ms',
        'failures',
        'RSS idle',
        'RSS peak (uploads)',
        'RSS peak (lifetime)',
      ],
      results.uploads.map((u) => [
        u.database,
        u.nodeFlags ? `\`${u.nodeFlags}\`` : '—',
        `${u.sizeMib} MiB`,
        `**${u.uploadsPerSecond}**`,
        u.mibPerSecond,
        u.latencyMs.p50,
        u.latencyMs.p99,
        u.failures,
        u.rssMib.idle,
        `**${u.rssMib.peakDuringUploads}**`,
        u.rssMib.peakLifetime,
      ]),
    ),
  );
}
if (results.signup) {
  out.push(
    '',
    '### POST /signup, request phase, distinct numbers and client addresses, 50 connections',
    '',
    measured('signup'),
    '',
    table(
      ['database', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'socket errors', 'server error lines'],
      results.signup.map((s) => [
        s.database,
        `**${s.requestsPerSecond}**`,
        s.latencyMs.p50,
        s.latencyMs.p99,
        s.badStatus,
        s.errors - s.badStatus,
        s.serverErrorLogLines,
      ]),
    ),
  );
}
if (results.startup) {
  out.push(
    '',
    '### Cold start on the embedded database: spawn → first 200 from /readyz (median of 3)',
    '',
    measured('startup'),
    '',
    table(
      ['command', 'template cluster', 'fresh DATA_DIR ms', 'runs', 'existing DATA_DIR ms', 'runs'],
      results.startup.map((s) => [
        `\`${s.command}\``,
        s.template ? 'yes' : 'no (initdb)',
        `**${median(s.freshMs)}**`,
        s.freshMs.join(', '),
        median(s.existingMs),
        s.existingMs.join(', '),
      ]),
    ),
  );
}
console.log(out.join('\n'));

/** Two panels: throughput and latency against connections. Plain SVG, no chart library. */
function feedChart(points: FeedPoint[]): string {
  const width = 920;
  const height = 470;
  const panel = { width: 360, height: 260, top: 70 };
  const lefts = [80, 540];
  const maxConnections = Math.max(...points.map((p) => p.connections));
  const xs = (left: number) => (c: number) => left + (c / maxConnections) * panel.width;
  const ys = (max: number) => (v: number) => panel.top + panel.height - (v / max) * panel.height;
  const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [];
  const line = (x: (c: number) => number, y: (v: number) => number, values: [number, number][], colour: string, dash = '') =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${values
      .map(([c, v]) => `${x(c).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ')}"/>` +
    values.map(([c, v]) => `<circle cx="${x(c).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${colour}"/>`).join('');

  const axes = (left: number, max: number, unit: string, title: string) => {
    const x = xs(left);
    const y = ys(max);
    const step = niceStep(max);
    parts.push(`<text x="${left}" y="${panel.top - 22}" class="title">${esc(title)}</text>`);
    for (let v = 0; v <= max + 1e-9; v += step) {
      parts.push(`<line x1="${left}" x2="${left + panel.width}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
      parts.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${formatNumber(v)}</text>`);
    }
    for (const p of points) {
      parts.push(
        `<text x="${x(p.connections)}" y="${panel.top + panel.height + 18}" text-anchor="middle">${p.connections}</text>`,
      );
    }
    parts.push(`<line x1="${left}" x2="${left + panel.width}" y1="${y(0)}" y2="${y(0)}" class="axis"/>`);
    parts.push(`<line x1="${left}" x2="${left}" y1="${panel.top}" y2="${y(0)}" class="axis"/>`);
    parts.push(
      `<text x="${left + panel.width / 2}" y="${panel.top + panel.height + 38}" text-anchor="middle">connections (wrk) / clients (pgbench)</text>`,
    );
    parts.push(
      `<text transform="translate(${left - 58} ${panel.top + panel.height / 2}) rotate(-90)" text-anchor="middle">${esc(unit)}</text>`,
    );
    return { x, y };
  };

  const ours = '#1f6fb4';
  const pgbench = '#c0392b';
  const target = '#7f8c8d';

  const maxRate = niceMax(Math.max(...points.flatMap((p) => [p.server.requestsPerSecond, p.pgbench.tps])));
  const rate = axes(lefts[0]!, maxRate, 'per second', 'Throughput: GET /scheduled vs the database ceiling');
  parts.push(
    line(
      rate.x,
      rate.y,
      points.map((p) => [p.connections, p.pgbench.tps * 0.75]),
      target,
      '2 5',
    ),
  );
  parts.push(
    line(
      rate.x,
      rate.y,
      points.map((p) => [p.connections, p.pgbench.tps]),
      pgbench,
      '7 4',
    ),
  );
  parts.push(
    line(
      rate.x,
      rate.y,
      points.map((p) => [p.connections, p.server.requestsPerSecond]),
      ours,
    ),
  );

  const maxLatency = niceMax(Math.max(120, ...points.flatMap((p) => [p.server.latencyMs.p99, p.pgbench.latencyAvgMs])));
  const latency = axes(lefts[1]!, maxLatency, 'milliseconds', 'Latency: p99 of GET /scheduled (pgbench: average)');
  parts.push(
    line(
      latency.x,
      latency.y,
      points.map((p) => [p.connections, p.pgbench.latencyAvgMs]),
      pgbench,
      '7 4',
    ),
  );
  parts.push(
    line(
      latency.x,
      latency.y,
      points.map((p) => [p.connections, p.server.latencyMs.p99]),
      ours,
    ),
  );
  for (const [c, limit] of [
    [50, 40],
    [100, 100],
  ] as const) {
    if (c > maxConnections) continue;
    const [cx, cy] = [latency.x(c), latency.y(limit)];
    parts.push(`<line x1="${cx - 10}" x2="${cx + 10}" y1="${cy}" y2="${cy}" stroke="${target}" stroke-width="3"/>`);
    parts.push(`<text x="${cx - 14}" y="${cy - 8}" text-anchor="end" fill="${target}">target ${limit} ms</text>`);
  }

  const legend = [
    [ours, '', 'GET /scheduled, rotating bearer tokens (req/s, p99)'],
    [pgbench, '7 4', "pgbench: the original's two SELECTs per request (tps, average latency)"],
    [target, '2 5', 'target: 0.75 × pgbench tps; p99 ≤ 40 ms at 50 and ≤ 100 ms at 100 connections'],
  ] as const;
  legend.forEach(([colour, dash, label], i) => {
    const y = 418 + i * 20;
    const x = 80;
    parts.push(
      `<line x1="${x}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${colour}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    parts.push(`<text x="${x + 32}" y="${y}">${esc(label)}</text>`);
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<style>.title{font-size:14px;font-weight:bold}.grid{stroke:#e3e3e3}.axis{stroke:#555}</style>
<rect width="${width}" height="${height}" fill="#fff"/>
<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">Cheershare feed on ${esc(String(results.machine.cores))} shared cores, ${esc(results.date.slice(0, 10))}</text>
${parts.join('\n')}
</svg>
`;
}

function niceStep(max: number): number {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= rough)!;
}

function niceMax(value: number): number {
  const step = niceStep(value);
  return Math.ceil(value / step) * step;
}

function formatNumber(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(value % 1000 === 0 ? 0 : 1)}k` : String(value);
}
