/**
 * Records every SQL statement a server's DataSource sends, with its parameters, so a test can
 * check what a request read (which columns, LIMIT, aggregates) on the real database.
 */
import type { DataSource } from 'typeorm';

export interface LoggedQuery {
  sql: string;
  params: unknown[];
}

/** Queries run while `fn` runs (anything the server does meanwhile counts too: run it alone). */
export async function queriesDuring(ds: DataSource, fn: () => Promise<unknown>): Promise<LoggedQuery[]> {
  const logged: LoggedQuery[] = [];
  const logger = ds.logger;
  const original = logger.logQuery;
  logger.logQuery = (sql: string, params?: unknown[], ...rest: unknown[]) => {
    logged.push({ sql, params: params ?? [] });
    return (original as (...a: unknown[]) => unknown).call(logger, sql, params, ...rest);
  };
  try {
    await fn();
  } finally {
    logger.logQuery = original;
  }
  return logged;
}

/** SELECTs that read the `files` table (either quoting style: SQLite "files", MySQL `files`). */
export function fileSelects(queries: LoggedQuery[]): LoggedQuery[] {
  return queries.filter((q) => /^\s*SELECT/i.test(q.sql) && /FROM\s+["`]?files["`]?/i.test(q.sql));
}

/** Does the statement name the `entry` column (the pre-rendered index entry)? */
export function readsEntry(q: LoggedQuery): boolean {
  return /["`.\s]entry["`\s,]/i.test(q.sql);
}
