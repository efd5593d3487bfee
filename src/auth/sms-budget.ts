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

/** What a store answers for one send in the hour starting at `hourStart`. */
type Slot = 'taken' | 'refused' | 'first-refusal';

/** The hour arithmetic both stores share; they only count, in `store`. */
abstract class HourlyBudget<Store> implements SmsBudget {
  constructor(
    protected readonly store: Store,
    protected readonly perHour: number,
    private readonly now: Clock = Date.now,
  ) {}

  async take(): Promise<BudgetResult> {
    const now = this.now();
    const hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
    const slot = await this.takeSlot(hourStart);
    if (slot === 'taken') return { allowed: true };
    return { allowed: false, retryAfterMs: hourStart + HOUR_MS - now, firstRefusal: slot === 'first-refusal' };
  }

  async prune(): Promise<number> {
    return this.deleteBefore(Math.floor(this.now() / HOUR_MS) * HOUR_MS);
  }

  protected abstract takeSlot(hourStart: number): Promise<Slot>;
  protected abstract deleteBefore(hourStart: number): Promise<number>;
}

// KEYS: the hour's count, the hour's alert flag. ARGV: budget, ms the keys are kept.
const TAKE = `
local sent = tonumber(redis.call('GET', KEYS[1]) or '0')
if sent < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return -1 end
return 0`;

export class RedisSmsBudget extends HourlyBudget<Redis> {
  protected async takeSlot(hourStart: number): Promise<Slot> {
    const keys = [`sms-budget:${hourStart}`, `sms-budget-alert:${hourStart}`];
    // Kept an hour past their own, for instances whose clocks lag a little.
    const result = (await this.store.eval(TAKE, 2, ...keys, this.perHour, 2 * HOUR_MS)) as number;
    return result === 1 ? 'taken' : result === -1 ? 'first-refusal' : 'refused';
  }

  /** Redis expires past hours itself. */
  protected async deleteBefore(): Promise<number> {
    return 0;
  }
}

/** Without Redis: one row per hour in `sms_budget`, so instances on one PostgreSQL share it. */
export class DatabaseSmsBudget extends HourlyBudget<Queryable> {
  protected async takeSlot(hourStart: number): Promise<Slot> {
    const hour = new Date(hourStart);
    const { rowCount } = await this.store.query(
      `INSERT INTO sms_budget (hour_start, sent) VALUES ($1, 1)
       ON CONFLICT (hour_start) DO UPDATE SET sent = sms_budget.sent + 1 WHERE sms_budget.sent < $2`,
      [hour, this.perHour],
    );
    if (rowCount === 1) return 'taken';
    const alert = await this.store.query('UPDATE sms_budget SET alerted = true WHERE hour_start = $1 AND NOT alerted', [hour]);
    return alert.rowCount === 1 ? 'first-refusal' : 'refused';
  }

  protected async deleteBefore(hourStart: number): Promise<number> {
    const { rowCount } = await this.store.query('DELETE FROM sms_budget WHERE hour_start < $1', [new Date(hourStart)]);
    return rowCount;
  }
}
