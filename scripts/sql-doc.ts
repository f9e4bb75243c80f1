/**
 * Renders docs/sql.md (the SQL front door, its WITH-key table generated from the key catalog and
 * the sink spec's JSON Schema) and docs/sink-spec.schema.json (the JSON Schema itself).
 */
import { writeFileSync } from 'node:fs';
import { AGGREGATE_FUNCTIONS, SQL_FUNCTIONS } from '../src/dialects/sql/expressions.ts';
import { WITH_KEYS } from '../src/dialects/sql/with-options.ts';
import { EXIT_CODES } from '../src/cli/exit-codes.ts';
import { sinkSpecFieldSchema, sinkSpecJsonSchema } from '../src/sink/spec-json-schema.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|');

function specField(field: string | undefined): string {
  if (field === undefined) return '—';
  const schema = sinkSpecFieldSchema(field) as { description?: string; enum?: string[]; anyOf?: { enum?: string[] }[] } | undefined;
  const values = schema?.enum ?? schema?.anyOf?.flatMap((option) => option.enum ?? []);
  return `\`${field}\`${schema?.description === undefined ? '' : `: ${schema.description}`}${values === undefined || values.length === 0 ? '' : ` (spec values: ${values.map((value) => `\`${value}\``).join(', ')})`}`;
}

