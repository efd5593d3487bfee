import type { Redis } from 'ioredis';
import type { Queryable } from '../platform/db/database.ts';
import type { Clock } from './rate-limit/limiter.ts';
import { HOUR_MS } from '../platform/calendar.ts';

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
  /** Sends taken this hour by every instance (what they hold in hand included). */
  used(): Promise<number>;
  /** Drops past hours (Redis expires them itself); returns how many were removed. */
  prune(): Promise<number>;
}

/** What a store answers when asked for up to `count` sends in the hour starting at `hourStart`. */
type Grant = { granted: number } | { granted: 0; firstRefusal: boolean };

/**
 * The hour arithmetic both stores share; they only count, in `store`. Each instance takes sends
 * from the store a few at a time (1 % of the budget, at most 10) and hands them out from memory:
 * one write per handful of codes instead of one per code. The total never exceeds the budget; at
 * worst the last few sends of an hour sit unused in another instance's hand.
 */
abstract class HourlyBudget<Store> implements SmsBudget {
  private readonly leaseSize: number;
  private lease = { hourStart: 0, left: 0 };

  constructor(
    protected readonly store: Store,
    protected readonly perHour: number,
    private readonly now: Clock = Date.now,
  ) {
    this.leaseSize = Math.min(10, Math.max(1, Math.floor(perHour / 100)));
  }

  async take(): Promise<BudgetResult> {
    const now = this.now();
    const hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
    if (this.lease.hourStart !== hourStart || this.lease.left === 0) {
      const grant = await this.takeSends(hourStart, this.leaseSize);
      if ('firstRefusal' in grant) {
        return { allowed: false, retryAfterMs: hourStart + HOUR_MS - now, firstRefusal: grant.firstRefusal };
      }
      // Sends left from a past hour are worthless; concurrent leases of this hour add up.
      this.lease = { hourStart, left: (this.lease.hourStart === hourStart ? this.lease.left : 0) + grant.granted };
    }
    this.lease.left--;
    return { allowed: true };
  }

  async prune(): Promise<number> {
    return this.deleteBefore(Math.floor(this.now() / HOUR_MS) * HOUR_MS);
  }

  used(): Promise<number> {
    return this.countTaken(Math.floor(this.now() / HOUR_MS) * HOUR_MS);
  }

  protected abstract countTaken(hourStart: number): Promise<number>;
  protected abstract takeSends(hourStart: number, count: number): Promise<Grant>;
  protected abstract deleteBefore(hourStart: number): Promise<number>;
}

// KEYS: the hour's count, the hour's alert flag. ARGV: budget, sends wanted, ms the keys are kept.
// Returns the sends granted; 0 when none are left, -1 for the hour's first such answer.
const TAKE = `
local left = tonumber(ARGV[1]) - tonumber(redis.call('GET', KEYS[1]) or '0')
if left > 0 then
  local granted = math.min(left, tonumber(ARGV[2]))
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return granted
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return -1 end
return 0`;

export class RedisSmsBudget extends HourlyBudget<Redis> {
  protected async countTaken(hourStart: number): Promise<number> {
    return Number((await this.store.get(`sms-budget:${hourStart}`)) ?? 0);
  }

  protected async takeSends(hourStart: number, count: number): Promise<Grant> {
    const keys = [`sms-budget:${hourStart}`, `sms-budget-alert:${hourStart}`];
    // Kept an hour past their own, for instances whose clocks lag a little.
    const result = (await this.store.eval(TAKE, 2, ...keys, this.perHour, count, 2 * HOUR_MS)) as number;
    return result > 0 ? { granted: result } : { granted: 0, firstRefusal: result === -1 };
  }

  /** Redis expires past hours itself. */
  protected async deleteBefore(): Promise<number> {
    return 0;
  }
}

/** Without Redis: one row per hour in `sms_budget`, so instances on one PostgreSQL share it. */
export class DatabaseSmsBudget extends HourlyBudget<Queryable> {
  protected async countTaken(hourStart: number): Promise<number> {
    const { rows } = await this.store.query<{ sent: number }>('SELECT sent FROM sms_budget WHERE hour_start = $1', [
      new Date(hourStart),
    ]);
    return rows[0]?.sent ?? 0;
  }

  protected async takeSends(hourStart: number, count: number): Promise<Grant> {
    const hour = new Date(hourStart);
    // Both SET expressions read the row as it was: last_grant is what this statement added.
    const { rows } = await this.store.query<{ granted: number }>(
      `INSERT INTO sms_budget (hour_start, sent, last_grant) VALUES ($1, LEAST($2::int, $3::int), LEAST($2::int, $3::int))
       ON CONFLICT (hour_start) DO UPDATE
         SET sent = sms_budget.sent + LEAST($2, $3 - sms_budget.sent), last_grant = LEAST($2, $3 - sms_budget.sent)
         WHERE sms_budget.sent < $3
       RETURNING last_grant AS granted`,
      [hour, count, this.perHour],
    );
    if (rows[0]) return { granted: rows[0].granted };
    const alert = await this.store.query('UPDATE sms_budget SET alerted = true WHERE hour_start = $1 AND NOT alerted', [hour]);
    return { granted: 0, firstRefusal: alert.rowCount === 1 };
  }

  protected async deleteBefore(hourStart: number): Promise<number> {
    const { rowCount } = await this.store.query('DELETE FROM sms_budget WHERE hour_start < $1', [new Date(hourStart)]);
    return rowCount;
  }
}
