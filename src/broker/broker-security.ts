/**
 * Secured listeners for the embedded broker: SASL_PLAINTEXT, SSL and SASL_SSL on 127.0.0.1 beside
 * the PLAINTEXT listener (which stays, for the controller and inter-broker traffic, and for
 * tools). SASL users log in with PLAIN (users in the listener's JAAS line), SCRAM-SHA-256/512
 * (credentials stored in the cluster metadata: at format time with StorageTool's `--add-scram`,
 * afterwards with ConfigCommand) or OAUTHBEARER with Kafka's unsecured JWS validator (any
 * unsigned token with a subject logs in; for tests and local use only). TLS material (a CA, the
 * broker's keystore and truststore, and a client certificate) is generated with `openssl` and
 * `keytool` into `<broker dir>/tls` once and reused.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { redactText } from '../kafka/secret-properties.ts';

export const ListenerProtocol = {
  SaslPlaintext: 'SASL_PLAINTEXT',
  Ssl: 'SSL',
  SaslSsl: 'SASL_SSL',
} as const;
export type ListenerProtocol = (typeof ListenerProtocol)[keyof typeof ListenerProtocol];

export const BrokerSaslMechanism = {
  Plain: 'PLAIN',
  ScramSha256: 'SCRAM-SHA-256',
  ScramSha512: 'SCRAM-SHA-512',
  OAuthBearer: 'OAUTHBEARER',
} as const;
export type BrokerSaslMechanism = (typeof BrokerSaslMechanism)[keyof typeof BrokerSaslMechanism];

/** Kafka's `ssl.client.auth`: whether a TLS client must present a certificate signed by the CA. */
export const ClientAuth = { None: 'none', Requested: 'requested', Required: 'required' } as const;
export type ClientAuth = (typeof ClientAuth)[keyof typeof ClientAuth];

export interface SecuredListenerOptions {
  readonly protocol: ListenerProtocol;
  /** Listener name (default: the protocol); needed when two listeners share a protocol. */
  readonly name?: string;
  /** Port on 127.0.0.1; a free one when absent (kept across restarts when still free). */
  readonly port?: number;
  /** `ssl.client.auth` for this listener (SSL and SASL_SSL only; default none). */
  readonly clientAuth?: ClientAuth;
}

export interface SaslUser {
  readonly username: string;
  readonly password: string;
}

export interface BrokerSecurityOptions {
  readonly listeners: readonly SecuredListenerOptions[];
  /** Users of PLAIN and SCRAM on every SASL listener. */
  readonly users?: readonly SaslUser[];
  /** Mechanisms enabled on the SASL listeners; default PLAIN, SCRAM-SHA-256, SCRAM-SHA-512. */
  readonly saslMechanisms?: readonly BrokerSaslMechanism[];
}

export interface NormalizedListener {
  readonly name: string;
  readonly protocol: ListenerProtocol;
  readonly port?: number;
  readonly clientAuth: ClientAuth;
}

export interface NormalizedSecurity {
  readonly listeners: readonly NormalizedListener[];
  readonly users: readonly SaslUser[];
  readonly saslMechanisms: readonly BrokerSaslMechanism[];
}

const PROTOCOLS: readonly string[] = Object.values(ListenerProtocol);
const MECHANISMS: readonly string[] = Object.values(BrokerSaslMechanism);
const CLIENT_AUTHS: readonly string[] = Object.values(ClientAuth);
const SCRAM: readonly BrokerSaslMechanism[] = [BrokerSaslMechanism.ScramSha256, BrokerSaslMechanism.ScramSha512];
const DEFAULT_MECHANISMS: readonly BrokerSaslMechanism[] = [
  BrokerSaslMechanism.Plain,
  BrokerSaslMechanism.ScramSha256,
  BrokerSaslMechanism.ScramSha512,
];

export function isSasl(protocol: ListenerProtocol): boolean {
  return protocol === ListenerProtocol.SaslPlaintext || protocol === ListenerProtocol.SaslSsl;
}

export function isTls(protocol: ListenerProtocol): boolean {
  return protocol === ListenerProtocol.Ssl || protocol === ListenerProtocol.SaslSsl;
}

function invalid(problems: readonly string[]): SpillwayError {
  return new SpillwayError(
    ErrorCode.InvalidConfig,
    `the embedded broker's security options are invalid:\n  - ${problems.join('\n  - ')}`,
  );
}

/**
 * Checks the options completely (every problem in one error) and fills in the defaults. A
 * password is never quoted in an error; its user is named instead.
 */
