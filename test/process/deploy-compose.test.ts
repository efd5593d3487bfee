import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const COMPOSE = 'deploy/compose.yaml';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  volumes?: string[];
  network_mode?: string;
  depends_on?: Record<string, { condition: string }>;
  stop_signal?: string;
  stop_grace_period?: string;
  restart?: string;
}

const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const { services } = compose;
const instances = ['cheershare-1', 'cheershare-2'].map((name) => services[name]!);

/** `${NAME:-default}` as compose reads it with nothing set. */
function withDefaults(value: string): string {
  return value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');
}

test('the stack: two instances, nginx, PostgreSQL, Redis, an S3-compatible store, Prometheus and Grafana', () => {
  assert.deepEqual(Object.keys(services).sort(), [
    'bucket',
    'cheershare-1',
    'cheershare-2',
    'grafana',
    'minio',
    'nginx',
    'postgres',
    'prometheus',
    'redis',
  ]);
  for (const instance of instances) {
    assert.deepEqual(instance.build, {
      context: '..',
      dockerfile: 'Dockerfile',
      args: { BASE_IMAGE: '${BASE_IMAGE:-node:24-bookworm-slim}' },
    });
    assert.equal(instance.restart, 'always');
    assert.equal(instance.stop_signal, 'SIGTERM');
    assert.deepEqual(Object.keys(instance.depends_on ?? {}).sort(), ['bucket', 'postgres', 'redis']);
  }
});

test("each instance's settings are a valid configuration on the stack's PostgreSQL, Redis and bucket", () => {
  for (const instance of instances) {
    const env = Object.fromEntries(Object.entries(instance.environment!).map(([name, value]) => [name, withDefaults(value)]));
    const config = loadConfig(env);
    assert.match(config.databaseUrl ?? '', /@postgres:5432\//);
    assert.equal(config.redisUrl, 'redis://redis:6379/0');
    assert.deepEqual(
      { kind: config.storage.kind, endpoint: 'endpoint' in config.storage ? config.storage.endpoint : undefined },
      { kind: 's3', endpoint: 'http://minio:9000' },
    );
    assert.equal(config.trustProxy, 1);
  }
});

test("nginx balances the two instances with deploy/nginx's own site, and Prometheus scrapes both", () => {
  const site = readFileSync('deploy/nginx/cheershare.conf', 'utf8');
  assert.ok(services.nginx!.volumes!.includes('./nginx/cheershare.conf:/etc/nginx/conf.d/default.conf:ro'));
  const scrape = readFileSync('deploy/compose/prometheus.yml', 'utf8');
  for (const instance of instances) {
    assert.equal(instance.network_mode, 'service:nginx', 'in the network namespace the upstream addresses name');
    assert.match(site, new RegExp(`server 127\\.0\\.0\\.1:${instance.environment!.PORT} `));
    assert.match(scrape, new RegExp(`'nginx:${instance.environment!.METRICS_PORT}'`));
  }
});

test('every file the stack mounts exists', () => {
  const mounts = Object.values(services).flatMap((service) => service.volumes ?? []);
  const files = mounts.map((mount) => mount.split(':')[0]!).filter((source) => source.startsWith('./'));
  assert.ok(files.length >= 6, String(files));
  for (const file of files) assert.ok(existsSync(join('deploy', file)), file);
});
