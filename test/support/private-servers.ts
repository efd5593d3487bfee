import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './backends.ts';
import { freePort } from './server-process.ts';
import { eventually } from './wait.ts';

/**
 * Servers of our own to break: the machine's shared PostgreSQL and Redis are never touched by a
 * fault test. Each listens on a free loopback port.
 */

/** `redis-server` without persistence, killed with SIGKILL and started again on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    // Neither a failed test nor a forgotten kill keeps the test runner waiting on it.
    proc.unref();
    process.once('exit', () => proc.kill('SIGKILL'));
    this.proc = proc;
    await eventually(() => canConnect(this.port), 10_000, 20);
  }

  /** Stops it answering while its connections stay open (SIGSTOP), as a hung server does. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  /** A crash: no shutdown, no save. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.ref(); // until it has gone
    proc.kill('SIGKILL');
    await exited;
  }
}

const POSTGRES_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin/initdb')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  return version === undefined ? undefined : join(root, version, 'bin');
})();

/** Whether this machine has PostgreSQL's server binaries (Debian's layout) to start a private cluster. */
export const canRunPrivatePostgres = POSTGRES_BIN !== undefined;

const runningAsRoot = process.getuid?.() === 0;

/**
 * A throwaway PostgreSQL cluster: initdb in a temporary directory, `pg_ctl start` on a free port
 * with its socket in that directory, stopped with `-m immediate` (a crash: no checkpoint, open
 * connections cut) and started again. initdb refuses to run as root, so as root it runs as the
 * `postgres` user, in a directory that user owns.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dir = tempDir('cheershare-pg-');
    if (runningAsRoot) {
      const { uid, gid } = postgresIds();
      chownSync(dir, uid, gid);
    }
    const cluster = new PrivatePostgres(dir, await freePort());
    cluster.run('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    process.once('exit', () => cluster.destroy());
    return cluster;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** `settings`: more `-c name=value` server settings (e.g. shared_preload_libraries). */
  start(settings: string[] = []): void {
    this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-o',
      [`-p ${this.port} -k ${this.dir} -c fsync=off`, ...settings.map((setting) => `-c ${setting}`)].join(' '),
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
  }

  stop(mode: 'immediate' | 'fast' = 'immediate'): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', 'stop']);
  }

  /** Stops the server and its backends answering (SIGSTOP) while connections stay open: a hung server. */
  freeze(): void {
    this.signalAll('SIGSTOP');
  }

  thaw(): void {
    this.signalAll('SIGCONT');
  }

  private signalAll(signal: NodeJS.Signals): void {
    const postmaster = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const pid of [postmaster, ...children.map(Number)]) process.kill(pid, signal);
  }

  destroy(): void {
    try {
      this.stop('immediate');
    } catch {
      // Not running.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private run(command: string, args: string[]): void {
    const binary = join(POSTGRES_BIN!, command);
    const [file, argv] = runningAsRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  }
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

function canConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
