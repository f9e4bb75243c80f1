/**
 * Which Kafka property values are secrets, and how to keep them out of every message.
 *
 * A secret (a password, a private key, a token, a JAAS line, which carries a password) may be
 * used to connect and for nothing else: errors, warnings, logs, metrics and descriptions show
 * `[redacted]` in its place. Also here: Java's `sasl.jaas.config` read into the librdkafka
 * properties it stands for, as a pure function, so a Java-style configuration reaches a
 * librdkafka client with the same meaning.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';

export const REDACTED = '[redacted]';

/** Secrets by their librdkafka and Java names (and the registry's basic-auth user info). */
const SECRET_NAMES: ReadonlySet<string> = new Set([
  'sasl.password',
  'sasl.jaas.config',
  'sasl.oauthbearer.config',
  'sasl.oauthbearer.client.secret',
  'sasl.oauthbearer.assertion.private.key.passphrase',
  'sasl.oauthbearer.assertion.private.key.pem',
  'ssl.key.pem',
  'ssl_key',
  'ssl.key.password',
  'ssl.keystore.password',
  'ssl.keystore.key',
  'ssl.truststore.password',
  'basic.auth.user.info',
  'schema.registry.basic.auth.user.info',
]);

/**
 * Any other name that reads like a secret is treated as one: redacting a harmless value costs a
 * little clarity, printing a secret costs the secret.
 */
const SECRET_PATTERN = /(password|passphrase|secret|jaas|token|credential|user\.info|api\.key|private\.key)/i;

/** True when the property's value must never appear in a message. */
export function isSecretProperty(name: string): boolean {
  const key = name.replace(/^(kafka\.|connector\.properties\.|properties\.)/, '');
  return SECRET_NAMES.has(key) || SECRET_PATTERN.test(key);
}

/** The value as a message may show it: JSON for ordinary values, `[redacted]` for secrets. */
export function redactedValue(name: string, value: unknown): string {
  if (isSecretProperty(name)) return REDACTED;
  return JSON.stringify(value) ?? String(value);
}

/** A copy of the properties with every secret value replaced by `[redacted]`; the input is not touched. */
export function redactProperties<T extends Readonly<Record<string, unknown>>>(properties: T): Record<keyof T, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties)) copy[name] = isSecretProperty(name) ? REDACTED : value;
  return copy as Record<keyof T, unknown>;
}

/**
 * The secret strings inside a set of properties: each secret value, and the passwords, secrets
 * and tokens inside a JAAS line. What `redactText` needs to scrub a message from elsewhere (a
 * client library, a tool's output) before Spillway shows it.
 */
export function secretValues(properties: Readonly<Record<string, unknown>>): string[] {
  const secrets = new Set<string>();
  for (const [name, value] of Object.entries(properties)) {
    if (!isSecretProperty(name) || (typeof value !== 'string' && typeof value !== 'number')) continue;
    const text = String(value);
    if (text.length > 0) secrets.add(text);
    if (/jaas/i.test(name)) {
      try {
        for (const module of parseJaasConfig(text)) {
          for (const [option, optionValue] of Object.entries(module.options)) {
            if (isSecretProperty(option) && optionValue.length > 0) secrets.add(optionValue);
          }
        }
      } catch {
        // A malformed line is still scrubbed as a whole above.
      }
    }
  }
  return [...secrets];
}

/**
 * Replaces every occurrence of each secret in `text` with `[redacted]`; a multi-line secret (a
 * PEM key) is also scrubbed line by line, since a message may quote part of it.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    pieces.add(secret);
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16 && !line.startsWith('-----')) pieces.add(line.trim());
  }
  // Longest first, so a secret that contains another is replaced whole.
  let result = text;
  for (const piece of [...pieces].sort((a, b) => b.length - a.length)) result = result.split(piece).join(REDACTED);
  return result;
}

export interface JaasLoginModule {
  /** The login module class, such as org.apache.kafka.common.security.plain.PlainLoginModule. */
  readonly loginModule: string;
  readonly controlFlag: 'required' | 'requisite' | 'sufficient' | 'optional';
  readonly options: Readonly<Record<string, string>>;
}

function jaasError(problem: string): SpillwayError {
  // The line itself is never quoted: it holds the password.
  return new SpillwayError(
    ErrorCode.InvalidConfig,
    `\`sasl.jaas.config\` is not a JAAS configuration line: ${problem}. Expected ` +
      '`<LoginModule> required key="value" …;`, for example ' +
      '`org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="…";`',
  );
}

