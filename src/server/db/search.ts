import { sql, type Expression, type SqlBool } from 'kysely';

/** `%`, `_` and `\` in user text are literal, not wildcards. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Any of the columns contains the text; `like` is the dialect's case-insensitive operator (capsOf(db).ilike). */
export function containsText(
  columns: readonly Expression<unknown>[],
  text: string,
  like: 'like' | 'ilike',
): Expression<SqlBool> {
  const pattern = `%${escapeLike(text)}%`;
  return sql<SqlBool>`(${sql.join(
    columns.map((column) => sql`${column} ${sql.raw(like)} ${pattern} escape '\\'`),
    sql` or `,
  )})`;
}

/** A JSON array column holds this tag: the tag appears quoted in its text, so `web` never matches `webserver`. */
export function hasJsonTag(column: Expression<unknown>, tag: string): Expression<SqlBool> {
  return sql<SqlBool>`${column} like ${`%${escapeLike(JSON.stringify(tag))}%`} escape '\\'`;
}

/**
 * True when the write went through, false when a unique constraint refused it: names are unique
 * per organisation, so of two racing creates or renames only one can win.
 */
export async function unlessTaken(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    // 23505 is PostgreSQL's unique_violation; better-sqlite3 names the constraint kind.
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
    throw error;
  }
}
