import { Command, CommanderError } from 'commander';
import { SpillwayError } from '../errors.ts';
import { registerBrokerCommands } from './broker-commands.ts';
import { registerDemoCommand } from './demo-command.ts';
import { ExitCode, exitCodeFor } from './exit-codes.ts';
import { registerProduceCommand } from './produce-command.ts';
import { registerSqlCommands } from './sql-commands.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerApiKeyCommands } from './api-key-commands.ts';

export function buildProgram(): Command {
  const program = new Command('spillway')
    .description('Write static and live tables into Apache Kafka')
    .option('--verbose', 'on an error, print its stack and causes too')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Examples:
  $ spillway broker start
  $ spillway run job.sql
  $ spillway validate job.sql
  $ spillway produce -t cars -f cars.csv --format csv

Exit codes: 0 done, 1 internal error, 2 bad command line, 10–30 by error code (see docs/cli.md).`,
    );
  program.configureHelp({ showGlobalOptions: true });
  registerSqlCommands(program);
  registerProduceCommand(program);
  registerBrokerCommands(program);
  registerDemoCommand(program);
  registerServeCommand(program);
  registerApiKeyCommands(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

function describeError(error: unknown, verbose: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof SpillwayError ? ` [${error.code}]` : '';
  if (!verbose || !(error instanceof Error)) return `spillway${code}: ${message}\n`;
  // The stack opens with the message, so it is printed in its place.
  const lines = [`spillway${code}:`];
  let current: unknown = error;
  while (current instanceof Error) {
    lines.push(current.stack ?? `${current.name}: ${current.message}`);
    current = current.cause;
    if (current !== undefined) lines.push('caused by:');
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with code 0; a wrong command line with 2 (commander printed why).
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    process.stderr.write(describeError(error, verbose));
    return error instanceof SpillwayError ? exitCodeFor(error.code) : ExitCode.Internal;
  }
}