export function normalizeSecurity(options: BrokerSecurityOptions): NormalizedSecurity {
  const problems: string[] = [];
  const listeners: NormalizedListener[] = [];
  const names = new Set<string>();
  const ports = new Set<number>();
  for (const listener of options.listeners) {
    if (!PROTOCOLS.includes(listener.protocol)) {
      problems.push(
        `listener protocol ${JSON.stringify(listener.protocol)} is not one of ${PROTOCOLS.join(', ')} ` +
          '(a PLAINTEXT listener always runs; --port sets its port)',
      );
      continue;
    }
    const name = listener.name ?? listener.protocol;
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
      problems.push(`listener name ${JSON.stringify(name)} must be upper-case letters, digits and _ (such as MTLS)`);
    } else if (name === 'PLAINTEXT' || name === 'CONTROLLER') {
      problems.push(`listener name ${name} is the broker's own; choose another`);
    } else if (names.has(name)) {
      problems.push(`two listeners are named ${name}; give the second a name of its own (such as ${name}_2)`);
    }
    names.add(name);
    if (listener.port !== undefined) {
      if (!Number.isInteger(listener.port) || listener.port < 1 || listener.port > 65535) {
        problems.push(`listener ${name}: port ${String(listener.port)} is not a port number from 1 to 65535`);
      } else if (ports.has(listener.port)) {
        problems.push(`listener ${name}: port ${listener.port} is already another listener's`);
      }
      ports.add(listener.port);
    }
    const clientAuth = listener.clientAuth ?? ClientAuth.None;
    if (!CLIENT_AUTHS.includes(clientAuth)) {
      problems.push(`listener ${name}: client auth ${JSON.stringify(clientAuth)} is not one of ${CLIENT_AUTHS.join(', ')}`);
    } else if (clientAuth !== ClientAuth.None && !isTls(listener.protocol)) {
      problems.push(`listener ${name}: client certificates need TLS; use protocol SSL or SASL_SSL, or drop client auth`);
    }
    listeners.push({ name, protocol: listener.protocol, clientAuth, ...(listener.port === undefined ? {} : { port: listener.port }) });
  }

  const sasl = listeners.some((listener) => isSasl(listener.protocol));
  const users = options.users ?? [];
  const saslMechanisms = options.saslMechanisms ?? (sasl ? DEFAULT_MECHANISMS : []);
  for (const mechanism of saslMechanisms) {
    if (!MECHANISMS.includes(mechanism)) problems.push(`SASL mechanism ${JSON.stringify(mechanism)} is not one of ${MECHANISMS.join(', ')}`);
  }
  if (new Set(saslMechanisms).size !== saslMechanisms.length) problems.push('a SASL mechanism is listed twice');
  if (!sasl && options.saslMechanisms !== undefined) {
    problems.push('SASL mechanisms are given but no listener uses SASL; add a SASL_PLAINTEXT or SASL_SSL listener');
  }
  if (!sasl && users.length > 0) {
    problems.push('SASL users are given but no listener uses SASL; add a SASL_PLAINTEXT or SASL_SSL listener');
  }
  if (sasl && saslMechanisms.length === 0) problems.push('the SASL listeners need at least one SASL mechanism');
  const withUsers = saslMechanisms.filter((mechanism) => mechanism !== BrokerSaslMechanism.OAuthBearer);
  if (withUsers.length > 0 && users.length === 0) {
    problems.push(`${withUsers.join(', ')} need at least one user (name:password); or enable only OAUTHBEARER`);
  }
  if (sasl && users.length > 0 && withUsers.length === 0) {
    problems.push('users are given but only OAUTHBEARER is enabled, which takes no passwords; add PLAIN or SCRAM mechanisms');
  }
  const usernames = new Set<string>();
  for (const user of users) {
    // JAAS option names, SCRAM's `[name=…,password=…]` syntax and principals limit the characters.
    if (!/^[A-Za-z0-9._@-]+$/.test(user.username)) {
      problems.push(`user name ${JSON.stringify(user.username)} may only hold letters, digits and . _ @ -`);
    } else if (usernames.has(user.username)) {
      problems.push(`user ${user.username} is given twice`);
    }
    usernames.add(user.username);
    if (user.password.length === 0 || /[\s"'\\,[\]=]/.test(user.password)) {
      problems.push(
        `the password of user ${user.username} must be non-empty, without whitespace, quotes, backslashes, commas, ` +
          'brackets or "=" (the broker\'s JAAS and SCRAM syntax cannot carry them)',
      );
    }
  }
  if (problems.length > 0) throw invalid(problems);
  return { listeners, users, saslMechanisms };
}

/** Where the generated TLS material lives, for the broker and for clients. */
export interface TlsMaterial {
  readonly dir: string;
  /** The CA certificate (PEM) that signs the broker's and the client's certificates: `ssl.ca.location`. */
  readonly caLocation: string;
  /** A client certificate signed by the CA (PEM): `ssl.certificate.location`. */
  readonly clientCertificateLocation: string;
  /** Its private key, unencrypted PEM: `ssl.key.location`. */
  readonly clientKeyLocation: string;
  /** The broker's PKCS12 keystore (its key and certificate chain) and truststore (the CA). */
  readonly keystoreLocation: string;
  readonly truststoreLocation: string;
  /** Password of both stores; it stays in the broker's own configuration files. */
  readonly storePassword: string;
}

