import type { Redis } from 'ioredis';
import type { Database } from '../platform/db/database.ts';
import type { Clock } from './rate-limit/limiter.ts';

const HOUR_MS = 60 * 60 * 1000;

/** Who a code goes to: a number with an account, or a new one (and its country calling code). */
export type Recipient = { known: true } | { known: false; callingCode: string };

/** The shares of SMS_PER_HOUR, as metrics label them. */
export const SMS_SHARES = ['known', 'new'] as const;
export type SmsShareName = (typeof SMS_SHARES)[number];

export type BudgetResult =
  | { allowed: true }
  | {
      allowed: false;
      /** Until the next hour's budget opens. */
      retryAfterMs: number;
    };

export interface SmsBudgetSettings {
  perHour: number;
  reservedForKnownPercent: number;
  /** How many country calling codes new numbers may come from: with more than one, each gets half the new share. */
  callingCodes: number | 'any';
}

/** The alerts an operator acts on; each is logged once per hour across all instances. */
export interface BudgetAlerts {
  halfUsed(used: number, perHour: number): void;
  /** `counters`: the counters that had nothing left between them (`known`, or `new+new:91`). */
  shareSpent(counters: string): void;
}

/**
 * SMS_PER_HOUR: codes sent per clock hour by every instance together, split so that pumping codes
 * to new numbers cannot lock out people who have signed in before. Numbers with an account draw
 * on their reserved share (SMS_RESERVED_FOR_KNOWN_PERCENT) and, once it is spent, on the new
 * numbers' share; new numbers draw on theirs only, at most half of it for one country calling code
 * (when more than one is allowed), so one pumped destination leaves the others theirs. A fixed
 * window, not a sliding one: a budget caps spending, and a clock hour is what a bill shows.
 */
export interface SmsBudget {
  take(recipient: Recipient): Promise<BudgetResult>;
  /** Sends taken this hour by every instance from each share (what they hold in hand included). */
  used(): Promise<Record<SmsShareName, number>>;
  /** Each share's size. */
  readonly limits: Record<SmsShareName, number>;
  /** Drops past hours (Redis expires them itself); returns how many were removed. */
  prune(): Promise<number>;
}

/** A counter of the hour, by name (`known`, `new`, `new:91`), and how much it may reach. */
interface Counter {
  name: string;
  limit: number;
}

/**
 * The hour arithmetic both stores share; they only count, in `store`. Each instance takes sends
 * from the store a few at a time (1 % of the share, at most 10) and hands them out from memory:
 * one write per handful of codes instead of one per code. The total never exceeds a share; at
 * worst the last few sends of an hour sit unused in another instance's hand.
 */
abstract class HourlyBudget<Store> implements SmsBudget {
  readonly limits: Record<SmsShareName, number>;
  private readonly perCallingCode: number;
  private readonly leases = new Map<string, { hourStart: number; left: number }>();
  private halfUsedHour = 0;

  constructor(
    protected readonly store: Store,
    private readonly settings: SmsBudgetSettings,
    private readonly alerts: BudgetAlerts,
    private readonly now: Clock = Date.now,
  ) {
    const known = Math.floor((settings.perHour * settings.reservedForKnownPercent) / 100);
    this.limits = { known, new: settings.perHour - known };
    this.perCallingCode = settings.callingCodes === 1 ? this.limits.new : Math.ceil(this.limits.new / 2);
  }

  async take(recipient: Recipient): Promise<BudgetResult> {
    const hourStart = Math.floor(this.now() / HOUR_MS) * HOUR_MS;
    if (recipient.known && (await this.takeFrom(hourStart, [{ name: 'known', limit: this.limits.known }])))
      return { allowed: true };
    // Known numbers whose share is spent fall back on the new numbers' share.
    const counters = [{ name: 'new', limit: this.limits.new }];
    if (!recipient.known) counters.push({ name: `new:${recipient.callingCode}`, limit: this.perCallingCode });
    if (await this.takeFrom(hourStart, counters)) return { allowed: true };
    return { allowed: false, retryAfterMs: hourStart + HOUR_MS - this.now() };
  }

  async prune(): Promise<number> {
    return this.deleteBefore(Math.floor(this.now() / HOUR_MS) * HOUR_MS);
  }

  async used(): Promise<Record<SmsShareName, number>> {
    const hourStart = Math.floor(this.now() / HOUR_MS) * HOUR_MS;
    const [known, fresh] = await Promise.all([this.countTaken(hourStart, 'known'), this.countTaken(hourStart, 'new')]);
    return { known, new: fresh };
  }

  /** One send from the instance's lease on these counters, taking a new lease when it is used up. */
  private async takeFrom(hourStart: number, counters: Counter[]): Promise<boolean> {
    const key = counters.map((counter) => counter.name).join('+');
    const lease = this.leases.get(key);
    if (lease?.hourStart === hourStart && lease.left > 0) {
      lease.left--;
      return true;
    }
    const size = Math.min(10, Math.max(1, Math.floor(Math.min(...counters.map((counter) => counter.limit)) / 100)));
    const granted = await this.takeSends(hourStart, counters, size);
    if (granted === 0) {
      if (await this.alertOnce(hourStart, `spent:${key}`)) this.alerts.shareSpent(key);
      return false;
    }
    // Sends left from a past hour are worthless; concurrent leases of this hour add up.
    this.leases.set(key, { hourStart, left: (lease?.hourStart === hourStart ? lease.left : 0) + granted - 1 });
    await this.checkHalfUsed(hourStart);
    return true;
  }

