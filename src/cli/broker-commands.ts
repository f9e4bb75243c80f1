import type { Command } from 'commander';
import { brokerStatus, startBroker, stopBroker } from '../broker/embedded-broker.ts';

interface BrokerCommandOptions {
  readonly dir?: string;
  readonly port?: string;
}

function location(options: BrokerCommandOptions) {
  return options.dir === undefined ? {} : { brokerDir: options.dir };
}

export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command('broker')
    .description('run the embedded single-node Kafka broker (Apache Kafka KRaft on 127.0.0.1)');

  broker
    .command('start')
    .description('start the broker unless it runs; print its bootstrap address')
    .option('--port <port>', 'client port (default: 9092 when free, else a free one, kept across restarts)')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .action(async (options: BrokerCommandOptions) => {
      const status = await startBroker({
        ...location(options),
        ...(options.port === undefined ? {} : { port: Number(options.port) }),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${status.bootstrapServers ?? ''}\n`);
      process.stderr.write(`broker running (pid ${status.pid ?? '?'}), logs in ${status.logFile}\n`);
    });

  broker
    .command('stop')
    .description('stop the broker')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .action(async (options: BrokerCommandOptions) => {
      const stopped = await stopBroker(location(options));
      process.stderr.write(stopped ? 'broker stopped\n' : 'broker was not running\n');
    });

  broker
    .command('status')
    .description('print the address and the state on separate lines; exit 0 if the broker runs, 3 if not')
    .option('--dir <dir>', 'broker data, logs and state directory')
    .action((options: BrokerCommandOptions) => {
      const status = brokerStatus(location(options));
      if (status.running) {
        process.stdout.write(`address: ${status.bootstrapServers ?? ''}\nstate: running (pid ${status.pid ?? '?'})\nlogs: ${status.logFile}\n`);
      } else {
        process.stdout.write(`state: not running (state in ${status.brokerDir})\n`);
        process.exitCode = 3;
      }
    });
}
