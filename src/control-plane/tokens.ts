/**
 * Runner tokens and the admin key: generation, hashing, preview, constant-time comparison.
 * Plaintext never reaches the database or a log; only sha256 and an 8-character preview do.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TOKEN_PATTERN } from '../protocol/types.js';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** The largest multiple of 62 below 256: bytes at or above it are dropped, so `byte % 62` stays unbiased. */
const UNBIASED_LIMIT = 256 - (256 % ALPHANUMERIC.length);

export const TOKEN_PREFIX = 'fos_';
export const TOKEN_PREVIEW_LENGTH = 8;
/** Deliberately not `fos_` + 32: an admin key can never be mistaken for (or accepted as) a runner token. */
const ADMIN_KEY_PREFIX = 'fosadmin_';

/** `length` letters/digits from the OS CSPRNG, by rejection sampling (no modulo bias). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < UNBIASED_LIMIT) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function generateRunnerToken(): string {
  return TOKEN_PREFIX + randomAlphanumeric(32);
}

export function generateAdminKey(): string {
  return ADMIN_KEY_PREFIX + randomAlphanumeric(40);
}

export function isRunnerTokenFormat(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A secret as a request presents it, with its sha256, computed once for every check of that request. */
export interface PresentedSecret {
  secret: string;
  hash: string;
}

export const presentedSecret = (secret: string): PresentedSecret => ({ secret, hash: sha256Hex(secret) });

export function tokenPreview(token: string): string {
  return token.slice(0, TOKEN_PREVIEW_LENGTH);
}

/** Constant-time equality of two hex digests of equal length (false, without timing leaks, otherwise). */
export function hashesEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Compares a presented secret with the expected one in constant time, whatever their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  return hashesEqual(sha256Hex(presented), sha256Hex(expected));
}

/** The secret of an `authorization: Bearer <secret>` header, or undefined. */
export function bearerSecret(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
