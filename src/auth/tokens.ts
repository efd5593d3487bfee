import { hash, randomBytes } from 'node:crypto';
import type { Queryable } from '../platform/db/database.ts';
import type { User } from './users.ts';

export const SCOPE_AUTHENTICATION = 'authentication';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 16 random bytes in unpadded RFC 4648 base32, as the original issued them. */
export const TOKEN_PATTERN = /^[A-Z2-7]{26}$/;

export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

export function generateToken(): string {
  return base32(randomBytes(16));
}

/** The database keeps only SHA-256 of the token's text, so a leaked table grants nothing. */
export function hashToken(plaintext: string): Buffer {
  // The one-shot form: every authenticated request hashes its token.
  return hash('sha256', plaintext, 'buffer');
}

export interface IssuedToken {
  token: string;
  expiry: Date;
}

export async function createToken(
  db: Queryable,
  userId: number,
  ttlHours: number,
  scope = SCOPE_AUTHENTICATION,
): Promise<IssuedToken> {
  const token = generateToken();
  const { rows } = await db.query<{ expiry: Date }>(
    `INSERT INTO tokens (hash, user_id, expiry, scope)
     VALUES ($1, $2, now() + make_interval(hours => $3), $4)
     RETURNING expiry`,
    [hashToken(token), userId, ttlHours, scope],
  );
  return { token, expiry: rows[0]!.expiry };
}

export interface LiveToken {
  user: User;
  expiry: Date;
}

/** The user a live (unexpired, unrevoked) token of `scope` belongs to, and when it expires; or null. */
export async function findLiveToken(db: Queryable, hash: Buffer, scope = SCOPE_AUTHENTICATION): Promise<LiveToken | null> {
  const { rows } = await db.query<User & { expiry: Date }>(
    `SELECT users.id, users.created_at, users.name, users.phone_number, users.version, tokens.expiry
     FROM users INNER JOIN tokens ON users.id = tokens.user_id
     WHERE tokens.hash = $1 AND tokens.scope = $2 AND tokens.expiry > now()`,
    [hash, scope],
  );
  const row = rows[0];
  if (!row) return null;
  const { expiry, ...user } = row;
  return { user, expiry };
}

export async function deleteToken(db: Queryable, hash: Buffer): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM tokens WHERE hash = $1', [hash]);
  return rowCount;
}

export async function deleteAllTokensForUser(db: Queryable, userId: number, scope = SCOPE_AUTHENTICATION): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM tokens WHERE user_id = $1 AND scope = $2', [userId, scope]);
  return rowCount;
}

export async function deleteExpiredTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM tokens WHERE expiry <= now()');
  return rowCount;
}
