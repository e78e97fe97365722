import autocannon from 'autocannon';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  api,
  fixed,
  log,
  loginAdmin,
  machineLoad,
  spawnTs,
  startFleetplane,
  stopChild,
  table,
  waitForLine,
} from './support.js';

/**
 * HTTP throughput of the real server against two floors on the same machine: a bare Fastify
 * hello world, and bare Fastify running the same SQL as the authenticated list route
 * (same-sql-server.ts: the API key's principal and the roles page, on the server's own SQLite
 * file). The servers run as child processes and autocannon in this one, so load generation and
 * serving do not share an event loop.
 */

export interface HttpRow {
  name: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Throughput over the hello-world baseline's. */
  ratio: number;
  /** Throughput over bare Fastify running the same SQL, for the authenticated list route. */
  sameSqlRatio: number | undefined;
  /** Non-2xx replies plus connection errors: anything but 0 makes the row meaningless. */
  failures: number;
}

export interface HttpOptions {
  connections: number;
  durationS: number;
}

interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** Compared with the same-SQL floor (its row's name). */
  floor?: string;
}

async function load(target: Target, options: HttpOptions, durationS: number) {
  return autocannon({
    url: target.url,
    connections: options.connections,
    duration: durationS,
    timeout: 10,
    ...(target.headers ? { headers: target.headers } : {}),
  });
}

export async function benchHttp(options: HttpOptions): Promise<HttpRow[]> {
  log(
    `\n== HTTP: ${options.connections} connections, ${options.durationS} s per target after 1 s of warm-up (${machineLoad()})`,
  );
  const hello = spawnTs('bench/hello-server.ts', []);
  const children = [hello];
  const server = await startFleetplane().catch(async (error: unknown) => {
    await stopChild(hello);
    throw error;
  });
  try {
    const helloUrl = await waitForLine(hello, (line) => /listening at (\S+)/.exec(line)?.[1]);
    const token = await loginAdmin(server);
    const roles = await api(server.url, 'GET', '/api/v1/access/roles?limit=200', { token, expect: 200 });
    const viewer = (roles.body.items as { id: string; name: string }[]).find((r) => r.name === 'viewer');
    if (!viewer) throw new Error('no viewer role');
    const key = await api(server.url, 'POST', '/api/v1/api-keys', {
      token,
      body: { name: 'bench', role_id: viewer.id },
      expect: 201,
    });
    const sameSql = spawnTs('bench/same-sql-server.ts', [path.join(server.dataDir, 'fleetplane.db')]);
    children.push(sameSql);
    const sameSqlUrl = await waitForLine(sameSql, (line) => /listening at (\S+)/.exec(line)?.[1]);
    const floor = 'same SQL, bare Fastify + better-sqlite3 (X-API-Key)';
    const apiKey = { 'x-api-key': key.body.secret as string };
    const targets: Target[] = [
      { name: 'hello world (bare Fastify)', url: `${helloUrl}/` },
      { name: floor, url: `${sameSqlUrl}/`, headers: apiKey },
      { name: 'GET /health', url: `${server.url}/health` },
      {
        name: 'GET /api/v1/access/roles (bearer JWT)',
        url: `${server.url}/api/v1/access/roles`,
        headers: { authorization: `Bearer ${token}` },
      },
      {
        name: 'GET /api/v1/access/roles (X-API-Key)',
        url: `${server.url}/api/v1/access/roles`,
        headers: apiKey,
        floor,
      },
    ];
    const rows: HttpRow[] = [];
    for (const target of targets) {
      await load(target, options, 1);
      const result = await load(target, options, options.durationS);
      const reqPerSec = result.requests.average;
      const floorRow = rows.find((r) => r.name === target.floor);
      const row: HttpRow = {
        name: target.name,
        reqPerSec,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        ratio: reqPerSec / (rows[0]?.reqPerSec ?? reqPerSec),
        sameSqlRatio: floorRow ? reqPerSec / floorRow.reqPerSec : undefined,
        failures: result.non2xx + result.errors,
      };
      rows.push(row);
      log(
        `  ${row.name}: ${Math.round(reqPerSec)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms` +
          (row.failures > 0 ? `, ${row.failures} FAILED (${JSON.stringify(result.statusCodeStats)})` : ''),
      );
    }
    if (server.logLines.count > 0)
      log(`  server logged ${server.logLines.count} warn+ lines, first: ${server.logLines.first[0]}`);
    return rows;
  } finally {
    await Promise.all([server.stop(), ...children.map((child) => stopChild(child))]);
  }
}

export function httpTable(rows: HttpRow[]): string {
  return table(
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'vs hello', 'vs same SQL', 'failed'],
    rows.map((r) => [
      r.name,
      Math.round(r.reqPerSec),
      r.p50Ms,
      r.p99Ms,
      `${fixed(r.ratio * 100, 0)}%`,
      r.sameSqlRatio === undefined ? '' : `${fixed(r.sameSqlRatio * 100, 0)}%`,
      r.failures,
    ]),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await benchHttp({ connections: 10, durationS: 5 });
  log(`\n${httpTable(rows)}`);
}
