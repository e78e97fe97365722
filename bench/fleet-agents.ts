import type { ChildProcess } from 'node:child_process';
import type { PhaseResult, SimCommand, SimReply, SimStats } from './sim-agents.js';
import { log, spawnTs, stopChild, within } from './support.js';

/**
 * The simulated fleet: agents in child processes (sim-agents.ts), at most SOCKETS_PER_SIMULATOR
 * each, so no process comes near the 20,000 open-files hard limit; 50,000 agents take four.
 */

export const SOCKETS_PER_SIMULATOR = 15_000;

/** One simulator child, one command at a time. */
class Simulator {
  readonly #child: ChildProcess;

  constructor(child: ChildProcess, label: string) {
    this.#child = child;
    child.on('message', (message: SimReply) => {
      if (message.type === 'progress')
        log(`    ${label}${message.phase}: ${message.done} of ${message.total}`);
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  request<T extends SimReply['type']>(
    command: SimCommand,
    answer: T,
  ): Promise<Extract<SimReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: SimReply) => {
        if (message.type !== answer) return;
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
        resolve(message as Extract<SimReply, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`simulator exited (${code})`));
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#child.send(command);
    });
  }

  async close(): Promise<void> {
    if (this.#child.connected)
      await within(this.request({ type: 'close' }, 'closed'), 30_000).catch(() => undefined);
    await stopChild(this.#child, 5000);
  }
}

function mergePhases(results: PhaseResult[]): PhaseResult {
  return {
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    skipped: results.reduce((sum, r) => sum + r.skipped, 0),
    // The shards work side by side: the phase lasts as long as the slowest.
    ms: Math.max(...results.map((r) => r.ms)),
    firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
  };
}

/** Every shard's simulator; agent `i` of the fleet lives in shard `floor(i / perShard)`. */
export class Simulators {
  readonly #shards: { sim: Simulator; firstIndex: number; count: number }[];

  private constructor(shards: { sim: Simulator; firstIndex: number; count: number }[]) {
    this.#shards = shards;
  }

  static start(agents: number): Simulators {
    const shardCount = Math.ceil(agents / SOCKETS_PER_SIMULATOR);
    const perShard = Math.ceil(agents / shardCount);
    const shards = Array.from({ length: shardCount }, (_, i) => {
      const firstIndex = i * perShard;
      const label = shardCount > 1 ? `[sim ${i + 1}] ` : '';
      const sim = new Simulator(spawnTs('bench/sim-agents.ts', [], { ipc: true }), label);
      return { sim, firstIndex, count: Math.min(perShard, agents - firstIndex) };
    });
    return new Simulators(shards);
  }

  get pids(): number[] {
    return this.#shards.map((shard) => shard.sim.pid);
  }

  get size(): number {
    return this.#shards.length;
  }

  /** Registers every agent at its node; `concurrency` requests in flight across all shards. */
  async register(options: {
    urls: string[];
    enrollmentToken: string;
    concurrency: number;
    deadlineMs: number;
  }): Promise<PhaseResult> {
    const concurrency = Math.max(1, Math.ceil(options.concurrency / this.#shards.length));
    const results = await Promise.all(
      this.#shards.map(({ sim, firstIndex, count }) =>
        sim.request(
          {
            type: 'register',
            urls: options.urls,
            enrollmentToken: options.enrollmentToken,
            firstIndex,
            count,
            concurrency,
            deadlineMs: options.deadlineMs,
          },
          'registered',
        ),
      ),
    );
    return mergePhases(results);
  }

  /** Opens every registered agent's socket; `concurrency` handshakes at once across all shards. */
  async connect(options: { concurrency: number; deadlineMs: number }): Promise<PhaseResult> {
    const concurrency = Math.max(1, Math.ceil(options.concurrency / this.#shards.length));
    const results = await Promise.all(
      this.#shards.map(({ sim }) =>
        sim.request({ type: 'connect', concurrency, deadlineMs: options.deadlineMs }, 'connected'),
      ),
    );
    return mergePhases(results);
  }

  async heartbeats(intervalMs: number): Promise<void> {
    await Promise.all(
      this.#shards.map(({ sim }) => sim.request({ type: 'heartbeats', intervalMs }, 'heartbeats')),
    );
  }

  /** The shards' counters added up; the last result is the latest of any shard. */
  async stats(): Promise<SimStats> {
    const all = await Promise.all(
      this.#shards.map(async ({ sim }) => (await sim.request({ type: 'stats' }, 'stats')).stats),
    );
    const sum = (pick: (s: SimStats) => number) => all.reduce((total, s) => total + pick(s), 0);
    const lastResults = all.map((s) => s.lastResultAt).filter((at): at is number => at !== null);
    return {
      open: sum((s) => s.open),
      dropped: sum((s) => s.dropped),
      heartbeatsSent: sum((s) => s.heartbeatsSent),
      jobsReceived: sum((s) => s.jobsReceived),
      resultsSent: sum((s) => s.resultsSent),
      resultsAcked: sum((s) => s.resultsAcked),
      errorFrames: sum((s) => s.errorFrames),
      firstError: all.find((s) => s.firstError !== null)?.firstError ?? null,
      lastResultAt: lastResults.length > 0 ? Math.max(...lastResults) : null,
    };
  }

  /** When each job arrived at its agent (Date.now()), every shard's, in time order. */
  async deliveries(): Promise<number[]> {
    const all = await Promise.all(
      this.#shards.map(async ({ sim }) => (await sim.request({ type: 'deliveries' }, 'deliveries')).arrivals),
    );
    return all.flat().sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await Promise.all(this.#shards.map(({ sim }) => sim.close()));
  }
}
