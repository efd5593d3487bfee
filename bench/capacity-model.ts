import { writeFileSync } from 'node:fs';

/** What one instance's work costs per request, as bench/capacity.ts measures it. */
interface PerUnit {
  cpuMs: number;
  queries: number;
  redisCommands: number;
  bucketRequests: number;
}

/** bench/results-capacity.json. */
export interface CapacityInputs {
  date: string;
  command: string;
  machine: { cores: number; cpu: string; node: string; loadAverage: string };
  feed: PerUnit & {
    idleCpuMsPerSecond: number;
    requestsPerSecondMeasured: number;
    connections: number;
    people: number;
    seconds: number;
  };
  signIn: PerUnit;
  codeRequest: PerUnit;
  upload1MiB: PerUnit & { bytes: number };
  upload10MiB: PerUnit & { bytes: number };
  uploadMemory: { idleRssMib: number; peakRssMib: number; concurrent: number; bytesEach: number };
  feedView: { jsonBytes: number; creatives: number; thumbBytesAverage: number; bucketRequestsPerThumb: number };
  rowBytes: { user: number; creative: number; token: number };
  redisOpsPerSecond: number;
}

/** How people are assumed to use it: change these and run `npm run bench:capacity -- --report-only`. */
const ASSUME = {
  feedViewsPerUserPerDay: 6,
  /** Thumbnails a feed view loads (the galleries' first screens). */
  thumbsPerView: 20,
  /** Creatives in the feed a view's JSON carries. */
  creativesPerFeed: 40,
  uploadsPerUserPerDay: 0.05,
  uploadMib: 2,
  /** Tokens last 48 h: a code every other day, plus one resend in ten. */
  smsPerUserPerDay: 0.55,
  /** The busiest hour against the day's average. */
  peakFactor: 3,
  /** Cores per instance, and the share of them to plan for. */
  coresPerInstance: 2,
  targetUtilisation: 0.6,
  creativeRetentionDays: 365,
  /** Twilio, one SMS to India (varies by country and volume). */
  smsUsd: 0.05,
  /** One PostgreSQL primary: 2 × the pgbench yardstick's 2-query transactions on this 2-core machine (bench/RESULTS.md), times 8 for a 16-core server. */
  postgresQueriesPerSecond: 2 * 7_000 * 8,
  /** S3's documented request rate per prefix (all creatives share one, S3_PREFIX). */
  s3GetsPerSecondPerPrefix: 5_500,
  s3PutsPerSecondPerPrefix: 3_500,
  /** SMS_PER_HOUR's default. */
  smsPerHour: 1_000,
  /** One instance's network link, bytes per second (1 Gbit/s). */
  instanceEgressBytesPerSecond: 125_000_000,
};

const SIZES = [10_000, 1_000_000, 10_000_000];
const DAY = 86_400;
const MIB = 1024 * 1024;

interface Load {
  users: number;
  instances: number;
  postgresQps: number;
  postgresGib: number;
  redisOps: number;
  redisShare: number;
  bucketGetsNoCdn: number;
  bucketPuts: number;
  egressGibNoCdn: number;
  egressGibCdn: number;
  smsPerDay: number;
  smsUsdPerDay: number;
  saturating: { resource: string; share: number; change: string };
  afterCdn: { resource: string; share: number; change: string };
  smsPerHourNeeded: number;
}

const CDN_FIXES = new Set(['bucket GETs per prefix (no CDN)', 'instance egress (no CDN)']);

const CHANGES: Record<string, string> = {
  'bucket GETs per prefix (no CDN)':
    'set PUBLIC_FILES_URL to a CDN in front of the bucket: feed images stop passing through the instances and the bucket sees one GET per object per edge',
  'instance egress (no CDN)': 'a CDN (PUBLIC_FILES_URL): the instances then send only JSON',
  'PostgreSQL primary':
    'read replicas for token lookups and feed pages (the 1 s caches already bound the feed), creatives partitioned by scheduled_at',
  Redis: 'Redis Cluster, the rate-limit keys sharded by number and address',
  'instance CPU': 'more instances (they share nothing but PostgreSQL, Redis and the bucket)',
};

function interpolate(inputs: CapacityInputs, field: keyof PerUnit, mib: number): number {
  const [a, b] = [inputs.upload1MiB, inputs.upload10MiB];
  const [x0, x1] = [a.bytes / MIB, b.bytes / MIB];
  return a[field] + ((b[field] - a[field]) * (mib - x0)) / (x1 - x0);
}