  /** Once an hour, by whichever instance sees it first; each instance stops looking once it is said. */
  private async checkHalfUsed(hourStart: number): Promise<void> {
    if (this.halfUsedHour === hourStart) return;
    const used = await this.used();
    const total = used.known + used.new;
    if (total * 2 < this.settings.perHour) return;
    this.halfUsedHour = hourStart;
    if (await this.alertOnce(hourStart, 'half')) this.alerts.halfUsed(total, this.settings.perHour);
  }

  protected abstract countTaken(hourStart: number, counter: string): Promise<number>;
  /** Takes up to `count` sends from every counter at once (the least any of them has left); returns how many. */
  protected abstract takeSends(hourStart: number, counters: Counter[], count: number): Promise<number>;
  /** True for the first call with this name in this hour, across all instances. */
  protected abstract alertOnce(hourStart: number, name: string): Promise<boolean>;
  protected abstract deleteBefore(hourStart: number): Promise<number>;
}

// KEYS: the hour's counters. ARGV: sends wanted, ms the keys are kept, then each counter's limit.
// Returns the sends granted: the least any counter has left, taken from all of them.
const TAKE = `
local granted = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local left = tonumber(ARGV[2 + i]) - tonumber(redis.call('GET', key) or '0')
  if left < granted then granted = left end
end
if granted <= 0 then return 0 end
for _, key in ipairs(KEYS) do
  redis.call('INCRBY', key, granted)
  redis.call('PEXPIRE', key, ARGV[2])
end
return granted`;

export class RedisSmsBudget extends HourlyBudget<Redis> {
  private key(hourStart: number, counter: string): string {
    return `sms-budget:${hourStart}:${counter}`;
  }

  protected async countTaken(hourStart: number, counter: string): Promise<number> {
    return Number((await this.store.get(this.key(hourStart, counter))) ?? 0);
  }

  protected async takeSends(hourStart: number, counters: Counter[], count: number): Promise<number> {
    const keys = counters.map((counter) => this.key(hourStart, counter.name));
    // Kept an hour past their own, for instances whose clocks lag a little.
    const limits = counters.map((counter) => counter.limit);
    return (await this.store.eval(TAKE, keys.length, ...keys, count, 2 * HOUR_MS, ...limits)) as number;
  }

  protected async alertOnce(hourStart: number, name: string): Promise<boolean> {
    return (await this.store.set(this.key(hourStart, `alert:${name}`), '1', 'PX', 2 * HOUR_MS, 'NX')) === 'OK';
  }

  /** Redis expires past hours itself. */
  protected async deleteBefore(): Promise<number> {
    return 0;
  }
}

/** Without Redis: one row per counter and hour in `sms_budget`, so instances on one PostgreSQL share it. */
export class DatabaseSmsBudget extends HourlyBudget<Database> {
  protected async countTaken(hourStart: number, counter: string): Promise<number> {
    const { rows } = await this.store.query<{ sent: number }>(
      'SELECT sent FROM sms_budget WHERE hour_start = $1 AND share = $2',
      [new Date(hourStart), counter],
    );
    return rows[0]?.sent ?? 0;
  }

  protected async takeSends(hourStart: number, counters: Counter[], count: number): Promise<number> {
    const hour = new Date(hourStart);
    const names = counters.map((counter) => counter.name).sort();
    return this.store.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO sms_budget (hour_start, share, sent, last_grant)
         SELECT $1, share, 0, 0 FROM unnest($2::text[]) AS share ON CONFLICT (hour_start, share) DO NOTHING`,
        [hour, names],
      );
      // Locked in one order, so that two instances taking overlapping counters cannot deadlock.
      const { rows } = await tx.query<{ share: string; sent: number }>(
        'SELECT share, sent FROM sms_budget WHERE hour_start = $1 AND share = ANY($2::text[]) ORDER BY share FOR UPDATE',
        [hour, names],
      );
      const sent = new Map(rows.map((row) => [row.share, row.sent]));
      const granted = Math.max(0, Math.min(count, ...counters.map((counter) => counter.limit - (sent.get(counter.name) ?? 0))));
      if (granted > 0) {
        await tx.query(
          'UPDATE sms_budget SET sent = sent + $3, last_grant = $3 WHERE hour_start = $1 AND share = ANY($2::text[])',
          [hour, names, granted],
        );
      }
      return granted;
    });
  }

  protected async alertOnce(hourStart: number, name: string): Promise<boolean> {
    const { rowCount } = await this.store.query(
      `INSERT INTO sms_budget (hour_start, share, sent, last_grant, alerted) VALUES ($1, $2, 0, 0, true)
       ON CONFLICT (hour_start, share) DO NOTHING`,
      [new Date(hourStart), `alert:${name}`],
    );
    return rowCount === 1;
  }

  protected async deleteBefore(hourStart: number): Promise<number> {
    const { rowCount } = await this.store.query('DELETE FROM sms_budget WHERE hour_start < $1', [new Date(hourStart)]);
    return rowCount;
  }
}
