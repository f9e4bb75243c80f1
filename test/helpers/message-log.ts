/**
 * Every message a test run showed (errors with their causes and properties, warnings, CLI
 * output, metrics, handle descriptions), kept so that one test can search all of them for the
 * secrets the run used.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

export class MessageLog {
  readonly #entries: { readonly source: string; readonly text: string }[] = [];

  add(source: string, text: string): void {
    this.#entries.push({ source, text });
  }

  /** The error's message, stack, causes and own properties, as any log or reporter could show them. */
  addError(source: string, error: unknown): void {
    let current: unknown = error;
    for (let depth = 0; current !== undefined && depth < 8; depth++) {
      if (current instanceof Error) {
        this.add(`${source} (cause ${depth})`, `${current.message}\n${current.stack ?? ''}`);
        current = current.cause;
      } else {
        this.add(`${source} (cause ${depth})`, inspect(current, { depth: 8 }));
        current = undefined;
      }
    }
    this.add(`${source} (inspected)`, inspect(error, { depth: 8, showHidden: true }));
    this.add(`${source} (JSON)`, JSON.stringify(error, Object.getOwnPropertyNames(error ?? {})) ?? '');
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Fails naming the label of each secret found and where, never the secret itself. */
  assertNoSecrets(secrets: Readonly<Record<string, string>>): void {
    const found: string[] = [];
    for (const [label, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 6, `secret ${label} is too short to search for`);
      const pieces = [secret, ...secret.split(/\r?\n/).filter((line) => line.length >= 20 && !line.startsWith('-----'))];
      for (const entry of this.#entries) {
        if (pieces.some((piece) => entry.text.includes(piece))) found.push(`${label} in ${entry.source}`);
      }
    }
    assert.deepEqual(found, [], `secrets appeared in messages: ${found.join('; ')}`);
  }
}
