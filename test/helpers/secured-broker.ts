/**
 * A broker of the test's own with every kind of secured listener (SASL_PLAINTEXT, SSL, SSL with
 * client certificates, SASL_SSL; PLAIN, SCRAM-SHA-256/512 and unsecured OAUTHBEARER), in a
 * directory under the OS tmp dir on free ports, so security tests never touch the shared broker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerSecurityOptions } from '../../src/broker/broker-security.ts';
import { type BrokerStatus, type BrokerTlsFiles, startBroker, stopBroker } from '../../src/broker/embedded-broker.ts';

export interface SecuredBroker {
  readonly dir: string;
  readonly status: BrokerStatus;
  /** host:port of each listener by name: PLAINTEXT, SASL_PLAINTEXT, SSL, MTLS, SASL_SSL. */
  readonly listeners: Readonly<Record<string, string>>;
  readonly tls: BrokerTlsFiles;
  readonly users: { readonly alice: string; readonly bob: string };
  stop(): Promise<void>;
}

/** Passwords unlike anything else in a message, so a leak of one is found by a plain search. */
export function testPassword(user: string): string {
  return `${user}-pw-${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function securedBrokerOptions(users: { alice: string; bob: string }): BrokerSecurityOptions {
  return {
    listeners: [
      { protocol: 'SASL_PLAINTEXT' },
      { protocol: 'SSL' },
      { protocol: 'SSL', name: 'MTLS', clientAuth: 'required' },
      { protocol: 'SASL_SSL' },
    ],
    users: [
      { username: 'alice', password: users.alice },
      { username: 'bob', password: users.bob },
    ],
    saslMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
  };
}

export function listenerMap(status: BrokerStatus): Record<string, string> {
  return Object.fromEntries((status.listeners ?? []).map((listener) => [listener.name, listener.bootstrapServers]));
}

export async function startSecuredBroker(name: string): Promise<SecuredBroker> {
  const dir = mkdtempSync(join(tmpdir(), `spillway-${name}-`));
  const users = { alice: testPassword('alice'), bob: testPassword('bob') };
  const status = await startBroker({ brokerDir: dir, security: securedBrokerOptions(users) });
  if (status.tls === undefined) throw new Error('the secured broker reported no TLS files');
  return {
    dir,
    status,
    listeners: listenerMap(status),
    tls: status.tls,
    users,
    async stop() {
      await stopBroker({ brokerDir: dir });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
