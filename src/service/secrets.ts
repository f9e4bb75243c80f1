/**
 * Which Kafka property values are secrets, so that no response, log line or error of the service
 * shows them. A secret (a password, a private key, a JAAS line carrying a password) is used to
 * connect and for nothing else; everywhere else it reads `[redacted]`.
 */
import { REDACTED, isSecretProperty, redactText } from '../kafka/secret-properties.ts';

export { REDACTED, isSecretProperty };

/** A deep copy of a JSON value with every secret property's value replaced by `[redacted]`. */
export function redactJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
    copy[name] = isSecretProperty(name) && (typeof inner === 'string' || typeof inner === 'number') ? REDACTED : redactJson(inner);
  }
  return copy;
}

/** Every secret string inside a JSON value, to scrub from texts that came from elsewhere (a client's error). */
export function secretStrings(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) secretStrings(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
      if (isSecretProperty(name) && (typeof inner === 'string' || typeof inner === 'number') && String(inner).length > 0) into.add(String(inner));
      else secretStrings(inner, into);
    }
  }
  return into;
}

/** The text with each secret replaced by `[redacted]`. */
export function scrub(text: string, secrets: Iterable<string>): string {
  return redactText(text, [...secrets]);
}
