import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { createService } from '../service/server.ts';

/** Where `serve` and `api-key` keep their state unless told: ~/.spillway/service. */
export function defaultDataDir(): string {
  return join(homedir(), '.spillway', 'service');
}

function integer(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${flag} is a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the REST connector service (Feldera-style /v0 API, status page at /, metrics at /metrics)')
    .option('--port <port>', 'TCP port (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where connectors, pipelines and API keys are kept (SQLite)', defaultDataDir())
    .option('--body-limit <bytes>', 'largest request body accepted', String(1024 * 1024))
    .action(async (options: { port: string; host: string; dataDir: string; bodyLimit: string }) => {
      const port = integer(options.port, '--port', 0, 65535);
      const bodyLimit = integer(options.bodyLimit, '--body-limit', 1, 1024 * 1024 * 1024);
      const service = createService({ dataDir: options.dataDir, bodyLimit });
      if (service.store.listApiKeys().length === 0) {
        process.stderr.write(`spillway serve: no API keys yet; create one with: spillway api-key create NAME --data-dir ${options.dataDir}\n`);
      }
      const url = await service.listen(port, options.host);
      process.stdout.write(`${url}\n`);
      process.stderr.write(`spillway serve: listening on ${url}, state in ${service.store.path}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void service.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
