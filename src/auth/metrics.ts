import { Counter, Gauge, type Registry } from 'prom-client';
import type { Metrics } from '../platform/metrics.ts';

/**
 * The SMS budget shared by every instance, by share: each share's size, and how much of it is used
 * (read from Redis or the database at each scrape).
 */
export interface SmsBudgetSource {
  limits: Record<string, number>;
  used: () => Promise<Record<string, number>>;
}

/** What sign-up counts, registered on the registry the platform hands it. */
export class AuthMetrics {
  readonly otpRequests: Counter<'outcome'>;
  readonly otpVerifications: Counter<'outcome'>;
  readonly smsSends: Counter<'outcome'>;
  readonly rateLimitRefusals: Counter<'limit'>;

  constructor(platform: Metrics, smsBudget?: SmsBudgetSource) {
    const { registry } = platform;
    this.rateLimitRefusals = platform.rateLimitRefusals;
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['outcome'], registers: [registry] });
    this.otpRequests = counter(
      'otp_requests_total',
      'Requests for a one-time code, by outcome (sent, or the error code of the refusal)',
    );
    this.otpVerifications = counter(
      'otp_verifications_total',
      'Attempts to verify a one-time code, by outcome (verified, or the error code of the refusal)',
    );
    this.smsSends = counter(
      'sms_sends_total',
      'Codes handed to the SMS provider, by final outcome after retries (sent; failed; logged: SMS_PROVIDER=console, nothing sent)',
    );
    if (smsBudget) registerSmsBudget(registry, smsBudget);
  }
}

/** Read from Redis or the database at each scrape, so every instance reports the same value. */
function registerSmsBudget(registry: Registry, { limits, used }: SmsBudgetSource): void {
  const sum = (values: Record<string, number>) => Object.values(values).reduce((total, value) => total + value, 0);
  const read = () => used().catch(() => undefined);
  new Gauge({
    name: 'sms_budget_reserved',
    // Not the codes sent: instances take sends from the budget in blocks (up to 10) and hand them out
    // from memory. sms_sends_total{outcome="sent"}, summed over instances, counts what really went out.
    help: 'Sends reserved from the current hour of SMS_PER_HOUR by every instance together, in blocks of up to 10 (ahead of the codes really sent: see sms_sends_total)',
    registers: [registry],
    // A read that fails reports NaN rather than failing the whole scrape: the other metrics still
    // arrive while the store is down.
    async collect() {
      const values = await read();
      this.set(values ? sum(values) : NaN);
    },
  });
  new Gauge({
    name: 'sms_budget_limit',
    help: 'Text messages allowed in a budget window, by every instance together',
    registers: [registry],
  }).set(sum(limits));
  new Gauge({
    name: 'sms_budget_share_used',
    help: 'Sends reserved in the current budget window from each share (known numbers, new numbers), in blocks of up to 10 like sms_budget_reserved',
    labelNames: ['share'] as const,
    registers: [registry],
    async collect() {
      const values = await read();
      for (const share of Object.keys(limits)) this.set({ share }, values?.[share] ?? NaN);
    },
  });
  const shareLimit = new Gauge({
    name: 'sms_budget_share_limit',
    help: 'Text messages allowed in a budget window from each share (known numbers, new numbers)',
    labelNames: ['share'] as const,
    registers: [registry],
  });
  for (const [share, limit] of Object.entries(limits)) shareLimit.set({ share }, limit);
}
