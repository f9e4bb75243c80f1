/**
 * From Flink's parse tree to the small syntax tree Spillway runs: CREATE TABLE, CREATE VIEW and
 * INSERT INTO … SELECT … FROM … [WHERE …] [GROUP BY …], with expressions of columns, literals,
 * arithmetic, comparisons, AND / OR / NOT, IS [NOT] NULL, [NOT] IN, BETWEEN, [NOT] LIKE, CASE,
 * CAST and function calls. Anything else Flink's grammar accepts is refused here, at its line and
 * column, saying what is supported.
 */
import { ErrorCode, SpillwayError } from '../../errors.ts';
import { type ParseNode, type ParsedSql, type PositionMap, parseParenthesized } from './flink-parser.ts';

/** 1-based line and column of a construct in the SQL text. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export type Expression = (
  | { readonly kind: 'column'; readonly name: string }
  | { readonly kind: 'literal'; readonly value: string | number | bigint | boolean | null; readonly text: string }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly operand: Expression }
  | { readonly kind: 'binary'; readonly op: '+' | '-' | '*' | '/' | '%' | '||'; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'compare'; readonly op: '=' | '<>' | '<' | '<=' | '>' | '>='; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'logical'; readonly op: 'AND' | 'OR'; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'not'; readonly operand: Expression }
  | { readonly kind: 'isNull'; readonly negated: boolean; readonly operand: Expression }
  | { readonly kind: 'in'; readonly negated: boolean; readonly operand: Expression; readonly list: readonly Expression[] }
  | { readonly kind: 'between'; readonly negated: boolean; readonly operand: Expression; readonly low: Expression; readonly high: Expression }
  | { readonly kind: 'like'; readonly negated: boolean; readonly operand: Expression; readonly pattern: Expression }
  | { readonly kind: 'case'; readonly whens: readonly { readonly when: Expression; readonly then: Expression }[]; readonly otherwise: Expression | undefined }
  | { readonly kind: 'cast'; readonly operand: Expression; readonly type: SqlType }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expression[]; readonly star: boolean; readonly distinct: boolean }
) & { readonly at: Position; readonly text: string };

/** A column type as written: `DECIMAL(10, 2)` is { name: 'DECIMAL', params: [10, 2] }. */
export interface SqlType {
  readonly name: string;
  readonly params: readonly number[];
  readonly text: string;
  readonly at: Position;
}

export interface SelectItem {
  readonly expression: Expression;
  readonly alias: string | undefined;
}

export interface Query {
  readonly items: readonly SelectItem[] | 'star';
  readonly from: { readonly name: string; readonly at: Position };
  readonly where: Expression | undefined;
  readonly groupBy: readonly { readonly name: string; readonly at: Position }[] | undefined;
  readonly at: Position;
}

export interface ColumnDefinition {
  readonly name: string;
  readonly type: SqlType;
  readonly notNull: boolean;
  readonly at: Position;
}

export interface TableOption {
  readonly key: string;
  readonly value: string;
  readonly at: Position;
}

export type Statement =
  | {
      readonly kind: 'createTable';
      readonly name: string;
      readonly columns: readonly ColumnDefinition[];
      readonly primaryKey: readonly string[] | undefined;
      readonly options: readonly TableOption[];
      readonly at: Position;
    }
  | { readonly kind: 'createView'; readonly name: string; readonly query: Query; readonly at: Position }
  | { readonly kind: 'insert'; readonly target: string; readonly columns: readonly string[] | undefined; readonly query: Query; readonly at: Position };

const SUPPORTED_STATEMENTS = 'CREATE TABLE, CREATE VIEW … AS SELECT and INSERT INTO … SELECT';
const SUPPORTED_EXPRESSIONS =
  'columns, literals, + - * / %, ||, comparisons, AND, OR, NOT, IS [NOT] NULL, [NOT] IN, BETWEEN, [NOT] LIKE, CASE WHEN, CAST and the functions listed in docs/sql.md';

function kindOf(node: ParseNode): string {
  return node.constructor.name.replace(/Context$/, '');
}

