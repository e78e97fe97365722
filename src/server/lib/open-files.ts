import { readFileSync } from 'node:fs';

/** The soft "Max open files" of a /proc/<pid>/limits text; null when unlimited or absent. */
export function parseOpenFilesLimit(limits: string): number | null {
  const soft = Number(/^Max open files\s+(\S+)/m.exec(limits)?.[1]);
  return Number.isInteger(soft) && soft > 0 ? soft : null;
}

/**
 * How many files this process may hold open. Node has no API for it; Linux shows it in
 * /proc/self/limits (the soft limit, which Node raises to the hard one at start). Elsewhere none
 * is known: null.
 */
export function openFilesLimit(): number | null {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The agent sockets a node may hold under an open-files limit: the rest is kept for the API's
 * connections, the database pool, files and logs: 5% of the limit, at least 256, at most half.
 */
export function agentSocketsUnder(limit: number | null): number {
  if (limit === null) return Number.POSITIVE_INFINITY;
  const reserve = Math.min(Math.max(256, Math.ceil(limit * 0.05)), Math.floor(limit / 2));
  return limit - reserve;
}
