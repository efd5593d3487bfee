/**
 * Are OTP codes uniform? Generates N codes with the app's generator and, for each digit position,
 * compares the digit counts with the uniform expectation (Pearson's chi-square, 9 degrees of
 * freedom). A position fails above 27.88, the critical value at p = 0.001. As a control, the same
 * check runs on the original's method (`random byte % 10000`), which it must reject.
 *
 *   npx tsx bench/otp-distribution.ts [count=100000] [length=6]
 *
 * Exits 1 if the app's codes fail (or the control passes: the check would be too weak).
 */
import { randomBytes } from 'node:crypto';
import { generateOtp } from '../src/auth/otp/code.ts';

const CRITICAL_P05 = 16.919;
const CRITICAL_P001 = 27.877;

const count = Number(process.argv[2] ?? 100_000);
const length = Number(process.argv[3] ?? 6);

interface PositionResult {
  position: number;
  chiSquare: number;
  /** Largest |share of a digit − 10 %|, in percentage points. */
  maxDeviationPoints: number;
}

function check(codes: string[], digits: number): PositionResult[] {
  const expected = codes.length / 10;
  return Array.from({ length: digits }, (_, position) => {
    const counts = new Array<number>(10).fill(0);
    for (const code of codes) counts[Number(code[position])]!++;
    const chiSquare = counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    const maxDeviationPoints = Math.max(...counts.map((observed) => Math.abs(observed / codes.length - 0.1) * 100));
    return { position: position + 1, chiSquare, maxDeviationPoints };
  });
}

function report(title: string, results: PositionResult[]): boolean {
  console.log(title);
  let passed = true;
  for (const r of results) {
    const ok = r.chiSquare <= CRITICAL_P001;
    passed &&= ok;
    const chi = r.chiSquare.toFixed(2).padStart(9);
    console.log(
      `  position ${r.position}: chi² = ${chi}  max deviation ${r.maxDeviationPoints.toFixed(3)} pp  ${ok ? 'uniform' : 'NOT uniform'}`,
    );
  }
  return passed;
}

const started = performance.now();
const codes = Array.from({ length: count }, () => generateOtp(length));
const elapsed = performance.now() - started;

// Drawing N of 10^length equally likely codes leaves about 10^length · (1 − e^(−N / 10^length)) distinct.
const expectedDistinct = 10 ** length * (1 - Math.exp(-count / 10 ** length));
console.log(
  `${count} codes of ${length} digits in ${elapsed.toFixed(0)} ms; ${new Set(codes).size} distinct (uniform: about ${expectedDistinct.toFixed(0)})`,
);
console.log(`chi-square critical values, 9 degrees of freedom: ${CRITICAL_P05} (p = 0.05), ${CRITICAL_P001} (p = 0.001)`);
const appPassed = report('app (crypto.randomInt):', check(codes, length));

const original = Array.from({ length: count }, () => String(randomBytes(1)[0]! % 10_000).padStart(4, '0'));
const originalPassed = report(
  `control, the original's random byte % 10000 (${new Set(original).size} distinct codes of 4 digits):`,
  check(original, 4),
);
console.log(originalPassed ? 'control NOT rejected: the check is too weak' : 'control rejected, as it should be');

process.exit(appPassed && !originalPassed ? 0 : 1);