let mapPosition: PositionMap = (line, column) => ({ line, column });

function positionOf(node: ParseNode): Position {
  const token = node.start ?? node.symbol;
  const at = mapPosition(token?.line ?? 1, token?.column ?? 0);
  return { line: at.line, column: at.column + 1 };
}

function childrenOf(node: ParseNode): ParseNode[] {
  return node.children ?? [];
}

function isTerminal(node: ParseNode): boolean {
  return node.symbol !== undefined && (node.children === undefined || node.children === null || node.children.length === 0);
}

/** The rule nodes among a node's children. */
function rules(node: ParseNode): ParseNode[] {
  return childrenOf(node).filter((child) => !isTerminal(child));
}

/** The upper-cased texts of a node's terminal children. */
function words(node: ParseNode): string[] {
  return childrenOf(node)
    .filter(isTerminal)
    .map((child) => child.getText().toUpperCase());
}

function find(node: ParseNode, kind: string): ParseNode | undefined {
  return childrenOf(node).find((child) => kindOf(child) === kind);
}

function findAll(node: ParseNode, kind: string): ParseNode[] {
  return childrenOf(node).filter((child) => kindOf(child) === kind);
}

/** Walks down single-child chains to the first node of one of `kinds`. */
function descend(node: ParseNode, kinds: readonly string[]): ParseNode | undefined {
  let current: ParseNode | undefined = node;
  while (current !== undefined) {
    if (kinds.includes(kindOf(current))) return current;
    const inner = rules(current);
    current = inner.length === 1 ? inner[0] : undefined;
  }
  return undefined;
}

export function sqlError(source: string, at: Position, message: string, hint?: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidConfig, `${source}:${at.line}:${at.column}: ${message}`, {
    details: { line: at.line, column: at.column, ...(hint === undefined ? {} : { hint }) },
  });
}

/** An identifier's name: backquotes removed (``a``b`` is a`b), otherwise as written. */
export function identifier(text: string): string {
  if (text.startsWith('`') && text.endsWith('`')) return text.slice(1, -1).replaceAll('``', '`');
  return text;
}

function unquoteString(text: string): string {
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replaceAll("''", "'");
  return text;
}

class Translator {
  readonly #source: string;
  readonly #text: string;

  constructor(source: string, text: string) {
    this.#source = source;
    this.#text = text;
  }

  #refuse(node: ParseNode, what: string, supported: string): never {
    throw sqlError(this.#source, positionOf(node), `${what} is not supported; Spillway supports ${supported}`);
  }

