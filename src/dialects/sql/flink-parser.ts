/**
 * Flink SQL parsing with dt-sql-parser's Flink grammar (ANTLR, on antlr4ng): a full grammar of
 * Flink's dialect, so every statement Flink accepts parses, and syntax errors come with a line
 * and column. Spillway then translates only the constructs it supports (see ast.ts), refusing the
 * rest at their position.
 *
 * dt-sql-parser ships ES modules whose relative imports have no file extension, which Node's own
 * resolver refuses. A resolve hook (module.registerHooks, Node ≥ 22.15) adds the extension for
 * that package alone; the grammar is then imported on first use, so Spillway programs that never
 * parse SQL do not pay for loading it.
 */
import { registerHooks } from 'node:module';
import { ErrorCode, SpillwayError } from '../../errors.ts';

/** The part of an ANTLR parse tree node that the translator reads. */
export interface ParseNode {
  readonly children?: ParseNode[] | null;
  /** A rule node's first token (line 1-based, column 0-based). */
  readonly start?: { readonly line: number; readonly column: number } | null;
  /** A terminal node's token. */
  readonly symbol?: { readonly line: number; readonly column: number; readonly text?: string | undefined };
  getText(): string;
}

interface ParseError {
  readonly startLine: number;
  readonly startColumn: number;
  readonly message: string;
}

interface LexedToken {
  readonly type: number;
  readonly channel: number;
  readonly line: number;
  readonly column: number;
  readonly start: number;
  readonly stop: number;
}

interface FlinkSqlParser {
  parse(input: string, errorListener?: (error: ParseError) => void): ParseNode;
  createLexer(input: string): { getAllTokens(): LexedToken[]; readonly vocabulary: { getSymbolicName(type: number): string | null } };
}

/**
 * The WITH option Spillway adds to a CREATE TABLE that has none (Flink's grammar as dt-sql-parser
 * has it requires a WITH clause; Flink itself accepts the table and Spillway makes it an input table).
 */
export const INPUT_TABLE_MARKER = 'spillway.input-table';
const MARKER_TEXT = ` WITH ('${INPUT_TABLE_MARKER}' = 'true')`;

/** Maps a position in the text as parsed back to the text as written (1-based line, 0-based column). */
export type PositionMap = (line: number, column: number) => { line: number; column: number };

export interface ParsedSql {
  readonly tree: ParseNode;
  /** The text the tree's token offsets refer to. */
  readonly text: string;
  readonly map: PositionMap;
}

/**
 * Flink's CHAR_LENGTH and CHARACTER_LENGTH are LENGTH under another name, but dt-sql-parser's
 * grammar lexes them as keywords that cannot start a call. Each such keyword followed by `(` is
 * rewritten to LENGTH padded with spaces to the same length, so every line and column after it
 * stays where it was written (a quoted `CHAR_LENGTH` identifier is another token and is left alone).
 */
function renameLengthCalls(parser: FlinkSqlParser, text: string): string {
  const lexer = parser.createLexer(text);
  const tokens = lexer.getAllTokens().filter((token) => token.channel === 0);
  let renamed = '';
  let from = 0;
  tokens.forEach((token, index) => {
    const name = lexer.vocabulary.getSymbolicName(token.type);
    if (name !== 'KW_CHAR_LENGTH' && name !== 'KW_CHARACTER_LENGTH') return;
    const next = tokens[index + 1];
    if (next === undefined || lexer.vocabulary.getSymbolicName(next.type) !== 'LR_BRACKET') return;
    renamed += text.slice(from, token.start) + 'LENGTH'.padEnd(token.stop + 1 - token.start, ' ');
    from = token.stop + 1;
  });
  return from === 0 ? text : renamed + text.slice(from);
}