/**
 * Parses a JAAS configuration line as Kafka's `JaasConfig` does (Java's StreamTokenizer: words,
 * `"`- or `'`-quoted strings with backslash escapes, `//` and `/* *\/` comments): one or more
 * `<class> <flag> key=value … ;` entries. Pure; a malformed line fails without quoting it.
 */
export function parseJaasConfig(line: string): JaasLoginModule[] {
  const tokens: { kind: 'word' | 'quoted' | 'symbol'; text: string }[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (line.startsWith('//', i)) {
      const end = line.indexOf('\n', i);
      i = end === -1 ? line.length : end + 1;
    } else if (line.startsWith('/*', i)) {
      const end = line.indexOf('*/', i + 2);
      if (end === -1) throw jaasError('a comment is not closed');
      i = end + 2;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) throw jaasError('a quoted value is not closed');
        const d = line.charAt(i);
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length) {
          const escaped = line.charAt(i + 1);
          value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped === 'r' ? '\r' : escaped;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'quoted', text: value });
    } else if (c === '=' || c === ';') {
      tokens.push({ kind: 'symbol', text: c });
      i++;
    } else {
      const match = /^[^\s=;"']+/.exec(line.slice(i));
      const word = match?.[0] ?? c;
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    }
  }

  const modules: JaasLoginModule[] = [];
  let t = 0;
  while (t < tokens.length) {
    const loginModule = tokens[t++];
    if (loginModule?.kind !== 'word') throw jaasError('a login module class name must come first');
    const flag = tokens[t++];
    if (flag?.kind !== 'word' || !['required', 'requisite', 'sufficient', 'optional'].includes(flag.text.toLowerCase())) {
      throw jaasError(`the login module ${loginModule.text} needs a control flag (required, requisite, sufficient or optional)`);
    }
    const options: Record<string, string> = {};
    for (;;) {
      const next = tokens[t++];
      if (next === undefined) throw jaasError('the entry does not end with ";"');
      if (next.kind === 'symbol' && next.text === ';') break;
      if (next.kind !== 'word') throw jaasError('an option name is missing before a value');
      const equals = tokens[t++];
      const value = tokens[t++];
      if (equals?.text !== '=' || value === undefined || value.kind === 'symbol') {
        throw jaasError(`the option ${next.text} needs a value (${next.text}="…")`);
      }
      options[next.text] = value.text;
    }
    modules.push({
      loginModule: loginModule.text,
      controlFlag: flag.text.toLowerCase() as JaasLoginModule['controlFlag'],
      options,
    });
  }
  if (modules.length === 0) throw jaasError('it is empty');
  return modules;
}

const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const OAUTHBEARER_MODULE = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';

export interface JaasTranslation {
  /** The librdkafka properties the line stands for. */
  readonly properties: Readonly<Record<string, string>>;
  /** The SASL mechanisms the login module can serve (PLAIN; SCRAM-SHA-256/512; OAUTHBEARER). */
  readonly mechanisms: readonly string[];
}

/**
 * Java's `sasl.jaas.config` as librdkafka properties, for a client that takes librdkafka's names:
 * - PlainLoginModule / ScramLoginModule `username`, `password` → `sasl.username`, `sasl.password`;
 * - OAuthBearerLoginModule with the unsecured login options (`unsecuredLoginStringClaim_sub`,
 *   `unsecuredLoginListClaim_scope`, `unsecuredLoginLifetimeSeconds`, `unsecuredLoginExtension_<n>`)
 *   → `enable.sasl.oauthbearer.unsecure.jwt=true` and `sasl.oauthbearer.config`
 *   (`principal=… scope=… lifeSeconds=… extension_<n>=…`);
 * - OAuthBearerLoginModule with `clientId`, `clientSecret`, `scope` (OIDC client credentials) →
 *   `sasl.oauthbearer.method=oidc`, `sasl.oauthbearer.client.id`, `…client.secret`, `…scope`.
 * Any other module or option is refused: silently dropping one would change what logs in.
 */
