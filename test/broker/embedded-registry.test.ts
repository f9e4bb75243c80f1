/**
 * The embedded schema registry: a real Apicurio start and stop with fresh in-memory storage,
 * and the errors met before one runs — Java or Maven missing, a version Maven Central lacks, an
 * unpacked directory without a launcher, a Java too old for the release, a registry that exits.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { processAlive } from '../../src/broker/embedded-broker.ts';
import { APICURIO_VERSION, ensureApicurio, startRegistry } from '../../src/broker/embedded-registry.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'spillway-registry-test-'));
}

/** A zip archive of stored (uncompressed) entries: enough for a jar the JVM will open. */
function storedZip(entries: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** An unpacked "release" whose launcher is the given jar bytes, marked complete so nothing is fetched. */
function fakeRelease(jar: Buffer): { cacheDir: string; version: string } {
  const cacheDir = scratchDir();
  const version = 'fake';
  const appDir = join(cacheDir, `apicurio-registry-${version}`);
  mkdirSync(appDir);
  writeFileSync(join(appDir, '.complete'), '');
  writeFileSync(join(appDir, 'quarkus-run.jar'), jar);
  return { cacheDir, version };
}

function withPath<T>(path: string, run: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return run();
  } finally {
    process.env.PATH = saved;
  }
}

function isRegistryError(message: string | RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof SpillwayError, String(error));
    assert.equal(error.code, ErrorCode.SchemaRegistry);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

describe('embedded schema registry', () => {
  it('starts Apicurio on 127.0.0.1 with empty in-memory storage, and stops it', async () => {
    const registry = await startRegistry();
    try {
      assert.match(registry.url, /^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
      const subjects = await fetch(`${registry.url}/subjects`);
      assert.equal(subjects.status, 200);
      assert.deepEqual(await subjects.json(), []);
    } finally {
      await registry.stop();
    }
    assert.equal(processAlive(registry.pid), false);
    await assert.rejects(fetch(`${registry.url}/subjects`));
  });

  it('names Java, then Maven, when either is missing', () => {
    const empty = scratchDir();
    const cacheDir = scratchDir();
    assert.throws(
      () => withPath(empty, () => ensureApicurio({ cacheDir, version: APICURIO_VERSION })),
      isRegistryError(
        'the embedded schema registry needs Java 17 or newer, but `java` was not found or failed. ' +
          'Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless), or point Spillway at a running registry with SCHEMA_REGISTRY_URL.',
      ),
    );
    const javaOnly = scratchDir();
    const java = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(java, join(javaOnly, 'java'));
    assert.throws(
      () => withPath(javaOnly, () => ensureApicurio({ cacheDir, version: APICURIO_VERSION })),
      isRegistryError(
        'the embedded schema registry needs Maven, but `mvn` was not found or failed. ' +
          'Install it (Debian/Ubuntu: apt-get install maven), or point Spillway at a running registry with SCHEMA_REGISTRY_URL.',
      ),
    );
    for (const dir of [empty, cacheDir, javaOnly]) rmSync(dir, { recursive: true, force: true });
  });

  it('names the artifact when Maven Central does not have the version', () => {
    const cacheDir = scratchDir();
    assert.throws(
      () => ensureApicurio({ cacheDir, version: '0.0.0-no-such-release' }),
      isRegistryError(
        /^Maven could not fetch io\.apicurio:apicurio-registry-app:0\.0\.0-no-such-release:tar\.gz:all from Maven Central \(exit 1\): Failed to execute goal .*0\.0\.0-no-such-release.*\. Check that Maven Central is reachable and the version exists, or set SCHEMA_REGISTRY_URL to use a running registry\.$/s,
      ),
    );
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('refuses an unpacked release without a launcher jar', async () => {
    const cacheDir = scratchDir();
    const appDir = join(cacheDir, 'apicurio-registry-empty');
    mkdirSync(appDir);
    writeFileSync(join(appDir, '.complete'), '');
    await assert.rejects(
      startRegistry({ cacheDir, version: 'empty' }),
      isRegistryError(`${appDir} holds no quarkus-run.jar or *-runner.jar; delete the directory to fetch it again`),
    );
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('says which Java a release needs when it was compiled for a newer one', async () => {
    // A class file declaring version 99: every Java this test runs on refuses to load it.
    const tooNew = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 99, 0, 0]);
    const release = fakeRelease(storedZip({ 'META-INF/MANIFEST.MF': Buffer.from('Manifest-Version: 1.0\r\nMain-Class: Old\r\n\r\n'), 'Old.class': tooNew }));
    await assert.rejects(
      startRegistry(release),
      isRegistryError(
        `Apicurio Registry in ${join(release.cacheDir, 'apicurio-registry-fake')} needs a newer Java than this machine's; ` +
          `install Java 21, or use version ${APICURIO_VERSION} (SPILLWAY_APICURIO_VERSION), which runs on Java 17`,
      ),
    );
    rmSync(release.cacheDir, { recursive: true, force: true });
  });

  it('quotes the log when the registry exits during start-up', async () => {
    const release = fakeRelease(Buffer.from('not a jar'));
    await assert.rejects(startRegistry(release), isRegistryError(/^the schema registry exited during start-up \(exit 1\); last log lines:\n.*[Ii]nvalid or corrupt jarfile/));
    rmSync(release.cacheDir, { recursive: true, force: true });
  });
});