  /** The original text of a node (with its spaces), for messages and column names. */
  #original(node: ParseNode): string {
    const first = node.start ?? node.symbol;
    const stop = (node as { stop?: { stop?: number } | null }).stop;
    const begin = (first as { start?: number } | null | undefined)?.start;
    if (typeof begin === 'number' && typeof stop?.stop === 'number') return this.#text.slice(begin, stop.stop + 1);
    if (typeof begin === 'number' && node.symbol !== undefined) return node.getText();
    return node.getText();
  }

  program(tree: ParseNode): Statement[] {
    const statements: Statement[] = [];
    for (const single of findAll(tree, 'SingleStatement')) {
      const statement = rules(single)[0];
      if (statement === undefined) continue;
      statements.push(this.#statement(statement));
    }
    return statements;
  }

  #statement(node: ParseNode): Statement {
    const found = descend(node, ['SimpleCreateTable', 'CreateView', 'InsertSimpleStatement', 'CreateTableAsSelect', 'InsertMulStatement', 'InsertMulStatementCompatibility']);
    switch (found === undefined ? '' : kindOf(found)) {
      case 'SimpleCreateTable':
        return this.#createTable(found as ParseNode);
      case 'CreateView':
        return this.#createView(found as ParseNode);
      case 'InsertSimpleStatement':
        return this.#insert(found as ParseNode);
      default:
        this.#refuse(found ?? node, `the statement "${this.#original(node).split(/\s+/).slice(0, 3).join(' ')}"`, SUPPORTED_STATEMENTS);
    }
  }

  #tablePath(node: ParseNode): string {
    return identifier(node.getText());
  }

  #createTable(node: ParseNode): Statement {
    const path = find(node, 'TablePathCreate');
    if (path === undefined) this.#refuse(node, 'this CREATE TABLE', SUPPORTED_STATEMENTS);
    if (words(node).includes('TEMPORARY') || find(node, 'IfNotExists') !== undefined) {
      // Both only change catalog behaviour Spillway has no catalog for; say so rather than ignore them.
      this.#refuse(node, 'CREATE TEMPORARY TABLE and IF NOT EXISTS', 'CREATE TABLE name (…) WITH (…)');
    }
    const columns: ColumnDefinition[] = [];
    let primaryKey: string[] | undefined;
    for (const child of rules(node)) {
      switch (kindOf(child)) {
        case 'TablePathCreate':
        case 'WithOption':
          break;
        case 'ColumnOptionDefinition': {
          const physical = descend(child, ['PhysicalColumnDefinition']);
          if (physical === undefined) this.#refuse(child, 'a computed or metadata column', 'physical columns: name TYPE [NOT NULL]');
          columns.push(this.#column(physical));
          break;
        }
        case 'TableConstraint': {
          if (!words(child).includes('PRIMARY')) this.#refuse(child, 'this table constraint', 'PRIMARY KEY (columns) NOT ENFORCED');
          const list = find(child, 'ColumnNameList');
          primaryKey = list === undefined ? [] : findAll(list, 'ColumnName').map((name) => identifier(name.getText()));
          break;
        }
        case 'WatermarkDefinition':
          this.#refuse(child, 'WATERMARK', 'physical columns, PRIMARY KEY … NOT ENFORCED and WITH options');
          break;
        default:
          this.#refuse(child, `"${this.#original(child)}" in CREATE TABLE`, 'physical columns, PRIMARY KEY … NOT ENFORCED and WITH options');
      }
    }
    if (find(node, 'CommentSpec') !== undefined || find(node, 'PartitionDefinition') !== undefined || find(node, 'LikeDefinition') !== undefined) {
      this.#refuse(node, 'COMMENT, PARTITIONED BY and LIKE in CREATE TABLE', 'physical columns, PRIMARY KEY … NOT ENFORCED and WITH options');
    }
    const options: TableOption[] = [];
    const withOption = find(node, 'WithOption');
    const list = withOption === undefined ? undefined : find(withOption, 'TablePropertyList');
    for (const property of list === undefined ? [] : findAll(list, 'TableProperty')) {
      const key = find(property, 'TablePropertyKey');
      const value = find(property, 'TablePropertyValue');
      if (key === undefined || value === undefined) this.#refuse(property, 'a WITH option without a value', "'key' = 'value' options");
      options.push({ key: unquoteString(key.getText()), value: unquoteString(value.getText()), at: positionOf(property) });
    }
    return { kind: 'createTable', name: this.#tablePath(path), columns, primaryKey, options, at: positionOf(node) };
  }

  #column(node: ParseNode): ColumnDefinition {
    const name = find(node, 'ColumnNameCreate');
    const type = find(node, 'ColumnType');
    if (name === undefined || type === undefined) this.#refuse(node, 'this column', 'name TYPE [NOT NULL]');
    let notNull = false;
    for (const constraint of findAll(node, 'ColumnConstraint')) {
      const said = words(constraint);
      if (said.join(' ') === 'NOT NULL') notNull = true;
      else if (said.join(' ') !== 'NULL') this.#refuse(constraint, `the column constraint "${this.#original(constraint)}"`, 'NOT NULL (and PRIMARY KEY as a table constraint)');
    }
    if (find(node, 'CommentSpec') !== undefined) this.#refuse(node, 'a column COMMENT', 'name TYPE [NOT NULL]');
    return { name: identifier(name.getText()), type: this.#type(type), notNull, at: positionOf(node) };
  }

  #type(node: ParseNode): SqlType {
    const text = this.#original(node);
    const params = (text.match(/\(([^)]*)\)/)?.[1] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map(Number);
    const name = text.replace(/\([^)]*\)/, '').replace(/\s+/g, ' ').trim().toUpperCase();
    return { name, params, text, at: positionOf(node) };
  }

  #createView(node: ParseNode): Statement {
    const query = find(node, 'QueryStatement');
    const name = rules(node).find((child) => kindOf(child) !== 'QueryStatement' && kindOf(child) !== 'ColumnNameList');
    if (query === undefined || name === undefined) this.#refuse(node, 'this CREATE VIEW', 'CREATE VIEW name AS SELECT …');
    if (find(node, 'ColumnNameList') !== undefined) this.#refuse(node, 'a column list on CREATE VIEW', 'CREATE VIEW name AS SELECT … with AS aliases');
    if (words(node).includes('TEMPORARY')) this.#refuse(node, 'CREATE TEMPORARY VIEW', 'CREATE VIEW name AS SELECT …');
    return { kind: 'createView', name: identifier(name.getText()), query: this.#query(query), at: positionOf(node) };
  }

  #insert(node: ParseNode): Statement {
    const target = find(node, 'TablePath');
    const query = find(node, 'QueryStatement');
    if (target === undefined || query === undefined) this.#refuse(node, 'this INSERT', 'INSERT INTO table SELECT …');
    if (words(node).includes('OVERWRITE')) this.#refuse(node, 'INSERT OVERWRITE', 'INSERT INTO table SELECT …');
    if (find(node, 'InsertPartitionDefinition') !== undefined) this.#refuse(node, 'PARTITION in INSERT', 'INSERT INTO table SELECT …');
    const list = find(node, 'ColumnNameList') ?? find(node, 'InsertColumnListDefinition');
    const columns = list === undefined ? undefined : this.#names(list);
    return { kind: 'insert', target: this.#tablePath(target), columns, query: this.#query(query), at: positionOf(node) };
  }

  #names(node: ParseNode): string[] {
    const names: string[] = [];
    const walk = (current: ParseNode) => {
      if (kindOf(current) === 'ColumnName') names.push(identifier(current.getText()));
      else for (const child of rules(current)) walk(child);
    };
    walk(node);
    return names;
  }

  #query(node: ParseNode): Query {
    const select = descend(node, ['SelectStatement']);
    if (select === undefined) {
      this.#refuse(node, `the query "${this.#original(node).slice(0, 40)}"`, 'SELECT … FROM table [WHERE …] [GROUP BY …] (no UNION, VALUES, ORDER BY, LIMIT or WITH)');
    }
    const supportedClauses = 'SELECT … FROM table [WHERE …] [GROUP BY columns]';
    let items: SelectItem[] | 'star' = [];
    let from: Query['from'] | undefined;
    let where: Expression | undefined;
    let groupBy: { name: string; at: Position }[] | undefined;
    for (const clause of rules(select)) {
      switch (kindOf(clause)) {
        case 'SelectClause':
          items = this.#selectList(clause);
          break;
        case 'FromClause': {
          const reference = descend(rules(clause)[0] ?? clause, ['TableReference']);
          const primary = reference === undefined ? undefined : find(reference, 'TablePrimary');
          const path = primary === undefined ? undefined : descend(primary, ['TablePath']);
          if (reference === undefined || primary === undefined || path === undefined || rules(primary).length !== 1 || rules(rules(clause)[0] ?? clause).length !== 1) {
            this.#refuse(clause, 'this FROM clause (joins, subqueries, table functions, windows)', 'FROM one table or view');
          }
          if (find(reference, 'TableAlias') !== undefined) this.#refuse(reference, 'a table alias', 'FROM one table or view, its columns by name');
          from = { name: this.#tablePath(path), at: positionOf(path) };
          break;
        }
        case 'WhereClause': {
          const condition = rules(clause)[0];
          if (condition === undefined) this.#refuse(clause, 'an empty WHERE', 'WHERE condition');
          where = this.#expression(condition);
          break;
        }
        case 'GroupByClause':
          groupBy = findAll(clause, 'GroupItemDefinition').map((item) => {
            const column = descend(item, ['ColumnName']);
            if (column === undefined || rules(item).length !== 1) this.#refuse(item, `GROUP BY "${this.#original(item)}"`, 'GROUP BY columns of the table');
            return { name: identifier(column.getText()), at: positionOf(item) };
          });
          break;
        default:
          this.#refuse(clause, `the ${kindOf(clause).replace(/Clause$/, '').toUpperCase()} clause`, supportedClauses);
      }
    }
    if (from === undefined) this.#refuse(select, 'a SELECT without FROM', supportedClauses);
    const selectClause = find(select, 'SelectClause');
    if (selectClause !== undefined && words(selectClause).some((word) => word === 'DISTINCT' || word === 'ALL')) {
      this.#refuse(selectClause, 'SELECT DISTINCT', 'SELECT expressions, or GROUP BY for one row per group');
    }
    return { items, from, where, groupBy, at: positionOf(select) };
  }

  #selectList(clause: ParseNode): SelectItem[] | 'star' {
    const list = find(clause, 'SelectList');
    if (list === undefined) this.#refuse(clause, 'this select list', 'SELECT expressions [AS name], or SELECT *');
    const other = rules(clause).find((child) => child !== list);
    if (other !== undefined) this.#refuse(other, `"${this.#original(other)}" in SELECT`, 'SELECT expressions, or GROUP BY for one row per group');
    const items = findAll(list, 'ColumnProjectItem');
    if (items.length === 1 && descend(items[0] as ParseNode, ['TableAllColumns']) !== undefined) return 'star';
    return items.map((item) => {
      const inner = rules(item)[0];
      if (inner === undefined) this.#refuse(item, 'this select item', 'SELECT expressions [AS name]');
      const alias = find(item, 'ColumnAlias');
      const aliasName = alias === undefined ? undefined : identifier((rules(alias)[0] ?? alias).getText());
      switch (kindOf(inner)) {
        case 'TableAllColumns':
          this.#refuse(inner, '* beside other select items', 'SELECT * alone, or a list of expressions');
          break;
        case 'SelectLiteralColumnName': {
          // The grammar reads some items without an alias (`a - 1`, `1 + a`, `f(x)`) as a column
          // and an alias expression; read again in parentheses, they are one expression.
          const rest = rules(item)[1];
          if (rest !== undefined && kindOf(rest) !== 'ColumnAlias') return { expression: this.#reparsed(item), alias: aliasName };
          const name = this.#columnName(inner);
          return { expression: { kind: 'column', name, at: positionOf(inner), text: this.#original(inner) }, alias: aliasName };
        }
        case 'SelectExpressionColumnName': {
          const expression = rules(inner)[0];
          if (expression === undefined) this.#refuse(inner, 'this select item', 'SELECT expressions [AS name]');
          const innerAlias = find(inner, 'ColumnAlias');
          return { expression: this.#expression(expression), alias: aliasName ?? (innerAlias === undefined ? undefined : identifier((rules(innerAlias)[0] ?? innerAlias).getText())) };
        }
        default:
          this.#refuse(inner, `the select item "${this.#original(inner)}"`, 'SELECT expressions [AS name]');
      }
    });
  }

  /** A select item parsed again as `(item)`, its positions mapped back to the item's place. */
  #reparsed(item: ParseNode): Expression {
    const text = this.#original(item);
    const node = parseParenthesized(text);
    const inside = node === undefined ? undefined : rules(node)[0];
    if (inside === undefined) this.#refuse(item, `the select item "${text}"`, SUPPORTED_EXPRESSIONS);
    const origin = positionOf(item);
    const outer = mapPosition;
    // In the new text the item starts at line 1, column 8 (after "SELECT (").
    mapPosition = (line, column) => (line === 1 ? { line: origin.line, column: origin.column - 1 + column - 8 } : { line: origin.line + line - 1, column });
    try {
      return new Translator(this.#source, `SELECT (${text}) FROM t`).#expression(inside);
    } finally {
      mapPosition = outer;
    }
  }

  /** A column reference; `t.a` (qualified) is refused, since a query reads one table. */
  #columnName(node: ParseNode): string {
    const text = node.getText();
    const parts = text.split('.');
    if (parts.length > 1 && !text.startsWith('`')) this.#refuse(node, `the qualified column "${text}"`, 'column names without a table prefix (a query reads one table)');
    return identifier(text);
  }

  #expression(node: ParseNode): Expression {
    const at = positionOf(node);
    const text = this.#original(node);
    const inner = rules(node);
    switch (kindOf(node)) {
      case 'Expression':
      case 'ValueExpressionDefault':
      case 'ConstantDefault':
      case 'FunctionCall':
      case 'FunctionParam':
      case 'ColumnReference':
        if (inner.length === 1 && (kindOf(node) !== 'ColumnReference')) return this.#expression(inner[0] as ParseNode);
        if (kindOf(node) === 'ColumnReference') return { kind: 'column', name: this.#columnName(node), at, text };
        break;
      case 'Predicated': {
        const value = inner[0];
        if (value === undefined) break;
        const operand = this.#expression(value);
        const predicate = inner[1];
        return predicate === undefined ? operand : this.#predicate(predicate, operand, at, text);
      }
      case 'LogicalBinary': {
        const [left, right] = inner;
        const op = words(node)[0];
        if (left === undefined || right === undefined || (op !== 'AND' && op !== 'OR')) break;
        return { kind: 'logical', op, left: this.#expression(left), right: this.#expression(right), at, text };
      }
      case 'LogicalNot': {
        const operand = inner[0];
        if (operand === undefined) break;
        return { kind: 'not', operand: this.#expression(operand), at, text };
      }
      case 'ArithmeticBinary': {
        const [left, right] = inner;
        const op = words(node).join('');
        if (left === undefined || right === undefined) break;
        if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '||') {
          return { kind: 'binary', op, left: this.#expression(left), right: this.#expression(right), at, text };
        }
        this.#refuse(node, `the operator ${op}`, SUPPORTED_EXPRESSIONS);
        break;
      }
      case 'ArithmeticUnary': {
        const operand = inner[0];
        const op = words(node)[0];
        if (operand === undefined || (op !== '-' && op !== '+')) break;
        return { kind: 'unary', op, operand: this.#expression(operand), at, text };
      }
      case 'Comparison': {
        const [left, operator, right] = inner;
        if (left === undefined || operator === undefined || right === undefined) break;
        const op = operator.getText().replace('!=', '<>');
        if (!['=', '<>', '<', '<=', '>', '>='].includes(op)) this.#refuse(operator, `the comparison ${op}`, '=, <>, <, <=, >, >=');
        return { kind: 'compare', op: op as '=', left: this.#expression(left), right: this.#expression(right), at, text };
      }
      case 'ParenthesizedExpression': {
        const operand = inner[0];
        if (operand === undefined) break;
        return this.#expression(operand);
      }
      case 'Constant':
      case 'StringLiteral':
      case 'DecimalLiteral':
      case 'BooleanLiteral':
        return this.#literal(node, at, text);
      case 'Cast': {
        const [operand, type] = inner;
        if (words(node)[0] !== 'CAST' || operand === undefined || type === undefined) break;
        return { kind: 'cast', operand: this.#expression(operand), type: this.#type(type), at, text };
      }
      case 'SearchedCase': {
        const whens = findAll(node, 'WhenClause').map((clause) => {
          const [when, then] = rules(clause);
          if (when === undefined || then === undefined) this.#refuse(clause, 'this WHEN', 'CASE WHEN condition THEN value … [ELSE value] END');
          return { when: this.#expression(when), then: this.#expression(then) };
        });
        const last = inner[inner.length - 1];
        const otherwise = words(node).includes('ELSE') && last !== undefined && kindOf(last) !== 'WhenClause' ? this.#expression(last) : undefined;
        return { kind: 'case', whens, otherwise, at, text };
      }
      case 'FunctionCallExpression':
        return this.#call(node, at, text);
      default:
        break;
    }
    this.#refuse(node, `the expression "${text}"`, SUPPORTED_EXPRESSIONS);
  }

  #literal(node: ParseNode, at: Position, text: string): Expression {
    const raw = node.getText();
    const upper = raw.toUpperCase();
    if (upper === 'NULL') return { kind: 'literal', value: null, at, text };
    if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'literal', value: upper === 'TRUE', at, text };
    if (/^'(?:[^']|'')*'$/.test(raw)) return { kind: 'literal', value: unquoteString(raw), at, text };
    if (/^\d+$/.test(raw)) {
      const big = BigInt(raw);
      return { kind: 'literal', value: big <= 2147483647n ? Number(big) : big, at, text };
    }
    if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return { kind: 'literal', value: Number(raw), at, text };
    this.#refuse(node, `the literal ${raw}`, "numbers, 'strings', TRUE, FALSE and NULL");
  }

  #call(node: ParseNode, at: Position, text: string): Expression {
    const nameNode = rules(node).find((child) => kindOf(child).startsWith('FunctionName'));
    if (nameNode === undefined) this.#refuse(node, `the call "${text}"`, SUPPORTED_EXPRESSIONS);
    if (find(node, 'FilterClause') !== undefined || find(node, 'OverClause') !== undefined || find(node, 'WithinGroupClause') !== undefined) {
      this.#refuse(node, 'FILTER, OVER and WITHIN GROUP', 'plain aggregate calls with GROUP BY');
    }
    const name = nameNode.getText().toUpperCase();
    const params = findAll(node, 'FunctionParam');
    const distinct = words(node).includes('DISTINCT') || params.some((param) => words(param).includes('DISTINCT'));
    const star = params.length === 1 && (params[0] as ParseNode).getText() === '*';
    const args = star ? [] : params.map((param) => this.#expression(param));
    return { kind: 'call', name, args, star, distinct, at, text };
  }

  #predicate(node: ParseNode, operand: Expression, at: Position, text: string): Expression {
    const like = kindOf(node) === 'LikePredicate' ? node : find(node, 'LikePredicate');
    if (like !== undefined) {
      const said = words(like);
      const pattern = rules(like)[0];
      if (!said.includes('LIKE') || pattern === undefined || said.includes('ESCAPE')) this.#refuse(like, `"${this.#original(like)}"`, "[NOT] LIKE 'pattern' with % and _");
      return { kind: 'like', negated: said.includes('NOT'), operand, pattern: this.#expression(pattern), at, text };
    }
    const said = words(node);
    const negated = said.includes('NOT');
    const values = rules(node);
    if (said[0] === 'IS' && said[said.length - 1] === 'NULL') return { kind: 'isNull', negated, operand, at, text };
    if (said.includes('IN') && values.every((value) => kindOf(value) === 'Expression')) {
      return { kind: 'in', negated, operand, list: values.map((value) => this.#expression(value)), at, text };
    }
    if (said.includes('BETWEEN') && values.length === 2 && !said.includes('SYMMETRIC')) {
      return { kind: 'between', negated, operand, low: this.#expression(values[0] as ParseNode), high: this.#expression(values[1] as ParseNode), at, text };
    }
    this.#refuse(node, `the predicate "${this.#original(node)}"`, 'IS [NOT] NULL, [NOT] IN (values), [NOT] BETWEEN a AND b, [NOT] LIKE');
  }
}

/** Translates a parse tree into statements, refusing unsupported constructs at their position. */
export function statementsOf(parsed: ParsedSql, source = 'SQL'): Statement[] {
  // Positions are mapped back to the text as written while this (synchronous) translation runs.
  mapPosition = parsed.map;
  try {
    return new Translator(source, parsed.text).program(parsed.tree);
  } finally {
    mapPosition = (line, column) => ({ line, column });
  }
}