export function jaasToLibrdkafka(line: string): JaasTranslation {
  const modules = parseJaasConfig(line);
  if (modules.length !== 1) throw jaasError(`Kafka takes exactly one login module in sasl.jaas.config, not ${modules.length}`);
  const [module] = modules as [JaasLoginModule];
  const unsupported = (names: readonly string[], supported: string) =>
    new SpillwayError(
      ErrorCode.InvalidConfig,
      `\`sasl.jaas.config\`: ${module.loginModule} option(s) ${names.join(', ')} have no librdkafka equivalent; ` +
        `the options that do are ${supported}`,
    );
  const { options } = module;
  if (module.loginModule === PLAIN_MODULE || module.loginModule === SCRAM_MODULE) {
    const extra = Object.keys(options).filter((name) => name !== 'username' && name !== 'password');
    if (extra.length > 0) throw unsupported(extra, 'username and password');
    if (options.username === undefined || options.password === undefined) {
      throw jaasError(`${module.loginModule} needs username="…" and password="…"`);
    }
    return {
      properties: { 'sasl.username': options.username, 'sasl.password': options.password },
      mechanisms: module.loginModule === PLAIN_MODULE ? ['PLAIN'] : ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
    };
  }
  if (module.loginModule === OAUTHBEARER_MODULE) {
    const names = Object.keys(options);
    const oidc = names.filter((name) => ['clientId', 'clientSecret', 'scope'].includes(name));
    const unsecured = names.filter((name) => name.startsWith('unsecuredLogin'));
    if (oidc.length > 0 && unsecured.length > 0) {
      throw jaasError('OAuthBearerLoginModule takes either the unsecured login options or clientId/clientSecret, not both');
    }
    if (oidc.length > 0) {
      const extra = names.filter((name) => !oidc.includes(name));
      if (extra.length > 0) throw unsupported(extra, 'clientId, clientSecret and scope');
      if (options.clientId === undefined || options.clientSecret === undefined) {
        throw jaasError('OAuthBearerLoginModule with OIDC needs clientId="…" and clientSecret="…"');
      }
      return {
        properties: {
          'sasl.oauthbearer.method': 'oidc',
          'sasl.oauthbearer.client.id': options.clientId,
          'sasl.oauthbearer.client.secret': options.clientSecret,
          ...(options.scope === undefined ? {} : { 'sasl.oauthbearer.scope': options.scope }),
        },
        mechanisms: ['OAUTHBEARER'],
      };
    }
    const parts: string[] = [];
    const extra: string[] = [];
    for (const name of names) {
      const value = options[name] ?? '';
      if (/\s/.test(value)) throw jaasError(`the value of ${name} contains whitespace, which librdkafka's sasl.oauthbearer.config cannot carry`);
      if (name === 'unsecuredLoginStringClaim_sub') parts.unshift(`principal=${value}`);
      else if (name === 'unsecuredLoginListClaim_scope') parts.push(`scope=${value}`);
      else if (name === 'unsecuredLoginLifetimeSeconds') parts.push(`lifeSeconds=${value}`);
      else if (name.startsWith('unsecuredLoginExtension_')) parts.push(`extension_${name.slice('unsecuredLoginExtension_'.length)}=${value}`);
      else extra.push(name);
    }
    if (extra.length > 0) {
      throw unsupported(
        extra,
        'unsecuredLoginStringClaim_sub, unsecuredLoginListClaim_scope, unsecuredLoginLifetimeSeconds, unsecuredLoginExtension_<name>, or clientId/clientSecret/scope',
      );
    }
    if (!parts[0]?.startsWith('principal=')) {
      throw jaasError('the unsecured OAuthBearerLoginModule needs unsecuredLoginStringClaim_sub="<principal>"');
    }
    return {
      properties: { 'enable.sasl.oauthbearer.unsecure.jwt': 'true', 'sasl.oauthbearer.config': parts.join(' ') },
      mechanisms: ['OAUTHBEARER'],
    };
  }
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `\`sasl.jaas.config\`: the login module ${module.loginModule} is not supported; use ${PLAIN_MODULE}, ${SCRAM_MODULE} ` +
      `or ${OAUTHBEARER_MODULE} (or librdkafka's sasl.username / sasl.password / sasl.oauthbearer.* properties)`,
  );
}

