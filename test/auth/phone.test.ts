import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateOtp, hashOtp, otpHashesMatch } from '../../src/auth/otp/code.ts';
import { maskPhoneNumber, normaliseName, normalisePhoneNumber } from '../../src/auth/phone.ts';

test('phone numbers: E.164 and national numbers of DEFAULT_COUNTRY become E.164', () => {
  for (const input of ['+919876543210', '9876543210', '98765 43210', '098765-43210', '+91 (98765) 43210']) {
    assert.equal(normalisePhoneNumber(input, 'IN'), '+919876543210', input);
  }
  assert.equal(normalisePhoneNumber('(415) 555-2671', 'US'), '+14155552671');
  assert.equal(normalisePhoneNumber('+14155552671', 'IN'), '+14155552671', 'a + number ignores the default region');
});

test('phone numbers: full validity, not just length; no extensions, no surrounding text', () => {
  for (const input of [
    '5555555555', // right length for India, but no such number range
    '+12120550100', // US exchange cannot start with 0
    '+91 98765 4321', // too short
    '12345',
    'abc',
    '',
    '+',
    '+1 212 555 0100 ext 5',
    'call +919876543210',
    '+919876543210 now',
  ]) {
    assert.equal(normalisePhoneNumber(input, 'IN'), null, input);
  }
});

test('names: trimmed, 1–100 characters (not UTF-16 units), control characters refused', () => {
  assert.deepEqual(normaliseName('  Asha  '), { name: 'Asha' });
  assert.deepEqual(normaliseName('x'.repeat(100)), { name: 'x'.repeat(100) });
  assert.deepEqual(normaliseName(` ${'é'.repeat(100)} `), { name: 'é'.repeat(100) });
  assert.deepEqual(normaliseName('😀'.repeat(100)), { name: '😀'.repeat(100) }, 'emoji count as one character each');
  assert.deepEqual(normaliseName('x'.repeat(101)), { error: 'name must be at most 100 characters' });
  assert.deepEqual(normaliseName(''), { error: 'name must not be empty' });
  assert.deepEqual(normaliseName('   '), { error: 'name must not be empty' });
  for (const bad of ['As\u0000ha', 'Asha\n', '\tAsha', 'A\u007fsha', 'A\u0085sha']) {
    assert.deepEqual(normaliseName(bad), { error: 'name must not contain control characters' }, JSON.stringify(bad));
  }
});

test('masked numbers keep the country code start and the last four digits', () => {
  assert.equal(maskPhoneNumber('+919876543210'), '+91******3210');
  assert.equal(maskPhoneNumber('+14155552671'), '+14*****2671');
});

test('codes: OTP_LENGTH digits, leading zeros included', () => {
  for (const length of [4, 6, 10]) {
    const codes = Array.from({ length: 2_000 }, () => generateOtp(length));
    assert.ok(
      codes.every((code) => new RegExp(`^[0-9]{${length}}$`).test(code)),
      `length ${length}`,
    );
    // P(no code starting with 0 in 2000) = 0.9^2000, about 1e-92.
    assert.ok(
      codes.some((code) => code.startsWith('0')),
      `length ${length}: no leading zero`,
    );
  }
});

test('code hashes are keyed by the secret and bound to the number', () => {
  const hash = hashOtp('secret-one-long-enough', '+919876543210', '123456');
  assert.equal(hash.length, 32);
  assert.ok(otpHashesMatch(hash, hashOtp('secret-one-long-enough', '+919876543210', '123456')));
  assert.ok(!otpHashesMatch(hash, hashOtp('secret-two-long-enough', '+919876543210', '123456')));
  assert.ok(!otpHashesMatch(hash, hashOtp('secret-one-long-enough', '+919876543211', '123456')));
  assert.ok(!otpHashesMatch(hash, hashOtp('secret-one-long-enough', '+919876543210', '123457')));
  assert.ok(!otpHashesMatch(hash, hash.subarray(0, 16)), 'a different length is a mismatch, not an exception');
});
