/**
 * OTP_TEST_NUMBERS: numbers whose code is fixed and never sent (app-store review, demos). With
 * ENV=production they work only before OTP_TEST_NUMBERS_UNTIL, so a forgotten list expires.
 */
export class TestNumbers {
  private readonly activeUntil: number;

  constructor(
    private readonly codes: ReadonlyMap<string, string>,
    settings: { production: boolean; until: Date | undefined },
    private readonly now: () => number = Date.now,
  ) {
    this.activeUntil = settings.production ? (settings.until?.getTime() ?? -Infinity) : Infinity;
  }

  get count(): number {
    return this.codes.size;
  }

  /** The fixed code of `e164` (E.164) while test numbers are in force; undefined otherwise. */
  codeFor(e164: string): string | undefined {
    if (this.codes.size === 0 || this.now() >= this.activeUntil) return undefined;
    return this.codes.get(e164);
  }
}
