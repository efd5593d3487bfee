import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body's bytes, and as UTF-8 text. */
  bytes: Buffer;
  body: string;
}

/**
 * One HTTP/1.1 connection driven byte by byte, for what `fetch` cannot do: send a request in pieces
 * over seconds (a slow upload), keep a connection open and idle, or see exactly when the server
 * closes it.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private wake: () => void = () => {};
  /** Resolves once the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.wake());
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Whatever the server has sent so far. */
  get text(): string {
    return this.received.toString('utf8');
  }

  send(data: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** Waits until the server has sent something (for a reader that then stops reading). */
  async firstBytes(): Promise<void> {
    while (this.received.length === 0) {
      if (this.socket.destroyed) throw new Error('connection closed before any byte arrived');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Waits for the next complete response (Content-Length bodies) and takes it off the buffer. */
  async response(): Promise<RawResponse> {
    for (;;) {
      const parsed = parseResponse(this.received);
      if (parsed) {
        this.received = this.received.subarray(parsed.length);
        return parsed.response;
      }
      if (this.socket.destroyed) {
        const head = JSON.stringify(this.received.subarray(0, 200).toString('utf8'));
        throw new Error(`connection closed before a full response: ${this.received.length} bytes, ${head}…`);
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseResponse(data: Buffer): { response: RawResponse; length: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = end + 4 + Number(headers['content-length'] ?? 0);
  if (data.length < length) return undefined;
  const bytes = Buffer.from(data.subarray(end + 4, length));
  return { response: { status: Number(statusLine.split(' ')[1]), headers, bytes, body: bytes.toString('utf8') }, length };
}
