import type { Queryable } from './db/database.ts';
import { deleteAllTokensForUser, deleteToken, findLiveToken, hashToken, type LiveToken } from './data/tokens.ts';
import type { User } from './data/users.ts';
import { ShortLivedCache } from './short-lived-cache.ts';

/** Tokens looked up recently are remembered this long: a token revoked through another instance stops working within it. */
export const TOKEN_CACHE_TTL_MS = 1_000;
const MAX_CACHED_TOKENS = 10_000;

/**
 * Bearer-token sessions: whom a token belongs to, and revoking tokens. Live tokens are cached
 * briefly (keyed by their hash, so the cache holds no usable token); revoking through this
 * instance takes effect here at once.
 */
export class Sessions {
  private readonly cache: ShortLivedCache<LiveToken | null>;

  constructor(
    private readonly db: Queryable,
    { ttlMs = TOKEN_CACHE_TTL_MS, now }: { ttlMs?: number; now?: () => number } = {},
  ) {
    this.cache = new ShortLivedCache({
      ttlMs,
      maxEntries: MAX_CACHED_TOKENS,
      now,
      // Unknown tokens are not remembered: junk must not push live tokens out.
      validUntil: (live) => live?.expiry.getTime() ?? 0,
    });
  }

  /** The user `token` authenticates, or null for an unknown, expired or revoked token. */
  async userFor(token: string): Promise<User | null> {
    const hash = hashToken(token);
    const live = await this.cache.get(hash.toString('base64'), () => findLiveToken(this.db, hash));
    return live?.user ?? null;
  }

  async revoke(token: string): Promise<void> {
    const hash = hashToken(token);
    await deleteToken(this.db, hash);
    const key = hash.toString('base64');
    this.cache.invalidate((cached) => cached === key);
  }

  async revokeAllForUser(userId: number): Promise<number> {
    const revoked = await deleteAllTokensForUser(this.db, userId);
    this.cache.invalidate((_, live) => live?.user.id === userId);
    return revoked;
  }
}
