import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from './server-process.ts';

const DEPLOY = join(ROOT, 'deploy/nginx');

export interface NginxOptions {
  /** The instances' ports, in place of the example's. */
  upstreams: number[];
  /** Turns on deploy/nginx/uploads-local.conf with this UPLOAD_DIR. */
  uploadDir?: string;
}

/**
 * deploy/nginx/cheershare.conf with the listen port and upstream servers changed (and, if asked,
 * the uploads-local block included), inside a minimal nginx.conf of its own.
 */
export function nginxConfig(directory: string, port: number, { upstreams, uploadDir }: NginxOptions): string {
  let site = readFileSync(join(DEPLOY, 'cheershare.conf'), 'utf8');
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n');
  site = replaceOnce(site, /( {4}server 127\.0\.0\.1:\d+ .*\n)+/, `${servers}\n`);
  site = replaceOnce(site, /listen 80;/, `listen 127.0.0.1:${port};`);
  if (uploadDir) {
    const local = replaceOnce(
      readFileSync(join(DEPLOY, 'uploads-local.conf'), 'utf8'),
      /alias \S+\/\$1;/,
      `alias ${uploadDir}/$1;`,
    );
    writeFileSync(join(directory, 'uploads-local.conf'), local);
    site = replaceOnce(site, /# include \S+uploads-local\.conf;/, `include ${join(directory, 'uploads-local.conf')};`);
  }
  writeFileSync(join(directory, 'cheershare.conf'), site);
  const temp = (name: string) => `${name}_temp_path ${join(directory, name)};`;
  return `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${join(directory, 'nginx.pid')};
error_log ${join(directory, 'error.log')} warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  include ${join(directory, 'cheershare.conf')};
}
`;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`deploy/nginx: ${pattern} not found`);
  return text.replace(pattern, replacement);
}

export interface Nginx {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Runs `nginx -c <generated> -g 'daemon off;'` as a child on a free loopback port; resolves once it answers. */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const directory = mkdtempSync(join(tmpdir(), 'cheershare-nginx-'));
  const port = await freePort();
  const file = join(directory, 'nginx.conf');
  writeFileSync(file, nginxConfig(directory, port, options));
  // A group of its own: if this process dies first, its workers go with the master.
  const proc = spawn('nginx', ['-c', file, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killGroup);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readErrorLog(directory)}`);
    // Any answer at all means nginx listens (the instances may not be up yet).
    if (
      await fetch(`${url}/healthz`).then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      killGroup();
      throw new Error(`nginx did not answer: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url,
    async stop() {
      // SIGQUIT: nginx's graceful shutdown.
      proc.kill('SIGQUIT');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function readErrorLog(directory: string): string {
  try {
    return readFileSync(join(directory, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}
