import type { Redis } from 'ioredis';
import type { ChallengeStore, StoredChallenge } from './store.ts';

// Both scripts act only if the challenge is still the one that was read (same id), so a challenge
// that was replaced in between is neither consumed nor charged.
const CONSUME = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'attempts')) >= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

const RECORD_FAILURE = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** OTP challenges as Redis hashes `otp:<number>` that expire with their TTL. */
export class RedisChallengeStore implements ChallengeStore {
  constructor(private readonly redis: Redis) {}

  private key(phoneNumber: string): string {
    return `otp:${phoneNumber}`;
  }

  async replace(phoneNumber: string, challenge: Omit<StoredChallenge, 'attempts'>, ttlMs: number): Promise<void> {
    const key = this.key(phoneNumber);
    const fields = { id: challenge.id, hash: Buffer.from(challenge.codeHash).toString('hex'), name: challenge.name, attempts: 0 };
    const results = await this.redis.multi().del(key).hset(key, fields).pexpire(key, Math.ceil(ttlMs)).exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction was discarded');
  }

  async find(phoneNumber: string, maxAttempts: number): Promise<StoredChallenge | null> {
    const fields = await this.redis.hgetall(this.key(phoneNumber));
    if (!fields.id || !fields.hash || fields.name === undefined) return null;
    const attempts = Number(fields.attempts ?? 0);
    if (attempts >= maxAttempts) return null;
    return { id: fields.id, codeHash: Buffer.from(fields.hash, 'hex'), name: fields.name, attempts };
  }

  async consume(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean> {
    return (await this.redis.eval(CONSUME, 1, this.key(phoneNumber), id, maxAttempts)) === 1;
  }

  async recordFailure(phoneNumber: string, id: string, maxAttempts: number): Promise<boolean> {
    return (await this.redis.eval(RECORD_FAILURE, 1, this.key(phoneNumber), id, maxAttempts)) === 1;
  }

  async deleteExpired(): Promise<number> {
    return 0;
  }
}