/** Inserts the input-table marker after each `CREATE TABLE name (…)` followed by `;` or the end. */
function markInputTables(parser: FlinkSqlParser, text: string): { text: string; map: PositionMap } {
  const lexer = parser.createLexer(text);
  const tokens = lexer.getAllTokens().filter((token) => token.channel === 0);
  const name = (token: LexedToken | undefined) => (token === undefined ? 'EOF' : (lexer.vocabulary.getSymbolicName(token.type) ?? ''));
  const insertions: { offset: number; line: number; column: number }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (name(tokens[i]) !== 'KW_CREATE') continue;
    let j = i + 1;
    if (name(tokens[j]) === 'KW_TEMPORARY') j++;
    if (name(tokens[j]) !== 'KW_TABLE') continue;
    while (j < tokens.length && name(tokens[j]) !== 'LR_BRACKET' && name(tokens[j]) !== 'SEMICOLON') j++;
    if (name(tokens[j]) !== 'LR_BRACKET') continue;
    let depth = 0;
    for (; j < tokens.length; j++) {
      if (name(tokens[j]) === 'LR_BRACKET') depth++;
      else if (name(tokens[j]) === 'RR_BRACKET' && --depth === 0) break;
    }
    const close = tokens[j];
    const after = name(tokens[j + 1]);
    if (close !== undefined && (after === 'SEMICOLON' || after === 'EOF')) {
      insertions.push({ offset: close.stop + 1, line: close.line, column: close.column + 1 });
    }
  }
  if (insertions.length === 0) return { text, map: (line, column) => ({ line, column }) };
  let marked = '';
  let from = 0;
  for (const insertion of insertions) {
    marked += text.slice(from, insertion.offset) + MARKER_TEXT;
    from = insertion.offset;
  }
  marked += text.slice(from);
  return {
    text: marked,
    map: (line, column) => {
      let shift = 0;
      for (const insertion of insertions) {
        if (insertion.line !== line || column < insertion.column) continue;
        // A position inside the marker itself is the end of the column list as written.
        shift += Math.min(MARKER_TEXT.length, column - insertion.column);
      }
      return { line, column: column - shift };
    },
  };
}

let hooked = false;
let loading: Promise<FlinkSqlParser> | undefined;
let loaded: FlinkSqlParser | undefined;

/**
 * Parses `SELECT (<expression>) FROM t` with the parser already loaded, returning the
 * parenthesized expression's node: the grammar reads some select items without an alias
 * (`a - 1`, `1 + a`, `f(x)`) as a column followed by an alias expression, and the
 * parentheses make it read them as one expression. Positions are those of the new text.
 */
export function parseParenthesized(expression: string): ParseNode | undefined {
  if (loaded === undefined) return undefined;
  const errors: ParseError[] = [];
  const tree = loaded.parse(`SELECT (${expression}) FROM t`, (error) => errors.push(error));
  if (errors.length > 0) return undefined;
  let node: ParseNode | undefined = tree;
  while (node !== undefined && node.constructor.name !== 'ParenthesizedExpressionContext') {
    node = (node.children ?? []).find((child) => child.children !== undefined && child.children !== null && child.children.length > 0 && child.getText().includes('('));
  }
  return node;
}

function hookExtensionlessImports(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL?.includes('/dt-sql-parser/') === true && /^\.\.?\//.test(specifier) && !/\.[cm]?js$/.test(specifier)) {
        try {
          return nextResolve(`${specifier}.js`, context);
        } catch {
          return nextResolve(`${specifier}/index.js`, context);
        }
      }
      return nextResolve(specifier, context);
    },
  });
}

async function loadParser(): Promise<FlinkSqlParser> {
  hookExtensionlessImports();
  // The Flink parser alone, not the package index (which loads every dialect's grammar).
  const module = (await import('dt-sql-parser/dist/parser/flink/index.js')) as { FlinkSQL: new () => FlinkSqlParser };
  return new module.FlinkSQL();
}

/** Parses Flink SQL text into its parse tree; a syntax error fails with its line and column. */
export async function parseFlinkSql(text: string, source = 'SQL'): Promise<ParsedSql> {
  loading ??= loadParser();
  const parser = await loading;
  loaded = parser;
  const marked = markInputTables(parser, renameLengthCalls(parser, text));
  const errors: ParseError[] = [];
  const tree = parser.parse(marked.text, (error) => errors.push(error));
  const first = errors[0];
  if (first !== undefined) {
    const at = marked.map(first.startLine, first.startColumn - 1);
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}:${at.line}:${at.column + 1}: syntax error: ${first.message}`, {
      details: { line: at.line, column: at.column + 1, hint: 'Spillway reads Flink SQL; see docs/sql.md for the statements it runs' },
    });
  }
  return { tree, text: marked.text, map: marked.map };
}
