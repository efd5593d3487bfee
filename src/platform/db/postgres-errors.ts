import pg from 'pg';

// SQLSTATEs that say the server, not the statement, is the problem: connection exceptions (class
// 08), the server shutting down or starting up, too many connections, and statement_timeout.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a Unix socket that is not there: the server is not running
]);
// pg's and pg-pool's own errors for a lost, refused or timed-out connection carry no code.
const CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;

/** True when `error` means PostgreSQL is unreachable or not answering, as opposed to a failed statement. */
export function isPostgresUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof pg.DatabaseError) {
    const state = error.code ?? '';
    return state.startsWith('08') || UNAVAILABLE_STATES.has(state);
  }
  const { code } = error as NodeJS.ErrnoException;
  return (code !== undefined && NETWORK_CODES.has(code)) || CONNECTION_MESSAGES.test(error.message);
}
