/**
 * API keys: `apikey:` followed by 32 random bytes in base64url, shown once when created. Only a
 * SHA-256 hash is stored (a key is random, so a slow password hash adds nothing), and a
 * presented key is compared with the stored hashes in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ApiKeyRole = { Read: 'read', Write: 'write' } as const;
export type ApiKeyRole = (typeof ApiKeyRole)[keyof typeof ApiKeyRole];

export const API_KEY_PREFIX = 'apikey:';

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Whether the key's hash equals the stored one; both are 32 bytes, compared in constant time. */
export function apiKeyMatches(key: string, storedHash: Uint8Array): boolean {
  const hash = hashApiKey(key);
  return storedHash.length === hash.length && timingSafeEqual(hash, storedHash);
}
