/**
 * A schema registry for one test file: an embedded Apicurio Registry started before the file's
 * tests and stopped after them, unless SCHEMA_REGISTRY_URL names a running one (its
 * Confluent-compatible base URL). The first run on a machine fetches Apicurio from Maven Central.
 */
import { after, before } from 'node:test';
import { type EmbeddedRegistry, startRegistry } from '../../src/broker/embedded-registry.ts';

export interface TestRegistry {
  /** The Confluent-compatible base URL; available once the file's `before` hooks have run. */
  readonly url: string;
}

export function useSchemaRegistry(): TestRegistry {
  let registry: EmbeddedRegistry | undefined;
  let url = process.env.SCHEMA_REGISTRY_URL;
  before(
    async () => {
      if (url !== undefined && url !== '') return;
      registry = await startRegistry({ log: (line) => process.stderr.write(`test registry: ${line}\n`) });
      url = registry.url;
    },
    { timeout: 600_000 },
  );
  after(async () => {
    await registry?.stop();
  });
  return {
    get url(): string {
      if (url === undefined || url === '') throw new Error('the schema registry is not started yet: read `url` inside a test');
      return url;
    },
  };
}