function run(command: string, args: readonly string[], cwd: string, secrets: readonly string[]): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new SpillwayError(
      ErrorCode.EmbeddedBroker,
      `generating the broker's TLS material failed: \`${command} ${args[0] ?? ''}\` ` +
        `${result.error === undefined ? `exited with ${String(result.status)}` : `could not run (${result.error.message})`}: ` +
        `${redactText(output, secrets).split('\n').slice(-5).join(' | ')}. ` +
        (result.error === undefined ? '' : `Install ${command === 'keytool' ? 'a Java 17 JDK' : 'openssl'}, or `) +
        'run the broker without TLS listeners.',
    );
  }
}

/**
 * Generates (once) a CA, the broker's keystore and truststore, and a client certificate, into
 * `dir`. The broker's certificate names 127.0.0.1 and localhost, so host-name verification
 * (librdkafka's and Java's default) passes.
 */
export function ensureTlsMaterial(dir: string, log: (line: string) => void = () => {}): TlsMaterial {
  const material: TlsMaterial = {
    dir,
    caLocation: join(dir, 'ca.pem'),
    clientCertificateLocation: join(dir, 'client.pem'),
    clientKeyLocation: join(dir, 'client.key'),
    keystoreLocation: join(dir, 'broker.keystore.p12'),
    truststoreLocation: join(dir, 'broker.truststore.p12'),
    storePassword: existsSync(join(dir, 'store-password')) ? readFileSync(join(dir, 'store-password'), 'utf8').trim() : '',
  };
  if (existsSync(join(dir, '.complete')) && material.storePassword !== '') return material;

  log(`generating a CA, the broker's keystore and a client certificate in ${dir} (once)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(join(dir, 'store-password'), `${password}\n`, { mode: 0o600 });
  const secrets = [password];
  const days = '3650';
  const serverExt = join(dir, 'broker.ext');
  writeFileSync(serverExt, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const clientExt = join(dir, 'client.ext');
  writeFileSync(clientExt, 'extendedKeyUsage=clientAuth\n');

  // The CA: a self-signed certificate whose key stays here and signs the other two.
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', days, '-subj', '/CN=Spillway embedded broker CA'], dir, secrets);
  // The broker's key pair is made by keytool in a PKCS12 keystore, its request signed by the CA,
  // and the chain imported back (the CA first, so keytool can link the reply).
  const keytool = (...args: string[]) => run('keytool', args, dir, secrets);
  keytool('-genkeypair', '-keystore', 'broker.keystore.p12', '-storetype', 'PKCS12', '-storepass', password, '-keypass', password,
    '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', days, '-dname', 'CN=localhost',
    '-ext', 'SAN=IP:127.0.0.1,DNS:localhost');
  keytool('-certreq', '-keystore', 'broker.keystore.p12', '-storepass', password, '-alias', 'broker', '-file', 'broker.csr');
  run('openssl', ['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', days, '-extfile', serverExt], dir, secrets);
  keytool('-importcert', '-noprompt', '-keystore', 'broker.keystore.p12', '-storepass', password, '-alias', 'ca', '-file', 'ca.pem');
  keytool('-importcert', '-noprompt', '-keystore', 'broker.keystore.p12', '-storepass', password, '-alias', 'broker', '-file', 'broker.pem');
  keytool('-importcert', '-noprompt', '-keystore', 'broker.truststore.p12', '-storetype', 'PKCS12', '-storepass', password, '-alias', 'ca', '-file', 'ca.pem');
  // A client certificate for listeners with ssl.client.auth, signed by the same CA.
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=spillway-client'], dir, secrets);
  run('openssl', ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', days, '-extfile', clientExt], dir, secrets);
  for (const file of ['ca.key', 'client.key']) chmodSync(join(dir, file), 0o600);
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return { ...material, storePassword: password };
}

export interface ListenerPorts {
  readonly [name: string]: number;
}

/**
 * The server.properties lines for the secured listeners: their entries in `listeners`,
 * `advertised.listeners` and the protocol map, and per-listener SASL and TLS settings.
 */
export function securedListenerConfig(
  security: NormalizedSecurity,
  ports: ListenerPorts,
  tls: TlsMaterial | undefined,
): { listeners: string[]; protocolMap: string[]; lines: string[] } {
  const listeners: string[] = [];
  const protocolMap: string[] = [];
  const lines: string[] = [];
  const plainUsers = security.users.map((user) => `user_${user.username}="${user.password}"`).join(' ');
  for (const listener of security.listeners) {
    const port = ports[listener.name];
    if (port === undefined) throw new SpillwayError(ErrorCode.Internal, `no port was chosen for listener ${listener.name}`);
    listeners.push(`${listener.name}://127.0.0.1:${port}`);
    protocolMap.push(`${listener.name}:${listener.protocol}`);
    const prefix = `listener.name.${listener.name.toLowerCase()}`;
    if (isSasl(listener.protocol)) {
      lines.push(`${prefix}.sasl.enabled.mechanisms=${security.saslMechanisms.join(',')}`);
      for (const mechanism of security.saslMechanisms) {
        const key = `${prefix}.${mechanism.toLowerCase()}.sasl.jaas.config`;
        if (mechanism === BrokerSaslMechanism.Plain) {
          lines.push(`${key}=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`);
        } else if (mechanism === BrokerSaslMechanism.OAuthBearer) {
          // The unsecured validator accepts any unsigned JWS with a subject: tests and local use.
          lines.push(`${key}=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="spillway-broker";`);
          lines.push(
            `${prefix}.oauthbearer.sasl.server.callback.handler.class=` +
              'org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler',
          );
        } else {
          lines.push(`${key}=org.apache.kafka.common.security.scram.ScramLoginModule required;`);
        }
      }
    }
    if (isTls(listener.protocol) && listener.clientAuth !== ClientAuth.None) {
      lines.push(`${prefix}.ssl.client.auth=${listener.clientAuth}`);
    }
  }
  if (tls !== undefined) {
    lines.push(
      `ssl.keystore.location=${tls.keystoreLocation}`,
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.password=${tls.storePassword}`,
      `ssl.key.password=${tls.storePassword}`,
      `ssl.truststore.location=${tls.truststoreLocation}`,
      'ssl.truststore.type=PKCS12',
      `ssl.truststore.password=${tls.storePassword}`,
    );
  }
  return { listeners, protocolMap, lines };
}

/** The SCRAM mechanisms to store credentials for. */
export function scramMechanisms(security: NormalizedSecurity): BrokerSaslMechanism[] {
  return security.saslMechanisms.filter((mechanism) => SCRAM.includes(mechanism));
}

/** StorageTool `format` arguments that store every user's SCRAM credentials with the new cluster. */
export function addScramArguments(security: NormalizedSecurity): string[] {
  const args: string[] = [];
  for (const mechanism of scramMechanisms(security)) {
    for (const user of security.users) args.push('--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`);
  }
  return args;
}

