import SQLite from 'better-sqlite3';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { ensureConsoleBuilt } from '../src/cli/console-build.js';
import { fixed, log, machineLoad, ROOT, startFleetplane, table, type Fleetplane } from './support.js';

/**
 * The agents page with a big fleet: the real server on SQLite with N agents written straight
 * into its database (one transaction, a second or so for 10,000), the built console in
 * Chromium, and the time from a filter change (text typed, a status picked) to the table
 * showing the filtered agents. Each sample is taken in the page: from the triggering event's
 * timestamp to the DOM mutation that puts the expected first agent (the server's order: newest
 * id first, read from the same database) at the top of the table.
 */

export interface ConsoleAgentsOptions {
  agents: number;
  /** Rounds of the filter changes below; each round is one sample of each. */
  rounds: number;
}

/** One filter change, in milliseconds: in all, then split around the list request. */
interface Sample {
  totalMs: number;
  /** From the event to the request's start: debounce and rendering the change itself. */
  beforeRequestMs: number;
  /** The request, server included. */
  requestMs: number;
  /** From the response to the row in the DOM: parsing and rendering. */
  afterResponseMs: number;
}

export interface ConsoleAgentsRow {
  change: string;
  samples: number;
  medianMs: number;
  maxMs: number;
  /** Medians of the parts. */
  beforeRequestMs: number;
  requestMs: number;
  afterResponseMs: number;
}

export interface ConsoleAgentsResult {
  agents: number;
  rows: ConsoleAgentsRow[];
}

export const CONSOLE_AGENTS_TARGET_MS = 100;

const CHROMIUM = '/usr/bin/chromium';
const PREFIXES = ['web', 'db', 'cache', 'build', 'edge'] as const;
const OS_TYPES = ['ubuntu', 'debian', 'rhel', 'windows_server', 'macos'] as const;
const STATUSES = ['online', 'offline', 'pending'] as const;

type Status = (typeof STATUSES)[number];
interface FilterState {
  q: string;
  status: Status | null;
}
/** One change of a round: what it does to the filters, and how the page is made to do it. */
interface Change {
  name: string;
  apply: (state: FilterState) => FilterState;
  drive: (page: Page) => Promise<void>;
}

/** Writes `count` agents of the server's one organisation directly into its SQLite file. */
function insertAgents(server: Fleetplane, count: number): void {
  const db = new SQLite(path.join(server.dataDir, 'fleetplane.db'));
  db.pragma('busy_timeout = 5000');
  try {
    const org = db.prepare('select id from orgs limit 1').get() as { id: string };
    const insert = db.prepare(
      `insert into agents (id, org_id, name, hostname, os_type, os_version, arch, ip, tags, status,
         connected, last_seen_at, created_at, updated_at)
       values (?, ?, ?, ?, ?, '1', 'x86_64', ?, ?, ?, 0, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const name = `${PREFIXES[i % PREFIXES.length]}-${String(i).padStart(5, '0')}`;
        const status = STATUSES[Math.floor(i / 7) % STATUSES.length]!;
        insert.run(
          uuidv7(),
          org.id,
          name,
          `${name}.bench.internal`,
          OS_TYPES[i % OS_TYPES.length],
          `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          JSON.stringify([`rack-${i % 40}`]),
          status,
          status === 'pending' ? null : now,
          now,
          now,
        );
      }
    })();
  } finally {
    db.close();
  }
}

/** The name the server lists first for these filters (newest id first), read from its database. */
function firstNameFor(server: Fleetplane, state: FilterState): string {
  const db = new SQLite(path.join(server.dataDir, 'fleetplane.db'), { readonly: true });
  try {
    const like = `%${state.q}%`;
    const row = db
      .prepare(
        `select name from agents where deleted_at is null
           and (name like @like or hostname like @like or coalesce(ip, '') like @like)
           and (@status is null or status = @status)
         order by id desc limit 1`,
      )
      .get({ like, status: state.status }) as { name: string } | undefined;
    if (!row) throw new Error(`no agent matches ${JSON.stringify(state)}: pick filters that do`);
    return row.name;
  } finally {
    db.close();
  }
}

/**
 * The page's side of a sample, as source (it runs in Chromium, not here): a timer that starts at
 * the first input, pointerdown or click event from now on and stops when the table's first row
 * names the agent given; `globalThis.measured` resolves to a Sample: the total, split at the
 * list request's start and end (resource timing).
 */
const ARM_TIMER = `(name) => {
  performance.clearResourceTimings();
  globalThis.measured = new Promise((resolve) => {
    let start;
    const events = ['input', 'pointerdown', 'click'];
    const check = () => {
      const first = document.querySelector('[data-testid="agent-row"] a');
      if (start === undefined || first?.textContent !== name) return;
      const end = performance.now();
      observer.disconnect();
      for (const type of events) document.removeEventListener(type, onEvent, true);
      // resource entries are queued after the response: read them a little later
      setTimeout(() => {
        const list = performance
          .getEntriesByType('resource')
          .filter((entry) => entry.name.includes('/api/v1/agents?') && entry.startTime >= start)
          .at(-1);
        resolve({
          totalMs: end - start,
          beforeRequestMs: list ? list.startTime - start : NaN,
          requestMs: list ? list.responseEnd - list.startTime : NaN,
          afterResponseMs: list ? end - list.responseEnd : NaN,
        });
      }, 100);
    };
    const onEvent = (event) => {
      start ??= event.timeStamp;
      check();
    };
    for (const type of events) document.addEventListener(type, onEvent, true);
    const observer = new MutationObserver(check);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}`;

