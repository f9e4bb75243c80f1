/**
 * Google's own protobuf compiler as an independent encoder and decoder for the protobuf tests:
 * `protoc --encode` turns a message in text format into its binary, `protoc --decode` turns a
 * binary back into text format, both from the `.proto` text alone, with none of Spillway's code
 * or protobufjs in the path. protoc comes from `protoc` on the PATH or from the grpcio-tools
 * Python package (`python3 -m grpc_tools.protoc`), which scripts/bootstrap.sh installs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function protocCommand(): [string, string[]] {
  try {
    execFileSync('protoc', ['--version'], { stdio: 'ignore' });
    return ['protoc', []];
  } catch {
    return ['python3', ['-m', 'grpc_tools.protoc']];
  }
}

const [command, prefix] = protocCommand();

function run(proto: string, mode: '--encode' | '--decode', messageName: string, input: Buffer): Promise<Buffer> {
  const directory = mkdtempSync(join(tmpdir(), 'spillway-protoc-'));
  writeFileSync(join(directory, 'message.proto'), proto);
  return new Promise<Buffer>((resolve, reject) => {
    const child = execFile(
      command,
      [...prefix, `-I${directory}`, `${mode}=${messageName}`, join(directory, 'message.proto')],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        rmSync(directory, { recursive: true, force: true });
        if (error !== null) reject(new Error(`protoc ${mode}=${messageName} failed: ${stderr.toString('utf8')}`, { cause: error }));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input);
  });
}

/** The binary protoc writes for a message given in text format. */
export function protocEncode(proto: string, messageName: string, textFormat: string): Promise<Buffer> {
  return run(proto, '--encode', messageName, Buffer.from(textFormat, 'utf8'));
}

/** The message as protoc reads it from its binary, in text format (one `name: value` per line). */
export async function protocDecode(proto: string, messageName: string, bytes: Buffer): Promise<string> {
  return (await run(proto, '--decode', messageName, bytes)).toString('utf8');
}
