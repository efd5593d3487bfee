import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { Metrics } from '../../src/platform/metrics.ts';

const ALERTS = 'deploy/prometheus/alerts.yml';
const DASHBOARD = 'deploy/grafana/cheershare.json';

/** Every series name this app's /metrics can carry (histograms as their _bucket, _sum and _count). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new Metrics({
    processMetrics: true,
    pool: () => ({ inUse: 0, idle: 1, waiting: 0 }),
    backgroundTasks: () => 0,
    smsBudget: { limits: { known: 50, new: 50 }, used: () => Promise.resolve({ known: 0, new: 0 }) },
  });
  const names = new Set(['up']); // Prometheus's own, per target
  for (const [, name, type] of (await metrics.scrape()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings, which may hold braces
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\$\w+/g, ''); // Grafana variables
  return [...bare.matchAll(/[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)].map(([word]) => word).filter((word) => !PROMQL_WORDS.has(word));
}

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string }[] }[];
}

test('every metric the alert rules name is one the app exports', async () => {
  const exported = await exportedNames();
  const rules = (parse(readFileSync(ALERTS, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules);
  assert.ok(rules.length >= 8);
  for (const rule of rules) {
    const names = metricNames(rule.expr);
    assert.ok(names.length > 0, `${rule.alert}: names no metric`);
    for (const name of names) assert.ok(exported.has(name), `${rule.alert}: ${name} is not exported`);
  }
});

test('the alert rules cover the SMS budget, failed sends, pumping, upload failures, latency by route and instances down', () => {
  const rules = (parse(readFileSync(ALERTS, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules);
  const exprOf = (alert: string) => rules.find((rule) => rule.alert === alert)?.expr ?? '';
  assert.match(exprOf('SmsBudgetNearlyExhausted'), /sms_budget_reserved.*\/.*sms_budget_limit/);
  assert.match(exprOf('SmsBudgetExhausted'), /sms_budget_reserved.*>=.*sms_budget_limit/);
  assert.match(exprOf('SmsSendsFailing'), /outcome="failed"/);
  assert.match(exprOf('OtpVerifyToSendRatioLow'), /otp_verifications_total.*outcome="verified"[^]*sms_sends_total/);
  assert.match(exprOf('UploadFailureRateHigh'), /uploads_total/);
  assert.match(exprOf('HighP99LatencyByRoute'), /histogram_quantile\(0\.99,\s*sum by \(route, le\)/);
  assert.match(exprOf('InstanceDown'), /up\{job="cheershare"\} == 0/);
});

test('every metric the Grafana dashboard queries is one the app exports', async () => {
  const exported = await exportedNames();
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
  assert.ok(targets.length >= 15);
  for (const { panel, target } of targets) {
    for (const name of metricNames(target.expr)) assert.ok(exported.has(name), `${panel.title}: ${name} is not exported`);
  }
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

test(
  'promtool accepts the alert rules and the scrape config',
  { skip: !promtool && !process.env.CI && 'promtool is not installed' },
  () => {
    execFileSync('promtool', ['check', 'rules', ALERTS], { stdio: 'pipe' });
    execFileSync('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml'], { stdio: 'pipe' });
    execFileSync('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'], { stdio: 'pipe' });
  },
);
