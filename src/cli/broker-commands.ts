import type { Command } from 'commander';
import {
  type BrokerSaslMechanism,
  type BrokerSecurityOptions,
  ClientAuth,
  ListenerProtocol,
  type SaslUser,
  type SecuredListenerOptions,
} from '../broker/broker-security.ts';
import { brokerStatus, startBroker, stopBroker } from '../broker/embedded-broker.ts';
import { ErrorCode, SpillwayError } from '../errors.ts';

interface BrokerCommandOptions {
  readonly dir?: string;
  readonly port?: string;
}

interface StartCommandOptions extends BrokerCommandOptions {
  readonly saslPlaintext?: string | true;
  readonly ssl?: string | true;
  readonly mtls?: string | true;
  readonly saslSsl?: string | true;
  readonly user?: readonly string[];
  readonly saslMechanisms?: string;
}

function location(options: BrokerCommandOptions) {
  return options.dir === undefined ? {} : { brokerDir: options.dir };
}

const SECURITY_HELP = `
Secured listeners (beside PLAINTEXT, which always runs; all on 127.0.0.1; a port is optional):
  --sasl-plaintext, --ssl, --mtls, --sasl-ssl add SASL_PLAINTEXT, SSL, SSL with
  ssl.client.auth=required (listener MTLS) and SASL_SSL. The TLS listeners use a CA, a broker
  keystore and a client certificate generated once into <dir>/tls (ca.pem, client.pem,
  client.key). SASL listeners take PLAIN and SCRAM users (--user) and, when listed,
  OAUTHBEARER with Kafka's unsecured JWS validator (any unsigned token logs in: tests only).

Examples:
  $ export KAFKA_BOOTSTRAP_SERVERS=$(spillway broker start --port 9092 | head -1)
  $ spillway broker start --dir /tmp/k --sasl-plaintext 9093 --user alice:alice-secret
      # SASL_PLAINTEXT on 9093: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for alice
  $ spillway broker start --dir /tmp/k --ssl --mtls --sasl-ssl --user alice:alice-secret \\
      --sasl-mechanisms PLAIN,SCRAM-SHA-512,OAUTHBEARER
  $ kcat -b 127.0.0.1:9093 -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN \\
      -X sasl.username=alice -X sasl.password=alice-secret -L
  $ kcat -b 127.0.0.1:<ssl port> -X security.protocol=SSL -X ssl.ca.location=/tmp/k/tls/ca.pem -L
`;

function listenerPort(flag: string, value: string | true | undefined): number | undefined {
  if (value === undefined || value === true) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${flag} takes an optional port from 1 to 65535, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseUser(text: string): SaslUser {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    // The text may be a password on its own: it is not repeated.
    throw new SpillwayError(ErrorCode.InvalidConfig, '--user takes name:password (for example --user alice:alice-secret)');
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The security options the flags ask for; undefined when none is given (the plain broker). */
export function securityFromFlags(options: StartCommandOptions): BrokerSecurityOptions | undefined {
  const listeners: SecuredListenerOptions[] = [];
  const add = (flag: string, value: string | true | undefined, listener: Omit<SecuredListenerOptions, 'port'>) => {
    if (value === undefined) return;
    const port = listenerPort(flag, value);
    listeners.push({ ...listener, ...(port === undefined ? {} : { port }) });
  };
  add('--sasl-plaintext', options.saslPlaintext, { protocol: ListenerProtocol.SaslPlaintext });
  add('--ssl', options.ssl, { protocol: ListenerProtocol.Ssl });
  add('--mtls', options.mtls, { protocol: ListenerProtocol.Ssl, name: 'MTLS', clientAuth: ClientAuth.Required });
  add('--sasl-ssl', options.saslSsl, { protocol: ListenerProtocol.SaslSsl });
  const users = (options.user ?? []).map(parseUser);
  const mechanisms = options.saslMechanisms
    ?.split(',')
    .map((mechanism) => mechanism.trim().toUpperCase())
    .filter((mechanism) => mechanism.length > 0) as BrokerSaslMechanism[] | undefined;
  if (listeners.length === 0 && users.length === 0 && mechanisms === undefined) return undefined;
  return { listeners, users, ...(mechanisms === undefined ? {} : { saslMechanisms: mechanisms }) };
}

export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command('broker')
    .description('run the embedded single-node Kafka broker (Apache Kafka KRaft on 127.0.0.1)')
    .addHelpText('after', '\nExample:\n  $ spillway broker start && spillway broker status');

  broker
    .command('start')
    .description('start the broker unless it runs; print its bootstrap address (then NAME://host:port per secured listener)')
    .option('--port <port>', 'client port (default: 9092 when free, else a free one, kept across restarts)')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .option('--sasl-plaintext [port]', 'add a SASL_PLAINTEXT listener')
    .option('--ssl [port]', 'add an SSL listener (server certificate signed by the generated CA)')
    .option('--mtls [port]', 'add an SSL listener named MTLS that requires a client certificate (ssl.client.auth=required)')
    .option('--sasl-ssl [port]', 'add a SASL_SSL listener')
    .option('--user <name:password>', 'a PLAIN and SCRAM user of the SASL listeners (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--sasl-mechanisms <list>', 'SASL mechanisms of the SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (default: the first three)')
    .addHelpText('after', SECURITY_HELP)
    .action(async (options: StartCommandOptions) => {
      const security = securityFromFlags(options);
      const status = await startBroker({
        ...location(options),
        ...(options.port === undefined ? {} : { port: Number(options.port) }),
        ...(security === undefined ? {} : { security }),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${status.bootstrapServers ?? ''}\n`);
      for (const listener of status.listeners ?? []) {
        if (listener.name !== 'PLAINTEXT') process.stdout.write(`${listener.name}://${listener.bootstrapServers}\n`);
      }
      process.stderr.write(`broker running (pid ${status.pid ?? '?'}), logs in ${status.logFile}\n`);
      if (status.tls !== undefined) {
        process.stderr.write(
          `TLS: ssl.ca.location=${status.tls.caLocation}; client certificate ssl.certificate.location=${status.tls.clientCertificateLocation}, ` +
            `ssl.key.location=${status.tls.clientKeyLocation}\n`,
        );
      }
    });

  broker
    .command('stop')
    .description('stop the broker')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .addHelpText('after', '\nExample:\n  $ spillway broker stop')
    .action(async (options: BrokerCommandOptions) => {
      const stopped = await stopBroker(location(options));
      process.stderr.write(stopped ? 'broker stopped\n' : 'broker was not running\n');
    });

  broker
    .command('status')
    .description('print the address and the state on separate lines; exit 0 if the broker runs, 3 if not')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .addHelpText('after', '\nExample:\n  $ spillway broker status || spillway broker start')
    .action((options: BrokerCommandOptions) => {
      const status = brokerStatus(location(options));
      if (status.running) {
        process.stdout.write(`address: ${status.bootstrapServers ?? ''}\n`);
        for (const listener of status.listeners ?? []) {
          if (listener.name !== 'PLAINTEXT') process.stdout.write(`listener: ${listener.name}://${listener.bootstrapServers}\n`);
        }
        process.stdout.write(`state: running (pid ${status.pid ?? '?'})\nlogs: ${status.logFile}\n`);
      } else {
        process.stdout.write(`state: not running (state in ${status.brokerDir})\n`);
        process.exitCode = 3;
      }
    });
}