/** Every password of the security options, for scrubbing tool output. */
export function securitySecrets(security: NormalizedSecurity | undefined, tls?: TlsMaterial): string[] {
  return [...(security?.users.map((user) => user.password) ?? []), ...(tls === undefined ? [] : [tls.storePassword])];
}

/**
 * Brings a running broker's SCRAM credentials in line with the users given, after a restart on
 * storage formatted earlier (a new storage gets them from `--add-scram`): listed users get their
 * current password, SCRAM users no longer listed lose their credentials.
 */
export function reconcileScramUsers(
  security: NormalizedSecurity,
  java: { readonly classpath: string; readonly javaOptions: readonly string[]; readonly bootstrapServers: string },
): void {
  const mechanisms = scramMechanisms(security);
  if (mechanisms.length === 0) return;
  const secrets = securitySecrets(security);
  const configCommand = (args: readonly string[]) => {
    const result = spawnSync(
      'java',
      [...java.javaOptions, '-cp', java.classpath, 'kafka.admin.ConfigCommand', '--bootstrap-server', java.bootstrapServers, ...args],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) {
      throw new SpillwayError(
        ErrorCode.EmbeddedBroker,
        `storing SCRAM credentials in the running broker failed: ` +
          `${redactText(`${result.stdout}${result.stderr}`.trim(), secrets).split('\n').slice(-5).join(' | ')}`,
      );
    }
    return result.stdout;
  };
  const described = configCommand(['--describe', '--entity-type', 'users']);
  const wanted = new Set(security.users.map((user) => user.username));
  for (const match of described.matchAll(/SCRAM credential configs for user-principal '([^']+)' are (.*)/g)) {
    const [, username = '', configured = ''] = match;
    if (wanted.has(username)) continue;
    const stale = configured.split(',').map((part) => (part.split('=')[0] ?? '').trim()).filter((name) => name.startsWith('SCRAM-'));
    // One mechanism per request: the broker refuses two changes to one user in a request.
    for (const mechanism of stale) {
      configCommand(['--alter', '--entity-type', 'users', '--entity-name', username, '--delete-config', mechanism]);
    }
  }
  for (const user of security.users) {
    configCommand([
      '--alter', '--entity-type', 'users', '--entity-name', user.username,
      '--add-config', mechanisms.map((mechanism) => `${mechanism}=[password=${user.password}]`).join(','),
    ]);
  }
}
