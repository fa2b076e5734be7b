import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, tempRelations } from '../db/duckdb.ts';
import { SLUG_SQL_MACRO } from '../normalize/slug.ts';

/** The engine's own slug macro (see loadMacros). */
export const ENGINE_SLUGIFY = '__lakehouse_slugify';

/**
 * Registers the engine's built-in macros (slugify) and then every `macros/*.sql` file of the project,
 * in name order, on one connection: each connection the engine opens runs them once. Project macros are
 * DuckDB `CREATE OR REPLACE TEMP MACRO` statements shared by all models. Returns an error per
 * statement that fails and per file that is refused; every other statement loads all the same, so one
 * broken macro leaves the rest callable. Run again on a connection, it first drops the macros it had.
 */
export async function loadMacros(db: Db, projectRoot: string): Promise<LakehouseError[]> {
  // A reload starts clean: a macro deleted from its file must stop answering, not linger until reopen,
  // and a file's `CREATE TEMP TABLE x` must not fail on the x it made last time. A connection's first
  // load has nothing to drop (listing DuckDB's functions costs ~30 ms on every engine open).
  if (createdByMacroFiles.has(db)) await dropTempMacros(db);
  for (const { name, kind } of createdByMacroFiles.get(db) ?? []) {
    await db.run(`DROP ${kind} IF EXISTS temp.main.${ident(name)}`);
  }
  const before = await tempRelations(db);
  try {
    return await loadMacroFiles(db, projectRoot);
  } finally {
    const after = await tempRelations(db);
    createdByMacroFiles.set(
      db,
      after.filter((r) => !before.some((b) => b.name === r.name)),
    );
  }
}

/**
 * The temp tables and views the macro files made on each connection, dropped before they run again; set by
 * every load, so it also tells which connections had macros loaded.
 */
const createdByMacroFiles = new WeakMap<Db, { name: string; kind: string }[]>();

async function loadMacroFiles(db: Db, projectRoot: string): Promise<LakehouseError[]> {
  // Temp macros: nothing is written to the warehouse, so a read-only open works too.
  await db.run(SLUG_SQL_MACRO.replace(/CREATE (OR REPLACE )?MACRO/i, 'CREATE OR REPLACE TEMP MACRO'));
  // The same macro under a name projects do not override: the keyword cache compares these slugs with
  // the matcher's, so a project's own `slugify` must not change them.
  await db.run(
    SLUG_SQL_MACRO.replace(
      /CREATE (OR REPLACE )?MACRO slugify/i,
      `CREATE OR REPLACE TEMP MACRO ${ENGINE_SLUGIFY}`,
    ),
  );
  createdOn.set(db, new Set(['slugify', ENGINE_SLUGIFY]));
  const dir = join(projectRoot, 'macros');
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch {
    return [];
  }
  const errors: LakehouseError[] = [];
  for (const name of files) {
    try {
      errors.push(...(await loadMacroFile(db, projectRoot, join(dir, name))));
    } catch (error) {
      if (!(error instanceof LakehouseError)) throw error;
      errors.push(error);
    }
  }
  return errors;
}

/** Drops every temporary macro of the connection (the engine's own are created again right after). */
async function dropTempMacros(db: Db): Promise<void> {
  const macros = await db.all<{ name: string; type: string }>(
    `SELECT function_name AS name, function_type AS type FROM duckdb_functions()
     WHERE database_name = 'temp' AND function_type IN ('macro', 'table_macro')`,
  );
  for (const { name, type } of macros) {
    await db.run(`DROP MACRO ${type === 'table_macro' ? 'TABLE ' : ''}IF EXISTS temp.main.${ident(name)}`);
  }
}

/** Every macro file's name and text, as one string: what a reload compares to tell whether they changed. */
export async function macroFilesText(projectRoot: string): Promise<string> {
  const dir = join(projectRoot, 'macros');
  const files = await readdir(dir).then(
    (names) => names.filter((f) => f.endsWith('.sql')).sort(),
    () => [],
  );
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
  return files.map((f, i) => `${f}\0${texts[i]}`).join('\0');
}

/**
 * Runs a macro file's statements in order; one that fails is returned as an error naming its line, and the
 * statements after it run all the same, so a typo in one macro leaves the others callable and every bad
 * statement is reported at once. A file that cannot be read, or that would write, throws before any runs.
 */
