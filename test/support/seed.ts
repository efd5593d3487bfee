import { Migrator } from '../../src/platform/db/migrator.ts';
import type { TestDatabase } from './backends.ts';
import { createSignedInUser, type SignedInUser } from './users.ts';

/**
 * Migrates `database` and signs a user in, before a server process opens it: an embedded
 * database can be open in only one process at a time.
 */
export async function seedSignedInUser(database: TestDatabase, name = 'Test User'): Promise<SignedInUser> {
  const db = await database.open();
  try {
    await new Migrator(db).up();
    return await createSignedInUser(db, name);
  } finally {
    await db.close();
  }
}