function load(inputs: CapacityInputs, users: number): Load {
  const peak = (perDay: number) => (perDay / DAY) * ASSUME.peakFactor;
  const views = users * ASSUME.feedViewsPerUserPerDay;
  const uploads = users * ASSUME.uploadsPerUserPerDay;
  const sms = users * ASSUME.smsPerUserPerDay;
  // Without a CDN each thumbnail goes through an instance (a bucket GET and its bytes).
  const thumbCpuMs = inputs.feed.cpuMs; // a file answer costs about what a cached feed answer does
  const cpuMsPerDay =
    views * (inputs.feed.cpuMs + ASSUME.thumbsPerView * thumbCpuMs) +
    uploads * interpolate(inputs, 'cpuMs', ASSUME.uploadMib) +
    sms * (inputs.codeRequest.cpuMs + inputs.signIn.cpuMs / 2);
  const instances = Math.max(2, Math.ceil(peak(cpuMsPerDay) / 1000 / (ASSUME.coresPerInstance * ASSUME.targetUtilisation)));
  const queriesPerDay =
    views * inputs.feed.queries +
    uploads * interpolate(inputs, 'queries', ASSUME.uploadMib) +
    sms * (inputs.codeRequest.queries + inputs.signIn.queries / 2);
  const redisPerDay =
    views * inputs.feed.redisCommands +
    uploads * interpolate(inputs, 'redisCommands', ASSUME.uploadMib) +
    sms * (inputs.codeRequest.redisCommands + inputs.signIn.redisCommands / 2);
  const bucketPutsPerDay = uploads * interpolate(inputs, 'bucketRequests', ASSUME.uploadMib);
  const bucketGetsPerDay = views * ASSUME.thumbsPerView * inputs.feedView.bucketRequestsPerThumb;
  const jsonBytes = (inputs.feedView.jsonBytes / Math.max(1, inputs.feedView.creatives)) * ASSUME.creativesPerFeed;
  const egressNoCdn = views * (jsonBytes + ASSUME.thumbsPerView * inputs.feedView.thumbBytesAverage);
  const egressCdn = views * jsonBytes;
  const rows =
    users * (inputs.rowBytes.user + inputs.rowBytes.token) + uploads * ASSUME.creativeRetentionDays * inputs.rowBytes.creative;
  const shares: Record<string, number> = {
    'bucket GETs per prefix (no CDN)': peak(bucketGetsPerDay) / ASSUME.s3GetsPerSecondPerPrefix,
    'instance egress (no CDN)': peak(egressNoCdn) / (instances * ASSUME.instanceEgressBytesPerSecond),
    'PostgreSQL primary': peak(queriesPerDay) / ASSUME.postgresQueriesPerSecond,
    Redis: peak(redisPerDay) / inputs.redisOpsPerSecond,
  };
  const ranked = Object.entries(shares).sort(([, a], [, b]) => b - a);
  const [resource, share] = ranked[0]!;
  // Once a CDN serves the files, the next in line.
  const [then, thenShare] = ranked.find(([name]) => !CDN_FIXES.has(name))!;
  return {
    users,
    instances,
    postgresQps: peak(queriesPerDay),
    postgresGib: rows / 1024 ** 3,
    redisOps: peak(redisPerDay),
    redisShare: shares.Redis!,
    bucketGetsNoCdn: bucketGetsPerDay,
    bucketPuts: bucketPutsPerDay,
    egressGibNoCdn: egressNoCdn / 1024 ** 3,
    egressGibCdn: egressCdn / 1024 ** 3,
    smsPerDay: sms,
    smsUsdPerDay: sms * ASSUME.smsUsd,
    saturating: { resource, share, change: CHANGES[resource]! },
    afterCdn: { resource: then, share: thenShare, change: CHANGES[then]! },
    smsPerHourNeeded: peak(sms) * 3600,
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const short = (n: number) =>
  n >= 1e9 ? `${fmt(n / 1e9, 1)} G` : n >= 1e6 ? `${fmt(n / 1e6, 1)} M` : n >= 1e3 ? `${fmt(n / 1e3, 1)} k` : fmt(n, 1);

/** docs/capacity.md from the measured inputs and the assumptions above. */
export function capacityDocument(inputs: CapacityInputs): string {
  const perCore = (cpuMs: number) => fmt(1000 / cpuMs, 1);
  const memoryPerUpload = (inputs.uploadMemory.peakRssMib - inputs.uploadMemory.idleRssMib) / inputs.uploadMemory.concurrent;
  const loads = SIZES.map((users) => load(inputs, users));
  const row = (label: string, cell: (l: Load) => string) => `| ${label} | ${loads.map(cell).join(' | ')} |`;
  const cmd = `\`${inputs.command}\``;
  return `# Capacity model

Generated by ${cmd} (bench/capacity.ts measures, bench/capacity-model.ts writes this file; change
the assumptions there and run \`${inputs.command} -- --report-only\`). Do not edit by hand.
Measured ${inputs.date.slice(0, 16).replace('T', ' ')} UTC on ${inputs.machine.cores} × ${inputs.machine.cpu}, Node.js ${inputs.machine.node},
load average ${inputs.machine.loadAverage.split(' ').slice(0, 3).join(' ')} (the machine is shared: figures are the server's own CPU time per
request, read from /proc, so they hold whatever else ran; req/s at the time say little).

## Measured inputs (one instance, ENV=production, PostgreSQL + Redis + S3)

Every figure below was measured by ${cmd}: one \`dist/main.js\` on a private PostgreSQL with
pg_stat_statements (queries counted), a private Redis (\`INFO stats\` commands counted) and moto's
S3 behind a counting proxy (bucket requests counted).

| input | per request | per core | how |
| --- | --- | --- | --- |
| feed \`GET /scheduled\`, a different person each request | ${fmt(inputs.feed.cpuMs, 3)} ms CPU | ${perCore(inputs.feed.cpuMs)} req/s | autocannon, ${inputs.feed.connections} connections, ${inputs.feed.seconds} s, ${fmt(inputs.feed.people)} tokens in turn (${fmt(inputs.feed.requestsPerSecondMeasured)} req/s at the time), less the process's idle CPU (${fmt(inputs.feed.idleCpuMsPerSecond, 1)} ms a second, measured just before) |
| upload, ${fmt(inputs.upload1MiB.bytes / MIB, 1)} MiB JPEG | ${fmt(inputs.upload1MiB.cpuMs, 0)} ms CPU | ${perCore(inputs.upload1MiB.cpuMs)} uploads/s | 6 in a row, variants and placeholder made, stored in the bucket |
| upload, ${fmt(inputs.upload10MiB.bytes / MIB, 1)} MiB JPEG | ${fmt(inputs.upload10MiB.cpuMs, 0)} ms CPU | ${perCore(inputs.upload10MiB.cpuMs)} uploads/s | 3 in a row |
| memory per upload in flight | ${fmt(memoryPerUpload, 1)} MiB | — | peak RSS (VmHWM) with ${inputs.uploadMemory.concurrent} concurrent ${fmt(inputs.uploadMemory.bytesEach / MIB, 1)} MiB uploads, minus idle RSS (${fmt(inputs.uploadMemory.idleRssMib)} → ${fmt(inputs.uploadMemory.peakRssMib)} MiB) |
| sign-in (code request + verify, test number) | ${fmt(inputs.signIn.cpuMs, 1)} ms CPU | ${perCore(inputs.signIn.cpuMs)} /s | 8 sign-ins |
| code request (every limit checked, SMS sent in the background) | ${fmt(inputs.codeRequest.cpuMs, 1)} ms CPU | ${perCore(inputs.codeRequest.cpuMs)} /s | 20 numbers |

An instance is one Node.js process: the feed runs on one core (JavaScript is single-threaded),
uploads use up to IMAGE_CONCURRENCY cores (libvips' threads). Per instance on ${ASSUME.coresPerInstance} cores: about
${perCore(inputs.feed.cpuMs)} feed req/s, or ${fmt((ASSUME.coresPerInstance * 1000) / inputs.upload1MiB.cpuMs, 1)} uploads/s of 1 MiB.

| input | feed request | sign-in | code request | upload 1 MiB | upload 10 MiB |
| --- | --- | --- | --- | --- | --- |
| PostgreSQL queries | ${fmt(inputs.feed.queries, 2)} | ${fmt(inputs.signIn.queries, 1)} | ${fmt(inputs.codeRequest.queries, 1)} | ${fmt(inputs.upload1MiB.queries, 1)} | ${fmt(inputs.upload10MiB.queries, 1)} |
| Redis commands | ${fmt(inputs.feed.redisCommands, 2)} | ${fmt(inputs.signIn.redisCommands, 1)} | ${fmt(inputs.codeRequest.redisCommands, 1)} | ${fmt(inputs.upload1MiB.redisCommands, 1)} | ${fmt(inputs.upload10MiB.redisCommands, 1)} |
| S3 requests | ${fmt(inputs.feed.bucketRequests, 2)} | ${fmt(inputs.signIn.bucketRequests, 1)} | ${fmt(inputs.codeRequest.bucketRequests, 1)} | ${fmt(inputs.upload1MiB.bucketRequests, 1)} | ${fmt(inputs.upload10MiB.bucketRequests, 1)} |

The feed's queries per request are the token lookups (each token is cached for 1 s per instance)
plus the feed itself, loaded at most once a second per instance.

**A feed view** (the JSON, then the thumbnails the galleries show): the JSON is ${fmt(inputs.feedView.jsonBytes / Math.max(1, inputs.feedView.creatives))} bytes
per creative (measured with ${inputs.feedView.creatives}); a thumbnail is ${fmt(inputs.feedView.thumbBytesAverage)} bytes on average and costs
${fmt(inputs.feedView.bucketRequestsPerThumb, 1)} S3 request when an instance serves it. With ${ASSUME.creativesPerFeed} creatives and ${ASSUME.thumbsPerView} thumbnails a view, an
instance sends ${short((inputs.feedView.jsonBytes / Math.max(1, inputs.feedView.creatives)) * ASSUME.creativesPerFeed + ASSUME.thumbsPerView * inputs.feedView.thumbBytesAverage)}B per view without a CDN and ${short((inputs.feedView.jsonBytes / Math.max(1, inputs.feedView.creatives)) * ASSUME.creativesPerFeed)}B with one
(\`PUBLIC_FILES_URL\`: the thumbnails come from the CDN, which asks the bucket once per object and edge).

Stored rows: ${fmt(inputs.rowBytes.user)} bytes a user, ${fmt(inputs.rowBytes.token)} a token, ${fmt(inputs.rowBytes.creative)} a creative, indexes included
(\`pg_total_relation_size\` over the rows the run made). Redis: ${short(inputs.redisOpsPerSecond)} commands/s (\`redis-benchmark -t get,set,incr\`, the slowest).

## Assumptions

${Object.entries(ASSUME)
  .map(([name, value]) => `- \`${name}\`: ${typeof value === 'number' ? fmt(value, 3) : value}`)
  .join('\n')}

Daily users each open the feed ${ASSUME.feedViewsPerUserPerDay} times; ${fmt(ASSUME.uploadsPerUserPerDay * 100)} % upload one ${ASSUME.uploadMib} MiB image a day
(costs interpolated between the 1 and 10 MiB measurements); the busiest hour carries ${ASSUME.peakFactor}× the
day's average rate. Instances are planned at ${fmt(ASSUME.targetUtilisation * 100)} % of ${ASSUME.coresPerInstance} cores, at least two.

## Daily users

| | ${loads.map((l) => `${short(l.users)} daily users`).join(' | ')} |
| --- | --- | --- | --- |
${row('instances (2 cores, no CDN)', (l) => String(l.instances))}
${row('PostgreSQL, busiest hour', (l) => `${short(l.postgresQps)} queries/s`)}
${row('PostgreSQL size after a year', (l) => `${fmt(l.postgresGib, 2)} GiB`)}
${row('Redis, busiest hour', (l) => `${short(l.redisOps)} commands/s (${fmt(l.redisShare * 100, 1)} % of one)`)}
${row('bucket PUT/COPY/DELETE a day', (l) => short(l.bucketPuts))}
${row('bucket GETs a day, no CDN', (l) => short(l.bucketGetsNoCdn))}
${row('egress a day, no CDN / with CDN (from the instances)', (l) => `${fmt(l.egressGibNoCdn, 1)} / ${fmt(l.egressGibCdn, 1)} GiB`)}
${row('SMS a day (cost)', (l) => `${short(l.smsPerDay)} ($${fmt(l.smsUsdPerDay)})`)}
${row('SMS_PER_HOUR the busiest hour needs (default 1,000)', (l) => fmt(l.smsPerHourNeeded))}
${row('**first to saturate** (share of its limit at the busiest hour)', (l) => `**${l.saturating.resource}**, ${fmt(l.saturating.share * 100, 1)} %`)}
${row('then, with a CDN', (l) => `${l.afterCdn.resource}, ${fmt(l.afterCdn.share * 100, 1)} %`)}

What each calls for:

${loads.map((l) => `- **${short(l.users)} daily users**: ${l.saturating.resource} first (${fmt(l.saturating.share * 100, 1)} % of its limit): ${l.saturating.change}. Then ${l.afterCdn.resource} (${fmt(l.afterCdn.share * 100, 1)} %): ${l.afterCdn.change}.`).join('\n')}

Not in the ranking: the SMS budget is a setting, not a resource. Raise \`SMS_PER_HOUR\` to the row
above (the provider's contracted rate; 1,000 by default) before the number of daily users gets
there; longer-lived tokens (\`TOKEN_TTL_HOURS\`) send fewer codes. Instance CPU never comes first
either: ${CHANGES['instance CPU']}.

Limits the shares are taken against: bucket GETs ${fmt(ASSUME.s3GetsPerSecondPerPrefix)}/s per prefix (S3's documented rate; every
object is under \`S3_PREFIX\`), instance egress ${fmt(ASSUME.instanceEgressBytesPerSecond / 1e6)} MB/s each, PostgreSQL ${short(ASSUME.postgresQueriesPerSecond)} queries/s on one
16-core primary (scaled from the pgbench yardstick, \`npm run bench -- --only feed\`, in bench/RESULTS.md) and Redis at
the rate measured above (one thread; this machine's cores were shared with other work, so a
dedicated Redis does several times more).
`;
}

export function writeCapacityDocument(inputs: CapacityInputs, path: string): void {
  writeFileSync(path, capacityDocument(inputs));
}
