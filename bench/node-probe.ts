import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';

/**
 * Loaded into a bench server node with `--import` when the bench profiles (`--profile DIR`):
 * times every SQL statement the node runs, by its text, and on SIGUSR2 opens or closes a
 * measurement window. The first signal starts a CPU profile and a sampling heap profile and
 * clears the statement timings; the next writes `DIR/run-<pid>.cpuprofile`,
 * `DIR/run-<pid>.heapprofile` (where the window's allocations were made) and
 * `DIR/statements-<pid>.json` (its statements), so the figures cover the run and nothing before it.
 *
 * SQLite statements are timed around better-sqlite3's synchronous calls; PostgreSQL ones from
 * the query's send to its answer on a connection already taken from the pool (waiting for a
 * connection is not counted).
 */

export interface StatementTiming {
  sql: string;
  count: number;
  totalMs: number;
  maxMs: number;
}

const dir = process.env.BENCH_PROBE_DIR;
if (!dir) throw new Error('node-probe: BENCH_PROBE_DIR is not set');

let timings = new Map<string, StatementTiming>();

/** One key per statement shape: long IN lists and VALUES rows of any length count as one. */
function shape(text: string): string {
  return text
    .replace(/\$\d+/g, '?')
    .replace(/\(\?(?:, \?)+\)/g, '(?…)')
    .replace(/(?:\(\?…\), )+\(\?…\)/g, '(?…), …')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Texts seen, by their shape: the same texts come back (Kysely compiles each statement anew). */
const shapes = new Map<string, string>();

function record(text: string, ms: number): void {
  let key = shapes.get(text);
  if (key === undefined) {
    key = shape(text);
    if (shapes.size < 10_000 && text.length < 2000) shapes.set(text, key);
  }
  const timing = timings.get(key) ?? { sql: key, count: 0, totalMs: 0, maxMs: 0 };
  timing.count += 1;
  timing.totalMs += ms;
  timing.maxMs = Math.max(timing.maxMs, ms);
  timings.set(key, timing);
}

// better-sqlite3 exposes no Statement class: take it from a statement of a throwaway database.
const scratch = new SQLite(':memory:');
const statementPrototype = Object.getPrototypeOf(scratch.prepare('select 1')) as Record<
  string,
  (...args: unknown[]) => unknown
>;
scratch.close();
for (const method of ['run', 'get', 'all', 'iterate'] as const) {
  const original = statementPrototype[method]!;
  statementPrototype[method] = function timed(this: { source: string }, ...args: unknown[]) {
    const started = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      record(this.source, performance.now() - started);
    }
  };
}

type Callback = (error: Error | null, result: unknown) => void;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function timedQuery(this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
  const started = performance.now();
  const done = () => record(text, performance.now() - started);
  const last = args.at(-1);
  if (typeof last === 'function') {
    const callback = last as Callback;
    args[args.length - 1] = (error: Error | null, result: unknown) => {
      done();
      callback(error, result);
    };
    return clientQuery.apply(this, args);
  }
  const result = clientQuery.apply(this, args);
  if (result instanceof Promise) return result.finally(done);
  return result;
} as typeof pg.Client.prototype.query;

let session: Session | undefined;

async function toggle(): Promise<void> {
  if (!session) {
    timings = new Map();
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    // Collected objects too: what the garbage collector had to sweep is the point.
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 64 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  const { profile: heap } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(path.join(dir!, `run-${process.pid}.heapprofile`), JSON.stringify(heap));
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  session = undefined;
  writeFileSync(path.join(dir!, `run-${process.pid}.cpuprofile`), JSON.stringify(profile));
  const sorted = [...timings.values()].sort((a, b) => b.totalMs - a.totalMs);
  writeFileSync(path.join(dir!, `statements-${process.pid}.json`), JSON.stringify(sorted, null, 1));
}

process.on('SIGUSR2', () => {
  toggle().catch((error: unknown) => process.stderr.write(`node-probe: ${String(error)}\n`));
});
