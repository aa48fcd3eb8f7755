import { createHash, createHmac, hash as digestOf, timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from './types.js';

/** Shared building blocks of provider verifiers. Pure. */

export type Digest = 'sha1' | 'sha256' | 'sha512';
export type Encoding = 'hex' | 'base64' | 'base64url';

export function hmac(algorithm: Digest, key: string | Buffer, data: string | Buffer): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

export function hash(algorithm: Digest, data: string | Buffer): Buffer {
  return createHash(algorithm).update(data).digest();
}

/**
 * Constant-time equality of two strings. Lengths are compared through a fixed-size digest so
 * neither the length nor the position of the first difference leaks through timing.
 */
export function safeEqual(expected: string | Buffer, received: string | Buffer): boolean {
  // One-shot digests: no Hash object per side (this runs for every verified webhook).
  const a = digestOf('sha256', expected, 'buffer');
  const b = digestOf('sha256', received, 'buffer');
  return timingSafeEqual(a, b) && Buffer.byteLength(expected) === Buffer.byteLength(received);
}

/** True when `received` matches any of `candidates`, checking every one (no early exit). */
export function matchesAny(expected: string, candidates: readonly string[]): boolean {
  let found = false;
  for (const candidate of candidates) if (safeEqual(expected, candidate)) found = true;
  return found;
}

/** Checks a Unix timestamp (seconds, as text) against `now` (ms) within ±tolerance. */
export function checkTimestamp(
  secondsText: string | undefined,
  now: number,
  toleranceSeconds: number | undefined,
): VerifyResult {
  if (secondsText === undefined || !/^\d{1,12}$/.test(secondsText)) {
    return { ok: false, reason: 'missing or malformed timestamp' };
  }
  if (toleranceSeconds === undefined) return { ok: true };
  const skew = Math.abs(now / 1000 - Number(secondsText));
  return skew <= toleranceSeconds
    ? { ok: true }
    : { ok: false, reason: `timestamp outside the ${toleranceSeconds} s tolerance` };
}

export const OK: VerifyResult = { ok: true };
export function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}
