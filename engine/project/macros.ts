import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import { SLUG_SQL_MACRO } from '../normalize/slug.ts';

/** The engine's own slug macro (see loadMacros). */
export const ENGINE_SLUGIFY = '__lakehouse_slugify';

/**
 * Registers the engine's built-in macros (slugify) and then every `macros/*.sql` file of the project,
 * in name order, on one connection: each connection the engine opens runs them once. Project macros are
 * DuckDB `CREATE OR REPLACE TEMP MACRO` statements shared by all models; a stored one is refused.
 */
export async function loadMacros(db: Db, projectRoot: string): Promise<string[]> {
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
  const dir = join(projectRoot, 'macros');
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch {
    return [];
  }
  for (const name of files) {
    const path = join(dir, name);
    const file = relative(projectRoot, path);
    const text = await readFile(path, 'utf8');
    const statements = macroStatements(text);
    // Refused before any statement runs: a stored macro would be written into the warehouse, where the
    // next connection finds it already there and a read-only open cannot create it at all.
    for (const statement of statements) refuseWrites(statement, file);
    for (const statement of statements) {
      // Padded to its line, so DuckDB's "LINE n" is the file's line.
      const startLine = lineOf(text, statement.start);
      try {
        await db.run('\n'.repeat(startLine - 1) + statement.text);
      } catch (error) {
        const message = (error as Error).message;
        const line = Number(/\bLINE (\d+):/.exec(message)?.[1] ?? statement.firstLine);
        throw new LakehouseError('MODEL_SQL_ERROR', `${file}:${line}: ${message.split('\n')[0]}`, {
          file,
          line,
          macros: true,
        });
      }
    }
  }
  return files;
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
  const writing = WRITING_STATEMENT.exec(statement.code);
  if (!writing || TEMP_OBJECT.test(statement.code)) return;
  const written = (writing[1] as string).replace(/\s+/g, ' ');
  throw new LakehouseError(
    'MODEL_SQL_ERROR',
    `${file}:${line}: ${written} would change the warehouse each time the engine opens it, outside any run, ` +
      'and fails where it is open read-only (query, tables, runs). A macro file holds TEMP macros (and ' +
      'other TEMP objects, such as CREATE TEMP TABLE); build tables as models under models/',
    { file, line, macros: true },
  );
}

/** The first words of a statement that writes to the warehouse (a TEMP object aside: see TEMP_OBJECT). */
const WRITING_STATEMENT =
  /^\s*((?:CREATE(?:\s+OR\s+REPLACE)?(?:\s+UNIQUE)?\s+\w+)|INSERT|UPDATE|DELETE|DROP\s+\w+|ALTER\s+\w+|TRUNCATE|MERGE|COPY|ATTACH|DETACH|USE|CHECKPOINT|FORCE\s+CHECKPOINT|VACUUM|IMPORT|EXPORT|COMMENT|INSTALL)\b/i;

/** `CREATE [OR REPLACE] TEMP|TEMPORARY ...` or `DROP ... temp.name`: per-connection objects only. */
const TEMP_OBJECT =
  /^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)\s|DROP\s+\w+\s+(?:IF\s+EXISTS\s+)?temp\.)/i;

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