export function renderSqlDoc(): string {
  const rows = WITH_KEYS.map((entry) => `| \`${entry.key}\` | ${entry.connectors.join(', ')} | ${entry.role === 'both' ? 'read, written' : entry.role === 'sink' ? 'written' : 'read'} | ${cell(entry.description)} | ${cell(specField(entry.field))} |`);
  return [
    '# SQL (Flink / DLI)',
    '',
    'Spillway runs Flink SQL jobs: `spillway run job.sql`, or `runSql(text)` / `runSqlFile(path)` from TypeScript',
    "(`validateSql` checks a job without connecting). Statements are parsed with dt-sql-parser's full Flink grammar;",
    'the constructs below are translated into the one sink spec and the incremental table operators, and anything else',
    'is refused at its line and column, saying what is supported.',
    '',
    '## Statements',
    '',
    '- `CREATE TABLE name (col TYPE [NOT NULL], …, [PRIMARY KEY (cols) NOT ENFORCED]) [WITH (…)]`: a sink (`kafka`,',
    '  `upsert-kafka`) when written, a source (`datagen`, `filesystem`, `kafka`, `upsert-kafka`) when read; without a',
    '  connector, an input table the program (`job.inputs`) or the REST service feeds.',
    '- `CREATE VIEW name AS SELECT …`: a named query.',
    '- `INSERT INTO sink [(cols)] SELECT items FROM table [WHERE condition] [GROUP BY columns]`: starts a sink. Columns',
    "  go by position (or by the column list); a query's type must be the sink column's or widen to it (INT → BIGINT,",
    '  DOUBLE, DECIMAL; DATE → TIMESTAMP), otherwise CAST it. Aggregates make the query an aggregation (one row per',
    '  group, or one row without GROUP BY) whose rows update and retract as the source changes, so write it in upsert',
    '  or retract mode.',
    '',
    'Not supported (refused with their position): joins, subqueries, UNION, ORDER BY, LIMIT, DISTINCT, windows,',
    'WATERMARK, computed and metadata columns, table aliases and qualified columns, CREATE TABLE AS, statement sets.',
    '',
    '## Types',
    '',
    '| Flink | Spillway |',
    '| --- | --- |',
    '| `STRING`, `VARCHAR(n)`, `CHAR(n)` | string |',
    '| `BOOLEAN` | boolean |',
    '| `TINYINT`, `SMALLINT`, `INT`, `INTEGER` | int32 |',
    '| `BIGINT` | int64 |',
    '| `FLOAT`, `REAL`, `DOUBLE` | float64 |',
    '| `DECIMAL(p, s)`, `NUMERIC` | decimal (p, s); default (10, 0) |',
    '| `DATE` | date |',
    '| `TIMESTAMP(p)`, `TIMESTAMP_LTZ(p)` | timestamp in ms (p ≤ 3), µs (p ≤ 6, the default) or ns |',
    '| `BYTES`, `VARBINARY(n)`, `BINARY(n)` | bytes |',
    '',
    'Columns are nullable unless `NOT NULL` or in the primary key, as in Flink.',
    '',
    '## Expressions',
    '',
    'Columns, literals (numbers, `\'text\'`, `TRUE`, `FALSE`, `NULL`), `+ - * / %`, `||`, `= <> < <= > >=`, `AND`, `OR`,',
    '`NOT`, `IS [NOT] NULL`, `[NOT] IN (…)`, `[NOT] BETWEEN a AND b`, `[NOT] LIKE \'pattern\'` (`%`, `_`),',
    '`CASE WHEN … THEN … [ELSE …] END`, `CAST(x AS type)`, and the functions',
    `${SQL_FUNCTIONS.map((name) => `\`${name}\``).join(', ')}; aggregates ${AGGREGATE_FUNCTIONS.map((name) => `\`${name}\``).join(', ')} (\`COUNT(*)\`, and one column or expression each).`,
    "NULL propagates; AND/OR are three-valued; WHERE keeps rows whose condition is TRUE. INT and BIGINT arithmetic wraps",
    "as Java's does, integer division truncates, and division by zero fails the row. Arithmetic on DECIMAL is refused",
    '(CAST to DOUBLE). `CHAR_LENGTH(…)` and `CHARACTER_LENGTH(…)` are `LENGTH(…)` (the parser\'s grammar lexes them as keywords, so',
    'Spillway renames the call before parsing, padded so that error positions stay where they are written).',
    '',
    '## WITH options',
    '',
    'Every key is either translated as below or refused, naming the nearest key. The last column is the sink spec',
    'field the key sets, described by the spec\'s JSON Schema ([sink-spec.schema.json](sink-spec.schema.json)).',
    'Generated by `node scripts/sql-doc.ts`.',
    '',
    '| key | connectors | when the table is | meaning | sink spec field |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Key and value format options take a `key.` or `value.` prefix when the format is given as `key.format` /',
    "`value.format` (`'value.csv.field-delimiter' = ';'`). The Flink keys `'scan.startup.mode'` default to",
    '`earliest-offset` (there is no consumer group to start from). A filesystem table reads CSV without a header, as',
    'Flink does.',
    "",
    "`sink.buffer-flush.*` (upsert-kafka), as in Flink: changes are buffered and each key's last one written when",
    "`interval` passes or `max-rows` changes wait, whichever comes first (the trigger `{ interval, maxRows }`);",
    "both `0` writes every change. `max-rows` without an interval, or `0` with one, is refused; the interval alone",
    "is accepted (each key's last row per interval).",
    "",
    "## A program of tables and views",
    "",
    "`buildSqlRelations(text, options)` (from `src/dialects/sql/job.ts`) builds a program with no INSERT INTO, as",
    "Feldera's programs are: every `CREATE TABLE` without a connector becomes an input table and every `CREATE VIEW`",
    "the live table of its query, returned as `{ inputs, relations, warnings }` (`relations` holds tables and views",
    "by name, in order). Nothing is read or connected; the REST service's pipelines use it. An INSERT INTO, a table",
    "with a connector, or a program without a table is refused at its position.",
    "",
    "```ts",
    "const { inputs, relations } = await buildSqlRelations(",
    "  'CREATE TABLE sales (id INT, qty INT); CREATE VIEW big AS SELECT id FROM sales WHERE qty > 1;');",
    "inputs.get('sales')?.add([{ id: 1, qty: 3 }]); // relations.get('big') now holds id 1",
    "```",
    '',
    '## The DLI example',
    '',
    '```sql',
    'create table cars (car_id STRING, car_owner STRING, car_brand STRING, car_speed INT)',
    "  with ('connector' = 'filesystem', 'path' = 'cars.csv', 'format' = 'csv');",
    'create table kafkaSink(',
    '  car_id STRING,',
    '  car_owner STRING,',
    '  car_brand STRING,',
    '  car_speed INT)',
    'with (',
    "  'connector.type' = 'kafka',",
    "  'connector.version' = '0.10',",
    "  'connector.topic' = 'test-topic',",
    "  'connector.properties.bootstrap.servers' = '127.0.0.1:9092',",
    "  'connector.sink-partitioner' = 'round-robin',",
    "  'format.type' = 'csv'",
    ');',
    'insert into kafkaSink select * from cars;',
    '```',
    '',
    'Each row becomes one CSV record (`C-001,Ann Lee,BMW,120`, RFC 4180 quoting, no key), the partitions taken in turn.',
    "A custom partitioner is a JavaScript module: `'connector.sink-partitioner' = 'custom',",
    "'connector.sink-partitioner-class' = './my-partitioner.js'`, where the module exports",
    '`partition(key, value, partitions)` returning a partition number (key and value are Buffers or null).',
    '',
  ].join('\n');
}