/**
 * Java's TLS and SASL property names as the librdkafka properties they stand for, for a client
 * that takes librdkafka's names. Other properties pass through untouched; the input is not
 * mutated. What librdkafka cannot read (JKS stores, a PKCS12 truststore) is refused with the way
 * to convert it.
 * - `sasl.jaas.config` → see `jaasToLibrdkafka`; `sasl.mechanism` → `sasl.mechanisms`.
 * - `ssl.truststore.type=PEM`: `ssl.truststore.certificates` → `ssl.ca.pem`,
 *   `ssl.truststore.location` → `ssl.ca.location`.
 * - `ssl.keystore.type=PEM`: `ssl.keystore.certificate.chain` → `ssl.certificate.pem`,
 *   `ssl.keystore.key` → `ssl.key.pem`, `ssl.keystore.location` (key and chain in one file) →
 *   `ssl.certificate.location` and `ssl.key.location`.
 * - `ssl.keystore.type=PKCS12`: `ssl.keystore.location` and `ssl.keystore.password` keep their
 *   names (librdkafka reads PKCS12 keystores).
 */
export function javaSecurityToLibrdkafka(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const output: Record<string, unknown> = {};
  const problems: string[] = [];
  const text = (name: string) => {
    const value = input[name];
    return typeof value === 'string' ? value : undefined;
  };
  const set = (name: string, value: unknown, from: string) => {
    if (output[name] !== undefined || (input[name] !== undefined && name !== from)) {
      problems.push(`\`${from}\` and \`${name}\` both set ${name}; keep one`);
    }
    output[name] = value;
  };
  const truststoreType = (text('ssl.truststore.type') ?? 'JKS').toUpperCase();
  const keystoreType = (text('ssl.keystore.type') ?? 'JKS').toUpperCase();
  for (const [name, value] of Object.entries(input)) {
    switch (name) {
      case 'sasl.jaas.config': {
        if (typeof value !== 'string') {
          problems.push('`sasl.jaas.config` must be a string');
          break;
        }
        for (const [mapped, mappedValue] of Object.entries(jaasToLibrdkafka(value).properties)) set(mapped, mappedValue, name);
        break;
      }
      case 'sasl.mechanism':
        set('sasl.mechanisms', value, name);
        break;
      case 'ssl.truststore.type':
      case 'ssl.keystore.type':
        if (!['PEM', 'PKCS12', 'JKS'].includes(String(value).toUpperCase())) problems.push(`\`${name}\` = ${JSON.stringify(value)}: expected PEM, PKCS12 or JKS`);
        break;
      case 'ssl.truststore.certificates':
        if (truststoreType !== 'PEM') problems.push('`ssl.truststore.certificates` needs `ssl.truststore.type` = PEM');
        else set('ssl.ca.pem', value, name);
        break;
      case 'ssl.truststore.location':
        if (truststoreType !== 'PEM') {
          problems.push(
            `\`ssl.truststore.location\` of type ${truststoreType} cannot be read by librdkafka; export the CA as PEM ` +
              '(keytool -exportcert -rfc -alias <ca> -keystore <truststore>) and give it as `ssl.ca.location`, or set `ssl.truststore.type` = PEM',
          );
        } else set('ssl.ca.location', value, name);
        break;
      case 'ssl.truststore.password':
        // A PEM truststore has no password; a JKS or PKCS12 one is refused above.
        if (truststoreType === 'PEM') problems.push('`ssl.truststore.password` has no meaning for a PEM truststore; drop it');
        break;
      case 'ssl.keystore.certificate.chain':
        if (keystoreType !== 'PEM') problems.push('`ssl.keystore.certificate.chain` needs `ssl.keystore.type` = PEM');
        else set('ssl.certificate.pem', value, name);
        break;
      case 'ssl.keystore.key':
        if (keystoreType !== 'PEM') problems.push('`ssl.keystore.key` needs `ssl.keystore.type` = PEM');
        else set('ssl.key.pem', value, name);
        break;
      case 'ssl.keystore.location':
        if (keystoreType === 'PEM') {
          set('ssl.certificate.location', value, name);
          set('ssl.key.location', value, name);
        } else if (keystoreType === 'PKCS12') set('ssl.keystore.location', value, name);
        else {
          problems.push(
            '`ssl.keystore.location` of type JKS cannot be read by librdkafka; convert it to PKCS12 ' +
              '(keytool -importkeystore -deststoretype PKCS12) and set `ssl.keystore.type` = PKCS12',
          );
        }
        break;
      default:
        // A conflict with a name mapped onto this one is reported where the mapping happens.
        if (output[name] === undefined) output[name] = value;
    }
  }
  if (problems.length > 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `Kafka security properties cannot be used:\n  - ${problems.join('\n  - ')}`);
  }
  return output;
}
