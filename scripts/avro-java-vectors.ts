/**
 * Reads every Avro golden file of the encoder conformance suite with Apache Avro's Java library
 * (test/fixtures/java/AvroGoldenCheck.java) and records what Java reads and writes again in
 * test/fixtures/avro-java-records.jsonl, which test/formats/golden-independent.test.ts compares
 * with the golden files. Needs Java 17+ and Maven (Avro's jars come from Maven Central, once,
 * into the Spillway cache). Run it after `npm run goldens:update` changes an Avro golden file:
 *
 *   npm run vectors:avro-java
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../src/broker/embedded-broker.ts';
import type { AvroEncoder } from '../src/formats/avro.ts';
import { build, cases, goldenFile } from '../test/formats/encoder-cases.ts';

const javaDir = fileURLToPath(new URL('../test/fixtures/java/', import.meta.url));
const libs = join(defaultCacheDir(), 'avro-java-1.12.0', 'libs');
mkdirSync(libs, { recursive: true });
execFileSync('mvn', ['-q', '-B', '-f', join(javaDir, 'avro', 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`], { stdio: 'inherit' });

const work = mkdtempSync(join(tmpdir(), 'spillway-avro-java-'));
try {
  const args: string[] = [];
  for (const testCase of cases.filter((candidate) => candidate.spec.kind === 'avro')) {
    const schemaFile = join(work, `${testCase.name}.avsc`);
    writeFileSync(schemaFile, (build(testCase) as AvroEncoder).schemaText);
    args.push(testCase.name, schemaFile, fileURLToPath(goldenFile(testCase)));
  }
  const classes = join(work, 'classes');
  execFileSync('javac', ['-d', classes, '-cp', join(libs, '*'), join(javaDir, 'AvroGoldenCheck.java')], { stdio: 'inherit' });
  const output = execFileSync('java', ['-cp', `${classes}:${join(libs, '*')}`, 'AvroGoldenCheck', ...args], { encoding: 'utf8' });
  const target = new URL('../test/fixtures/avro-java-records.jsonl', import.meta.url);
  writeFileSync(target, output);
  process.stdout.write(`wrote ${output.trim().split('\n').length} records to ${fileURLToPath(target)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
