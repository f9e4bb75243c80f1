import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLI = fileURLToPath(new URL('../../bin/spillway.js', import.meta.url));

export interface RunningService {
  readonly url: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, and wait for the process to exit. */
  stop(): Promise<number | null>;
}

/** `spillway serve` in a child process on a free port; resolves once it prints its URL. */
export async function startService(dataDir: string, extra: readonly string[] = []): Promise<RunningService> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`spillway serve did not start within 20 s: ${stderr}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^(http:\/\/\S+)\n/.exec(stdout);
      if (line?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(line[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`spillway serve exited with ${String(code)}: ${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve(child.exitCode);
          return;
        }
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** `spillway api-key create NAME --role ROLE --data-dir DIR`; the key it printed. */
export async function createKeyWithCli(dataDir: string, name: string, role: 'read' | 'write' = 'write'): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'api-key', 'create', name, '--role', role, '--data-dir', dataDir]);
  return stdout.trim();
}

/** Calls a running service's API with a key: a JSON (or text) body in, the status and the JSON body out. */
export function serviceApi(url: () => string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
}
