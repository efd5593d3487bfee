import type { Redis } from 'ioredis';
import type { Queryable } from '../platform/db/database.ts';
import type { Clock } from './rate-limit/limiter.ts';

const HOUR_MS = 60 * 60 * 1000;

export type BudgetResult =
  | { allowed: true }
  | {
      allowed: false;
      /** Until the next hour's budget opens. */
      retryAfterMs: number;
      /** True for exactly one refusal per hour across all instances: the one that raises the alert. */
      firstRefusal: boolean;
    };

/**
 * SMS_PER_HOUR: codes sent per clock hour by every instance together. A fixed window, not a
 * sliding one: a budget caps spending, and a clock hour is what an operator reads on a bill.
 */
export interface SmsBudget {
  take(): Promise<BudgetResult>;
  /** Drops past hours (Redis expires them itself); returns how many were removed. */
  prune(): Promise<number>;
}

function hourOf(now: number): { start: number; retryAfterMs: number } {
  const start = Math.floor(now / HOUR_MS) * HOUR_MS;
  return { start, retryAfterMs: start + HOUR_MS - now };
}

// KEYS: this hour's count, this hour's alert flag. ARGV: budget, ms until the hour's keys may go.
const TAKE = `
local sent = tonumber(redis.call('GET', KEYS[1]) or '0')
if sent < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return -1 end
return 0`;

export class RedisSmsBudget implements SmsBudget {
  constructor(
    private readonly redis: Redis,
    private readonly perHour: number,
    private readonly now: Clock = Date.now,
  ) {}

  async take(): Promise<BudgetResult> {
    const { start, retryAfterMs } = hourOf(this.now());
    const keys = [`sms-budget:${start}`, `sms-budget-alert:${start}`];
    // Kept a little past the hour so a clock slightly behind still finds its count.
    const result = (await this.redis.eval(TAKE, 2, ...keys, this.perHour, retryAfterMs + HOUR_MS)) as number;
    if (result === 1) return { allowed: true };
    return { allowed: false, retryAfterMs, firstRefusal: result === -1 };
  }

  async prune(): Promise<number> {
    return 0;
  }
}

/** Without Redis: one row per hour in `sms_budget`, so instances on one PostgreSQL share it. */
export class DatabaseSmsBudget implements SmsBudget {
  constructor(
    private readonly db: Queryable,
    private readonly perHour: number,
    private readonly now: Clock = Date.now,
  ) {}

  async take(): Promise<BudgetResult> {
    const { start, retryAfterMs } = hourOf(this.now());
    const hour = new Date(start);
    const { rowCount } = await this.db.query(
      `INSERT INTO sms_budget (hour_start, sent) VALUES ($1, 1)
       ON CONFLICT (hour_start) DO UPDATE SET sent = sms_budget.sent + 1 WHERE sms_budget.sent < $2`,
      [hour, this.perHour],
    );
    if (rowCount === 1) return { allowed: true };
    const alert = await this.db.query('UPDATE sms_budget SET alerted = true WHERE hour_start = $1 AND NOT alerted', [hour]);
    return { allowed: false, retryAfterMs, firstRefusal: alert.rowCount === 1 };
  }

  async prune(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM sms_budget WHERE hour_start < $1', [new Date(hourOf(this.now()).start)]);
    return rowCount;
  }
}