export function renderCliDoc(): string {
  const codes = Object.entries(EXIT_CODES)
    .sort(([, a], [, b]) => a - b)
    .map(([code, exit]) => `| ${exit} | an error with code \`${code}\` |`);
  return [
    '# The command line',
    '',
    '`spillway <command> --help` prints every option with an example. Progress goes to stderr: on a terminal one line',
    'redrawn in place (rows, records, records/s, bytes, errors, elapsed); otherwise a plain line every five seconds and',
    'one at the end. An error prints one line, `spillway [CODE]: message`; `--verbose` adds the stack and causes.',
    '',
    '## Commands',
    '',
    '- `spillway run job.sql [--no-progress]`: runs a Flink SQL job ([sql.md](sql.md)) until its sources end (exit 0),',
    '  or until Ctrl-C, which writes what is queued and exits 0; a second Ctrl-C quits at once (exit 130).',
    '- `spillway validate job.sql`: parses, translates and plans every sink without connecting or reading files;',
    '  prints one line per sink. `spillway validate spec.json [--schema "id BIGINT, …"]`: a sink spec',
    '  ([sink-spec.schema.json](sink-spec.schema.json)), alone or as `{ "table": "id BIGINT, …", "sink": { … } }`;',
    '  without columns only the spec and its Kafka properties are checked, and it says so.',
    '- `spillway produce -t topic [-b brokers] [-f file | stdin]`: a CSV or NDJSON file (`--input csv|ndjson`, else by',
    '  its name) to a topic. `--schema "id BIGINT, name STRING"` (Flink types; a CSV file with a header needs none:',
    '  its columns are STRING), `--delimiter`, `--no-header`, `--follow`; `-k`/`--key` and `-v`/`--value` take',
    '  `ignore`, `json[:cols]`, `csv[:cols]`, `avro[:cols]`, `simple:col` or `raw:col`; `--format json|csv|avro`',
    '  (the value over all columns), `--mode append|retract|upsert`, `--primary-key cols`, `-p`/`--partitioner`',
    '  (a name or `./module.js`), `--delivery at-least-once|none`, `-X name=value` Kafka properties (repeatable, as',
    '  kcat takes them), `--dry-run` (check and say what would be written, without connecting).',
    '- `spillway broker start|stop|status`, `spillway demo`: the embedded broker and the demo.',
    '',
    '## Exit codes',
    '',
    'Exit codes follow the error code, so scripts can tell a mistake in the configuration from a broker that is away.',
    'Generated from `src/cli/exit-codes.ts` by `node scripts/sql-doc.ts`.',
    '',
    '| exit | meaning |',
    '| --- | --- |',
    '| 0 | done: the sources ended (or Ctrl-C) and everything was written |',
    '| 1 | an unexpected error (`INTERNAL`, or not a Spillway error) |',
    '| 2 | a wrong command line (unknown command or option, missing argument) |',
    '| 3 | `broker status`: the broker is not running |',
    ...codes.filter((line) => !line.startsWith('| 1 |')),
    '| 130 | a second Ctrl-C: quit without writing what was queued |',
    '',
    'Spillway needs Node ≥ 22.18; on an older Node `spillway` says so in one line and exits 1.',
    '',
  ].join('\n');
}

export function renderSpecSchema(): string {
  return `${JSON.stringify(sinkSpecJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  writeFileSync(new URL('../docs/sql.md', import.meta.url), renderSqlDoc());
  writeFileSync(new URL('../docs/sink-spec.schema.json', import.meta.url), renderSpecSchema());
  writeFileSync(new URL('../docs/cli.md', import.meta.url), renderCliDoc());
}