async function loadMacroFile(db: Db, projectRoot: string, path: string): Promise<LakehouseError[]> {
  const file = relative(projectRoot, path);
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    // A folder named *.sql, a file without read permission, one deleted mid-checkout: a broken file.
    throw new LakehouseError(
      'MODEL_SQL_ERROR',
      `${file} cannot be read (${(error as Error).message}); fix or remove it`,
      { file, macros: true },
    );
  });
  const statements = macroStatements(text);
  // Refused before any statement runs: a stored macro would be written into the warehouse, where the
  // next connection finds it already there and a read-only open cannot create it at all.
  for (const statement of statements) refuseWrites(statement, file);
  const errors: LakehouseError[] = [];
  for (const statement of statements) {
    const macro = createdMacroName(statement);
    if (
      macro !== undefined &&
      !createdOn.get(db)?.has(macro.toLowerCase()) &&
      (await isDuckDbFunction(db, macro))
    ) {
      errors.push(shadowsDuckDbFunction(file, statement.firstLine, macro));
      continue;
    }
    // Padded to its line, so DuckDB's "LINE n" is the file's line.
    const startLine = lineOf(text, statement.start);
    try {
      await db.run('\n'.repeat(startLine - 1) + statement.text);
      if (macro !== undefined) createdOn.get(db)?.add(macro.toLowerCase());
    } catch (error) {
      const message = (error as Error).message;
      const line = Number(/\bLINE (\d+):/.exec(message)?.[1] ?? statement.firstLine);
      // A view or macro over a layer table binds it when the project opens: on a new warehouse no run has
      // built it yet, and DuckDB's words alone left the user to guess why a table the models build is missing.
      const firstLine = message.split('\n')[0] ?? '';
      const notBuilt = /^Catalog Error: Table with name .* does not exist/.test(message)
        ? '. A macro file runs as the project opens, so a table it reads must exist by then: one a model ' +
          'builds exists once a run has built it (move this statement out of macros/, run, then put it back), ' +
          'or read the table in a model instead'
        : '';
      errors.push(
        new LakehouseError(
          'MODEL_SQL_ERROR',
          `${file}:${line}: ${notBuilt ? firstLine.replace(/!$/, '') : firstLine}${notBuilt}`,
          {
            file,
            line,
            macros: true,
          },
        ),
      );
    }
  }
  return errors;
}

/**
 * The temp macros made on each connection during its current load (the engine's slug macros first): a name
 * made again (CREATE OR REPLACE in another file) finds that macro, not one of DuckDB's, so it is not probed.
 */
const createdOn = new WeakMap<Db, Set<string>>();

/** Whether each name probed is one of DuckDB's functions; that does not change within a process. */
const duckDbFunctionNames = new Map<string, boolean>();

/** DuckDB's answer for a scalar function it has not got, built in or in any extension it loaded. */
const NO_SUCH_FUNCTION =
  /^Catalog Error: Scalar Function with name .* (?:does not exist|is not in the catalog)/;

/**
 * Whether `name` is a DuckDB function (scalar, aggregate, table, or DuckDB's own macro): a TEMP macro of that
 * name replaces it for every model and for the engine's SQL too (a `hash(x)` macro broke the facts' key
 * record). Bound, never run (LIMIT 0), which costs a millisecond where listing duckdb_functions() takes 30 or
 * more; every name a function has fails otherwise than as missing (called with no arguments, a table
 * function used as a scalar), except pragmas and window functions, which a macro does not replace.
 */
async function isDuckDbFunction(db: Db, name: string): Promise<boolean> {
  const key = name.toLowerCase();
  let known = duckDbFunctionNames.get(key);
  if (known === undefined) {
    known = await db.all(`SELECT ${ident(name)}() LIMIT 0`).then(
      () => true,
      (error: unknown) => !NO_SUCH_FUNCTION.test(error instanceof Error ? error.message : String(error)),
    );
    duckDbFunctionNames.set(key, known);
  }
  return known;
}

function shadowsDuckDbFunction(file: string, line: number, macro: string): LakehouseError {
  return new LakehouseError(
    'MODEL_SQL_ERROR',
    `${file}:${line}: macro ${macro} has the name of a DuckDB function, which it would replace in every model ` +
      `and in the engine's own SQL (its keys, hashes and counts): give it a name of its own, e.g. my_${macro}, ` +
      'and call it by that name',
    { file, line, macros: true, macro },
  );
}

/**
 * `CREATE [OR REPLACE] TEMP MACRO|FUNCTION [IF NOT EXISTS]` in a statement's code, without the space before
 * the name: a quoted name is blanked there, and `\s+` would take it too.
 */
const TEMP_MACRO =
  /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s+(?:MACRO|FUNCTION)(?:\s+IF\s+NOT\s+EXISTS)?(?=\s)/i;
/** One part of a dotted name: quoted ("" for a quote) or bare. */
const NAME_PART = /^(?:"((?:[^"]|"")*)"|([A-Za-z_][\w$]*))/;

/** The last part of the dotted name `text` starts with (`name` of `temp.main."name"`), unquoted. */
export function lastNamePart(text: string): string | undefined {
  let rest = text;
  let name: string | undefined;
  for (let part = NAME_PART.exec(rest); part; part = NAME_PART.exec(rest)) {
    name = part[1] === undefined ? part[2] : part[1].replaceAll('""', '"');
    rest = rest.slice(part[0].length);
    if (!rest.startsWith('.')) break;
    rest = rest.slice(1);
  }
  return name;
}

/** The name a statement creates a temp macro under (the last part of `temp.main.name`), if it creates one. */
export function createdMacroName(statement: MacroStatement): string | undefined {
  const prefix = TEMP_MACRO.exec(statement.code);
  if (!prefix) return undefined;
  // From the text, not the code: a quoted name is blanked there.
  return lastNamePart(statement.text.slice(prefix[0].length).trimStart());
}

