import { randomInt } from 'node:crypto';
import type { Queryable } from '../../src/platform/db/database.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { findOrCreateUser, type User } from '../../src/auth/users.ts';

export interface SignedInUser {
  user: User;
  token: string;
  headers: { authorization: string };
}

/** A user with a live bearer token, made directly in the database (no OTP round trip). */
export async function createSignedInUser(db: Queryable, name = 'Test User', ttlHours = 48): Promise<SignedInUser> {
  const phone = `+9198${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
  const { user } = await findOrCreateUser(db, phone, name);
  const { token } = await createToken(db, user.id, ttlHours);
  return { user, token, headers: { authorization: `Bearer ${token}` } };
}
