/**
 * Custom partitioners: a function given in the TypeScript API, or a module named by path where
 * configuration is text (SQL's `sink.partitioner`, REST JSON). The module is imported
 * synchronously when the sink is planned (Node loads ES modules without top-level await through
 * `require`), so a missing file or export fails before anything connects. Every answer is checked:
 * a partition that is not an integer of the topic fails the sink, naming it and the value.
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Partitioner, PartitionerFunction } from './partitioners.ts';

const requireModule = createRequire(import.meta.url);

function describeResult(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

/** Wraps a partitioner function so that its every answer is checked. */
export function customPartitioner(partition: PartitionerFunction, source: string, sink: string): Partitioner {
  return {
    name: source,
    partition(key, _valueBytes, partitionCount, _writerIndex, value = null) {
      let chosen: unknown;
      try {
        chosen = partition(key, value, partitionCount);
      } catch (error) {
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `sink "${sink}": ${source} threw: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      if (typeof chosen !== 'number' || !Number.isInteger(chosen) || chosen < 0 || chosen >= partitionCount) {
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `sink "${sink}": ${source} returned ${describeResult(chosen)}, which is not a partition of a topic with ` +
            `${partitionCount} partition(s); return an integer from 0 to ${partitionCount - 1} (partitions − 1)`,
        );
      }
      return chosen;
    },
  };
}

/**
 * Imports the module `text` names: `./p.js` (relative to the working directory), `/abs/p.js` or
 * `file:///abs/p.js`, with `#name` to take a named export. Without one, the module's default
 * export, else its `partition` export, else its only exported function.
 */
export function loadPartitionerModule(text: string, sink: string): { partition: PartitionerFunction; source: string } {
  const hash = text.lastIndexOf('#');
  const specifier = hash === -1 ? text : text.slice(0, hash);
  const exportName = hash === -1 ? undefined : text.slice(hash + 1);
  const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : isAbsolute(specifier) ? specifier : resolve(process.cwd(), specifier);
  let loaded: unknown;
  try {
    loaded = requireModule(path);
  } catch (error) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${sink}": cannot import the partitioner module "${text}" (${path}): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}; ` +
        'give the path of a JavaScript or TypeScript module (relative paths start from the working directory)',
      { cause: error },
    );
  }
  const exports = (typeof loaded === 'object' && loaded !== null) || typeof loaded === 'function' ? (loaded as Record<string, unknown>) : {};
  const functions = Object.keys(exports).filter((name) => typeof exports[name] === 'function' && name !== 'default');
  let chosen: unknown;
  let chosenName: string;
  if (exportName !== undefined) {
    chosen = exports[exportName];
    chosenName = exportName;
  } else if (typeof exports.default === 'function') {
    chosen = exports.default;
    chosenName = 'default';
  } else if (typeof exports.partition === 'function') {
    chosen = exports.partition;
    chosenName = 'partition';
  } else if (typeof loaded === 'function') {
    chosen = loaded;
    chosenName = 'module.exports';
  } else {
    chosenName = functions.length === 1 ? (functions[0] as string) : '';
    chosen = chosenName === '' ? undefined : exports[chosenName];
  }
  if (typeof chosen !== 'function') {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${sink}": the partitioner module "${text}" ${exportName === undefined ? 'has no default or "partition" export that is a function' : `has no function export "${exportName}"`}` +
        ` (its function exports: ${functions.length === 0 ? 'none' : functions.join(', ')}); ` +
        'export a function (key, value, partitions) => partition, or name one with "path#exportName"',
    );
  }
  return { partition: chosen as PartitionerFunction, source: `the partitioner "${chosenName}" of "${text}"` };
}