/**
 * Refuses a statement that would write to the warehouse: macro files run on every connection the engine
 * opens, outside any run's transaction (nothing would undo it), and the warehouse may be open read-only.
 */
function refuseWrites(statement: MacroStatement, file: string): void {
  const line = statement.firstLine;
  const stored = STORED_MACRO.exec(statement.code);
  if (stored) {
    const macro = stored[2] as string;
    throw new LakehouseError(
      'MODEL_SQL_ERROR',
      `${file}:${line}: ${stored[1]?.replace(/\s+/g, ' ')} ${macro} creates a macro stored in the warehouse; ` +
        `write CREATE OR REPLACE TEMP MACRO ${macro}(...) AS ... instead: macros are created for each ` +
        'session the engine opens, and the warehouse may be open read-only (query, tables, runs)',
      { file, line, macros: true },
    );
  }
  if (ALLOWED_STATEMENT.test(statement.code)) return;
  // The statement's start, as written, to find it by.
  const start = (statement.text.slice(statement.code.search(/\S/)).split('\n')[0] ?? '').trim();
  const written = start.length > 60 ? `${start.slice(0, 60)}…` : start;
  throw new LakehouseError(
    'MODEL_SQL_ERROR',
    `${file}:${line}: ${written} is not allowed in a macro file: it runs each time the engine opens the ` +
      'warehouse, outside any run, where it could change the warehouse and fails if it is open read-only ' +
      '(query, tables, runs). A macro file holds TEMP macros and other TEMP objects (CREATE TEMP TABLE ... ' +
      'AS SELECT), SET and SELECT; build tables as models under models/',
    { file, line, macros: true },
  );
}

/**
 * What a macro file may run, by its first words: a TEMP object, dropping one (`temp.name`), a setting,
 * or a SELECT. Anything else (INSERT, a WITH ending in DELETE, EXPLAIN ANALYZE, BEGIN)
 * could write to the warehouse or leave the connection in a transaction.
 */
const ALLOWED_STATEMENT = new RegExp(
  [
    String.raw`CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s`,
    String.raw`DROP\s+\w+\s+(?:IF\s+EXISTS\s+)?temp\.`,
    String.raw`(?:SET|RESET|SELECT)\b`,
  ]
    .map((form) => String.raw`^\s*${form}`)
    .join('|'),
  'i',
);

/** Whether `error` came from a project's macro file (loadMacros), not from a model. */
export function isMacroFileError(error: LakehouseError): boolean {
  return error.details.macros === true;
}

/**
 * `CREATE [OR REPLACE] MACRO|FUNCTION name` without TEMP or TEMPORARY, at the start of a statement's
 * code (comments and literals blanked); a name under `temp.` is a temporary one.
 */
const STORED_MACRO =
  /^\s*(CREATE\s+(?:OR\s+REPLACE\s+)?(?:MACRO|FUNCTION))\s+(?:IF\s+NOT\s+EXISTS\s+)?(?!temp\.)([\w."]+)/i;

/** One statement of a macro file, as written and with its comments and literals blanked out. */
interface MacroStatement {
  text: string;
  /** The same text with comments, strings and quoted names as spaces (newlines kept). */
  code: string;
  /** Offset of the statement in the file (just after the previous `;`). */
  start: number;
  /** Line of the statement's first code, for an error DuckDB gives no line for. */
  firstLine: number;
}

/**
 * Splits a macro file at the `;` outside strings, quoted names, dollar-quoted strings and comments.
 * Statements with no code (comments only) are left out.
 */
export function macroStatements(text: string): MacroStatement[] {
  let code = '';
  for (let i = 0; i < text.length; ) {
    const pair = text.slice(i, i + 2);
    const dollar = /^\$[A-Za-z_]*\$/.exec(text.slice(i, i + 64))?.[0];
    let end: number;
    if (text[i] === "'" || text[i] === '"') end = closing(text, text[i] as string, i + 1);
    else if (pair === '--') end = text.includes('\n', i) ? text.indexOf('\n', i) : text.length;
    else if (pair === '/*') end = closing(text, '*/', i + 2);
    else if (dollar) end = closing(text, dollar, i + dollar.length);
    else {
      code += text[i];
      i++;
      continue;
    }
    end = Math.max(end, i + 1);
    code += text.slice(i, end).replace(/[^\n]/g, ' ');
    i = end;
  }
  const statements: MacroStatement[] = [];
  let start = 0;
  for (const part of code.split(';')) {
    const end = start + part.length;
    const first = part.search(/\S/);
    if (first !== -1) {
      statements.push({
        text: text.slice(start, end),
        code: part,
        start,
        firstLine: lineOf(text, start + first),
      });
    }
    start = end + 1;
  }
  return statements;
}

/** The offset just after the first `token` from `from`, or the end of `text` when it is not closed. */
function closing(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at === -1 ? text.length : at + token.length;
}

/** 1-based line of `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
