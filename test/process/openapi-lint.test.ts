import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildTestApp } from '../support/app.ts';
import { databaseBackends, tempDir } from '../support/backends.ts';
import { runNodeScript, servedDocument, type OpenApiDocument } from '../support/openapi.ts';

interface RedoclyProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer: string }[];
}

interface RedoclyReport {
  totals: { errors: number; warnings: number };
  problems: RedoclyProblem[];
}

/** Redocly CLI's recommended rules (no config, no ignore file) on `document`: its JSON report. */
async function redoclyLint(document: OpenApiDocument): Promise<RedoclyReport> {
  // An empty directory of its own: no redocly.yaml or .redocly.lint-ignore.yaml can be picked up.
  const dir = tempDir('cheershare-openapi-lint-');
  try {
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document, null, 2));
    const run = await runNodeScript('node_modules/@redocly/cli/bin/cli.js', ['lint', 'openapi.json', '--format=json'], dir);
    try {
      return JSON.parse(run.stdout) as RedoclyReport;
    } catch {
      throw new Error(`redocly lint exited ${run.exitCode} without a JSON report: ${run.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the OpenAPI document at /docs/json: Redocly CLI's recommended rules find no error and no warning", async () => {
  const t = await buildTestApp(databaseBackends[0]!);
  try {
    const report = await redoclyLint(await servedDocument(t));
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    assert.deepEqual(problems, []);
    assert.deepEqual(report.totals, { ...report.totals, errors: 0, warnings: 0 });
  } finally {
    await t.close();
  }
});