const arm = (page: Page, expected: string) => page.evaluate(`(${ARM_TIMER})(${JSON.stringify(expected)})`);

const measured = (page: Page) => page.evaluate<Sample>('globalThis.measured');

const pickStatus = (status: Status) => (page: Page) =>
  page.getByRole('option', { name: status, exact: true }).click();

/** Opens the status dropdown before the timer is armed: only the pick itself is timed. */
async function openStatus(page: Page): Promise<void> {
  await page.getByRole('combobox', { name: 'Status' }).click();
  await page.getByRole('listbox', { name: 'Status' }).waitFor();
}

const typeText = (q: string) => (page: Page) => page.getByLabel('Search agents').fill(q);

/** Each change starts from the filters the one before left; each must change the first row. */
const CHANGES: { change: Change; prepare?: (page: Page) => Promise<void> }[] = [
  { change: { name: 'text typed', apply: (s) => ({ ...s, q: 'db-0' }), drive: typeText('db-0') } },
  {
    change: {
      name: 'status picked',
      apply: (s) => ({ ...s, status: 'offline' }),
      drive: pickStatus('offline'),
    },
    prepare: openStatus,
  },
  { change: { name: 'text typed', apply: (s) => ({ ...s, q: 'cache-01' }), drive: typeText('cache-01') } },
  {
    change: {
      name: 'status picked',
      apply: (s) => ({ ...s, status: 'pending' }),
      drive: pickStatus('pending'),
    },
    prepare: openStatus,
  },
  { change: { name: 'text typed', apply: (s) => ({ ...s, q: 'web-' }), drive: typeText('web-') } },
  {
    change: {
      name: 'status picked',
      apply: (s) => ({ ...s, status: 'online' }),
      drive: pickStatus('online'),
    },
    prepare: openStatus,
  },
  { change: { name: 'text cleared', apply: (s) => ({ ...s, q: '' }), drive: typeText('') } },
];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function freshPage(page: Page, server: Fleetplane): Promise<void> {
  await page.goto(`${server.url}/agents`);
  await page.getByTestId('agent-row').first().waitFor();
}

async function signIn(page: Page, server: Fleetplane): Promise<void> {
  await page.goto(`${server.url}/agents`);
  await page.locator('input[name="email"]').fill(server.admin!.email);
  await page.locator('input[name="password"]').fill(server.admin!.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('agent-row').first().waitFor();
}

export async function benchConsoleAgents(options: ConsoleAgentsOptions): Promise<ConsoleAgentsResult> {
  log(`\n== Console agents page: ${options.agents} agents, ${options.rounds} rounds of filter changes`);
  log(`  (${machineLoad()}: the figures are wall time in the browser, and other work slows them)`);
  await ensureConsoleBuilt(path.join(ROOT, 'web'), (line) => log(`  ${line}`));
  // No agent is connected: an offline sweep would rewrite the "online" rows mid-measurement.
  const server = await startFleetplane({ env: { FLEETPLANE_OFFLINE_AFTER_MS: String(3_600_000) } });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const inserted = performance.now();
    insertAgents(server, options.agents);
    log(`  ${options.agents} agents written in ${fixed(performance.now() - inserted, 0)} ms`);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signIn(page, server);

    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < options.rounds; round++) {
      // a fresh page each round: no filter's list is in the console's cache yet
      if (round > 0) await freshPage(page, server);
      let state: FilterState = { q: '', status: null };
      let shown = firstNameFor(server, state);
      for (const { change, prepare } of CHANGES) {
        state = change.apply(state);
        const expected = firstNameFor(server, state);
        // the same first row before and after would time nothing
        if (expected === shown)
          throw new Error(`${change.name} to ${JSON.stringify(state)} keeps ${shown} first`);
        shown = expected;
        await prepare?.(page);
        await arm(page, expected);
        await change.drive(page);
        samples.set(change.name, [...(samples.get(change.name) ?? []), await measured(page)]);
      }
    }
    const rows = [...samples].map(([change, values]) => ({
      change,
      samples: values.length,
      medianMs: median(values.map((v) => v.totalMs)),
      maxMs: Math.max(...values.map((v) => v.totalMs)),
      beforeRequestMs: median(values.map((v) => v.beforeRequestMs)),
      requestMs: median(values.map((v) => v.requestMs)),
      afterResponseMs: median(values.map((v) => v.afterResponseMs)),
    }));
    log(`\n${consoleAgentsTable({ agents: options.agents, rows })}`);
    return { agents: options.agents, rows };
  } finally {
    await browser.close();
    await server.stop();
  }
}

export function consoleAgentsTable(result: ConsoleAgentsResult): string {
  return table(
    [
      `filter change (${result.agents} agents)`,
      'samples',
      'median ms',
      'max ms',
      'to request',
      'request',
      'to rows',
      `< ${CONSOLE_AGENTS_TARGET_MS} ms`,
    ],
    result.rows.map((row) => [
      row.change,
      row.samples,
      fixed(row.medianMs),
      fixed(row.maxMs),
      fixed(row.beforeRequestMs),
      fixed(row.requestMs),
      fixed(row.afterResponseMs),
      row.maxMs < CONSOLE_AGENTS_TARGET_MS
        ? 'yes'
        : row.medianMs < CONSOLE_AGENTS_TARGET_MS
          ? 'median'
          : 'NO',
    ]),
  );
}
