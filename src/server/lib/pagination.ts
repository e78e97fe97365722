import { sql, type SelectQueryBuilder } from 'kysely';
import { Type, type Static, type TSchema } from 'typebox';
import { AppError } from './errors.js';
import { isId } from './ids.js';

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 100 })),
});
export type PageQuery = Static<typeof PageQuery>;

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  });
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface PageParams {
  limit: number;
  after: string | undefined;
}

/** Validates a page request; the cursor is the opaque form of the last id seen. */
export function pageParams(query: PageQuery): PageParams {
  const limit = query.limit ?? 50;
  if (query.cursor === undefined) return { limit, after: undefined };
  const after = Buffer.from(query.cursor, 'base64url').toString('utf8');
  if (!isId(after))
    throw new AppError('bad_request', 'cursor is not valid', {
      details: [{ field: 'cursor', message: 'malformed' }],
    });
  return { limit, after };
}

/**
 * Keyset pagination on a time-ordered id column, newest first. Fetches one row more than
 * asked to know whether another page exists, without a count.
 */
export async function paginate<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  idColumn: string,
  page: PageParams,
): Promise<Page<O>> {
  let q = query.orderBy(sql.ref(idColumn), 'desc').limit(page.limit + 1);
  if (page.after !== undefined) q = q.where(sql.ref(idColumn), '<', page.after);
  const rows = await q.execute();
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items,
    next_cursor: rows.length > page.limit && last ? Buffer.from(last.id).toString('base64url') : null,
  };
}

export function mapPage<T, U>(page: Page<T>, map: (item: T) => U): Page<U> {
  return { items: page.items.map(map), next_cursor: page.next_cursor };
}
