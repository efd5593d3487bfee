import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Metrics } from '../../src/platform/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../../src/platform/metrics-server.ts';

/** The value of one sample line (`name{labels} value`) in a scrape, or undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics', () => {
  test('the gauges read their sources at each scrape', async () => {
    let used = { known: 1, new: 2 };
    let tasks = 2;
    const metrics = new Metrics({
      pool: () => ({ inUse: 4, idle: 6, waiting: 1 }),
      backgroundTasks: () => tasks,
      smsBudget: { limits: { known: 250, new: 250 }, used: () => Promise.resolve(used) },
    });
    let text = await metrics.scrape();
    assert.equal(sample(text, 'sms_budget_reserved'), 3);
    assert.equal(sample(text, 'sms_budget_limit'), 500);
    assert.equal(sample(text, 'sms_budget_share_used{share="known"}'), 1);
    assert.equal(sample(text, 'sms_budget_share_used{share="new"}'), 2);
    assert.equal(sample(text, 'sms_budget_share_limit{share="new"}'), 250);
    assert.equal(sample(text, 'background_tasks_in_flight'), 2);
    assert.equal(sample(text, 'db_pool_connections{state="in_use"}'), 4);
    assert.equal(sample(text, 'db_pool_connections{state="idle"}'), 6);
    assert.equal(sample(text, 'db_pool_waiting_queries'), 1);
    used = { known: 3, new: 4 };
    tasks = 0;
    text = await metrics.scrape();
    assert.equal(sample(text, 'sms_budget_reserved'), 7);
    assert.equal(sample(text, 'background_tasks_in_flight'), 0);
  });

  test('a budget store that cannot be read gives NaN, and the rest of the scrape still arrives', async () => {
    const metrics = new Metrics({
      processMetrics: true,
      smsBudget: { limits: { known: 5, new: 5 }, used: () => Promise.reject(new Error('redis down')) },
    });
    const text = await metrics.scrape();
    assert.ok(Number.isNaN(sample(text, 'sms_budget_reserved')));
    assert.equal(sample(text, 'sms_budget_limit'), 10);
    assert.ok(sample(text, 'process_cpu_user_seconds_total')! >= 0);
  });

  test('process and event-loop metrics are exported when asked for', async () => {
    assert.doesNotMatch(await new Metrics().scrape(), /^process_/m);
    const text = await new Metrics({ processMetrics: true }).scrape();
    for (const name of ['process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.match(text, new RegExp(`^${name} `, 'm'));
    }
  });

  test('cache lookups count by cache name and result', async () => {
    const metrics = new Metrics();
    const feed = metrics.cache('feed');
    feed('hit');
    feed('hit');
    feed('miss');
    metrics.cache('tokens')('miss');
    const text = await metrics.scrape();
    assert.equal(sample(text, 'cache_lookups_total{cache="feed",result="hit"}'), 2);
    assert.equal(sample(text, 'cache_lookups_total{cache="feed",result="miss"}'), 1);
    assert.equal(sample(text, 'cache_lookups_total{cache="tokens",result="miss"}'), 1);
  });

  test('image processing is timed whether it succeeds or throws', async () => {
    const metrics = new Metrics();
    assert.equal(await metrics.timeImageProcessing(() => Promise.resolve(5)), 5);
    await assert.rejects(
      metrics.timeImageProcessing(() => Promise.reject(new Error('corrupt'))),
      /corrupt/,
    );
    assert.equal(sample(await metrics.scrape(), 'image_processing_seconds_count'), 2);
  });

  test('two instances keep separate counts', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.smsSends.inc({ outcome: 'sent' });
    assert.equal(sample(await a.scrape(), 'sms_sends_total{outcome="sent"}'), 1);
    assert.equal(sample(await b.scrape(), 'sms_sends_total{outcome="sent"}'), undefined);
  });
});

describe('the metrics listener', () => {
  let server: MetricsServer;
  before(async () => {
    const metrics = new Metrics();
    metrics.uploads.inc({ outcome: 'stored' });
    server = await startMetricsServer(metrics.registry, { port: 0, host: '127.0.0.1' }, pino({ level: 'silent' }));
  });
  after(() => server.close());

  test('GET /metrics answers Prometheus text', async () => {
    const res = await fetch(`${server.address}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(await res.text(), 'uploads_total{outcome="stored"}'), 1);
  });

  test('anything else is 404', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/metrics/x'],
      ['POST', '/metrics'],
    ] as const) {
      const res = await fetch(`${server.address}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
  });

  test('it is bound where it was told', () => {
    assert.match(server.address, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
