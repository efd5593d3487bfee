import { Type } from 'typebox';
import type { Queryable } from '../platform/db/database.ts';

export interface User {
  id: number;
  created_at: Date;
  name: string;
  phone_number: string;
  version: number;
}

export const UserSchema = Type.Object(
  {
    id: Type.Integer(),
    created_at: Type.String({ format: 'date-time' }),
    name: Type.String(),
    phone_number: Type.String({ description: 'E.164' }),
    version: Type.Integer(),
  },
  { title: 'User' },
);

/** A user as the API shows it (`created_at` in RFC 3339). */
export function userJson(user: User) {
  return { ...user, created_at: user.created_at.toISOString() };
}

const COLUMNS = 'id, created_at, name, phone_number, version';

/** Returns the user with this number, creating it with `name` if there is none (race-safe). */
export async function findOrCreateUser(db: Queryable, phoneNumber: string, name: string): Promise<User> {
  const { rows } = await db.query<User>(
    `INSERT INTO users (name, phone_number) VALUES ($1, $2)
     ON CONFLICT (phone_number) DO UPDATE SET phone_number = EXCLUDED.phone_number
     RETURNING ${COLUMNS}`,
    [name, phoneNumber],
  );
  return rows[0]!;
}

/** Whether the number has signed in before (it has an account). */
export async function hasAccount(db: Queryable, phoneNumber: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM users WHERE phone_number = $1', [phoneNumber]);
  return rows.length > 0;
}
