import { execFile, type ExecFileException } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestApp } from './app.ts';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The host the document is fetched for: `servers` must name it. */
export const DOCUMENT_HOST = 'api.example.test';

/** The slice of an OpenAPI 3 document the tests walk. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; license?: { name: string; identifier?: string; url?: string } };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, SchemaObject>; securitySchemes?: Record<string, unknown> };
  security?: Record<string, string[]>[];
}

export interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema?: SchemaObject; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: SchemaObject }> }>;
}

export type SchemaObject = Record<string, unknown> & { $ref?: string };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every operation of the document with its path and method. */
export function operationsOf(document: OpenApiDocument): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

/** The document as the app serves it at /docs/json to a client that asked `DOCUMENT_HOST`. */
export async function servedDocument(t: TestApp): Promise<OpenApiDocument> {
  const response = await t.app.inject({ url: '/docs/json', headers: { host: DOCUMENT_HOST } });
  if (response.statusCode !== 200) throw new Error(`/docs/json: ${response.statusCode} ${response.body}`);
  return response.json();
}

const execFileAsync = promisify(execFile);

/** Runs a Node.js script of the project (a CLI from node_modules) in `cwd`; resolves whatever its exit code. */
export async function runNodeScript(
  script: string,
  args: string[],
  cwd: string,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  // Redocly would otherwise send usage telemetry and look for a newer release.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [join(PROJECT_ROOT, script), ...args], {
      cwd,
      env,
      maxBuffer: 64 << 20,
    });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as ExecFileException & { stdout: string; stderr: string };
    if (typeof failed.code !== 'number') throw error;
    return { exitCode: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
