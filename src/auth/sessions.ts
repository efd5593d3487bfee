import type { Queryable } from '../platform/db/database.ts';
import {
  createToken,
  deleteAllTokensForUser,
  deleteToken,
  findLiveToken,
  hashToken,
  type IssuedToken,
  type LiveToken,
} from './tokens.ts';
import type { User } from './users.ts';
import { ShortLivedCache, type ShortLivedCacheOptions } from '../platform/cache.ts';

/** Tokens looked up recently are remembered this long: a token revoked through another instance stops working within it. */
export const TOKEN_CACHE_TTL_MS = 1_000;
const MAX_CACHED_TOKENS = 10_000;

/**
 * Bearer-token sessions, the only owner of tokens: issuing them, whom a token belongs to, and
 * revoking them. Live tokens are cached
 * briefly (keyed by their hash, so the cache holds no usable token); revoking through this
 * instance takes effect here at once.
 */
export class Sessions {
  private readonly cache: ShortLivedCache<LiveToken | null>;

  constructor(
    private readonly db: Queryable,
    private readonly tokenTtlHours: number,
    {
      ttlMs = TOKEN_CACHE_TTL_MS,
      now,
      countLookup,
    }: Partial<Pick<ShortLivedCacheOptions<LiveToken | null>, 'ttlMs' | 'now' | 'countLookup'>> = {},
  ) {
    this.cache = new ShortLivedCache({
      ttlMs,
      maxEntries: MAX_CACHED_TOKENS,
      now,
      countLookup,
      // Unknown tokens are not remembered: junk holds a slot only while it is looked up.
      validUntil: (live) => live?.expiry.getTime() ?? 0,
    });
  }

  /** A new token for `userId`, valid for TOKEN_TTL_HOURS. */
  issue(userId: number): Promise<IssuedToken> {
    return createToken(this.db, userId, this.tokenTtlHours);
  }

  /** The user `token` authenticates, or null for an unknown, expired or revoked token. */
  async userFor(token: string): Promise<User | null> {
    const hash = hashToken(token);
    const live = await this.cache.get(hash.toString('base64'), () => findLiveToken(this.db, hash));
    return live?.user ?? null;
  }

  /** Revokes `token`; returns 1, or 0 when it was already gone. */
  async revoke(token: string): Promise<number> {
    const hash = hashToken(token);
    const revoked = await deleteToken(this.db, hash);
    const key = hash.toString('base64');
    this.cache.invalidate((cached) => cached === key);
    return revoked;
  }

  async revokeAllForUser(userId: number): Promise<number> {
    const revoked = await deleteAllTokensForUser(this.db, userId);
    this.cache.invalidate((_, live) => live?.user.id === userId);
    return revoked;
  }
}
