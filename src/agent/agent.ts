import os from 'node:os';
import path from 'node:path';
import type {
  AgentFacts,
  AgentMetrics,
  EventAck,
  JobEvent,
  JobSpec,
  UpdateOffer,
  UpdateResult,
} from '../protocol/agent.js';
import { Backoff, sleep } from './backoff.js';
import type { ChannelHost } from './channel.js';
import { Connection, type ConnectionEnd } from './connection.js';
import { collectFacts, detectInterpreters, MetricsSampler, type Interpreters } from './facts.js';
import { AgentApi } from './http-api.js';
import { errorMessage, stderrLog, type AgentLog } from './log.js';
import { OutputReplay } from './output.js';
import { PackageCache } from './packages.js';
import { JobRunner, type RunnerSink } from './runner.js';
import { SelfUpdater, type SelfUpdateOptions } from './self-update.js';
import { Spool, type ResultEvent } from './spool.js';
import { restartedResult, StartedJobs } from './started.js';
import { newFingerprint, StateStore } from './state.js';

export interface AgentConfig {
  /** Base URL; when absent, the one saved at registration. */
  server: string | undefined;
  enrollmentToken: string | undefined;
  machineKey: string | undefined;
  stateDir: string;
  maxJobs: number;
  transport: 'ws' | 'http';
  /** Reported as the hostname, for machines whose hostname says nothing. */
  name: string | undefined;
  /** Overrides the saved fingerprint (several agents on one machine, in tests). */
  fingerprint: string | undefined;
  /** The environment jobs inherit. */
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** Set in the single-file build: the agent can replace itself with a build the server offers. */
  selfUpdate: SelfUpdateOptions | undefined;
}

const DEFAULT_HEARTBEAT_MS = 15_000;
/** A result sent this long ago and still unacknowledged is sent again. */
const RESEND_AFTER_MS = 60_000;
const UNINSTALL_ACK_WAIT_MS = 5_000;
/** While an update waits for jobs to end, it looks this often. */
const DRAIN_POLL_MS = 250;

interface Identity {
  server: string;
  token: string;
  heartbeatIntervalMs: number;
}

/**
 * The agent's lifecycle: identify (saved token, or register) → connected (jobs run, results
 * spooled until acknowledged) → stopping (jobs killed, socket closed) → exit. The server ends it
 * with 410 or a close with 4410 (deleted: uninstall, exit 0), 401 or 4401 (token replaced or
 * revoked: exit 1), or an agent_uninstall job.
 */
export class Agent implements ChannelHost, RunnerSink {
  private readonly store: StateStore;
  private readonly spool: Spool;
  private readonly startedJobs: StartedJobs;
  private readonly abort = new AbortController();
  private readonly metricsSampler: MetricsSampler;
  /** Results not yet acknowledged, by job id: a mirror of the spool, with when each was last sent. */
  private readonly unacked = new Map<string, { result: ResultEvent; sentAt: number }>();
  private readonly settledWaiters = new Map<string, () => void>();
  private readonly replay = new OutputReplay();
  /** Spool removals under way, awaited before exit so an acknowledged result is not sent again. */
  private readonly removals = new Set<Promise<void>>();
  /** Detected at start and again when the server asks for fresh facts. */
  private interpreters: Interpreters;
  private factsValue: AgentFacts | undefined;
  private runner: JobRunner | undefined;
  private connection: Connection | undefined;
  private stopping: Promise<void> | undefined;
  private uninstalling = false;
  private updater: SelfUpdater | undefined;
  private updateKey: string | undefined;
  /** An update's outcome not yet told to the server: sent once connected. */
  private unreportedUpdate: UpdateResult | undefined;
  /** The agent stopped to restart into a new build. */
  private restarting = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: AgentLog = stderrLog,
  ) {
    this.store = new StateStore(config.stateDir);
    this.spool = new Spool(this.store.spoolDir, log);
    this.startedJobs = new StartedJobs(this.store.startedDir, log);
    this.metricsSampler = new MetricsSampler(config.platform);
    this.interpreters = detectInterpreters(config.env, config.platform);
  }

  /** Runs until stopped or ended by the server; resolves to the process exit code. */
  async run(): Promise<number> {
    let identity: Identity | number;
    try {
      identity = await this.identify();
      if (typeof identity === 'number') return identity;
      for (const result of await this.spool.list()) this.unacked.set(result.job_id, { result, sentAt: 0 });
      await this.reportInterrupted();
    } catch (error) {
      this.log(`cannot start: ${errorMessage(error)}`);
      return 1;
    }
    const pythonNow = () => this.interpreters.python;
    this.runner = new JobRunner({
      maxJobs: this.config.maxJobs,
      platform: this.config.platform,
      baseEnv: this.config.env,
      // read per job: a python installed since start is found by a facts refresh
      get python() {
        return pythonNow();
      },
      defaultCwd: os.homedir(),
      tmpDir: os.tmpdir(),
      sink: this,
      log: this.log,
      server: identity.server,
      packages: new PackageCache({
        dir: path.join(this.config.stateDir, 'packages'),
        server: identity.server,
        token: () => identity.token,
      }),
    });
    if (this.config.selfUpdate)
      this.updater = new SelfUpdater(this.config.selfUpdate, {
        server: identity.server,
        token: identity.token,
        stateDir: this.config.stateDir,
        updateKey: () => this.updateKey,
        log: this.log,
        report: (result) => this.reportUpdate(result),
        drain: () => this.drain(),
        restart: () => {
          this.restarting = true;
          this.stop();
        },
      });
    this.connection = new Connection({
      server: identity.server,
      token: identity.token,
      transport: this.config.transport,
      host: this,
      log: this.log,
      heartbeatIntervalMs: identity.heartbeatIntervalMs,
    });
    if (this.abort.signal.aborted) this.connection.stop();
    const resendTimer = setInterval(() => this.resend(RESEND_AFTER_MS), RESEND_AFTER_MS / 2);
    const end = await this.connection.run();
    clearInterval(resendTimer);
    await this.shutdown(shutdownReason(end));
    await Promise.all(this.removals);
    return this.finish(end);
  }

  /** SIGINT/SIGTERM: take no more jobs, kill running ones, report them, close the socket. */
  stop(): void {
    if (this.abort.signal.aborted) return;
    this.log('stopping');
    this.abort.abort();
    // jobs are killed and reported while the socket is still open, then it closes
    void this.shutdown('the agent stopped while the job was running')
      .catch((error: unknown) => this.log(`stopping jobs failed: ${errorMessage(error)}`))
      .finally(() => this.connection?.stop());
  }

  // ChannelHost

  facts(): AgentFacts {
    if (!this.factsValue) throw new Error('facts are read before the agent identified itself');
    return this.factsValue;
  }

  /**
   * Running, waiting, and finished with the result not yet acknowledged: the server requeues a
   * dispatched job missing here, and the spooled result of one finished offline follows hello.
   */
  heldJobIds(): string[] {
    return [...new Set([...(this.runner?.heldJobIds() ?? []), ...this.unacked.keys()])];
  }

  metrics(): Promise<AgentMetrics> {
    return this.metricsSampler.sample();
  }

  /** The server asked for fresh facts: interpreters are looked for again, the OS read again. */
  refreshFacts(): AgentFacts {
    const current = this.facts();
    this.interpreters = detectInterpreters(this.config.env, this.config.platform);
    this.factsValue = collectFacts({
      fingerprint: current.fingerprint,
      name: this.config.name,
      platform: this.config.platform,
      interpreters: this.interpreters.available,
    });
    this.log('facts collected again, as the server asked');
    return this.factsValue;
  }

  /** Whether the agent stopped to restart into a new build (the caller starts it). */
  get restartForUpdate(): boolean {
    return this.restarting;
  }

  onConnected(): void {
    if (this.unreportedUpdate) this.reportUpdate(this.unreportedUpdate);
    // Output first: the server drops output for a job whose result it already has.
    for (const event of this.replay.events()) this.connection?.send(event);
    this.resend(0);
  }

  onJob(spec: JobSpec): void {
    // not acknowledged, so the server hands it out again (to this agent's next session, after an update)
    if (this.stopping || !this.runner || this.updater?.draining) return;
    const done = this.unacked.get(spec.job_id);
    if (done?.result.attempt === spec.attempt) {
      this.log(`job ${spec.job_id} already finished; sending its result again`);
      this.sendResult(done.result);
      return;
    }
    if (spec.kind === 'agent_uninstall') {
      void this.uninstall(spec).catch((error: unknown) =>
        this.log(`uninstall failed: ${errorMessage(error)}`),
      );
      return;
    }
    if (!this.runner.submit(spec))
      this.log(`job ${spec.job_id} attempt ${spec.attempt} was delivered again; ignored`);
  }

  onCancel(jobId: string): void {
    this.runner?.cancel(jobId);
  }

  onAck(ack: EventAck): void {
    if (ack.outcome === 'conflict' || ack.outcome === 'impossible')
      this.log(
        `job ${ack.job_id}: the server refused its ${ack.event} (${ack.outcome}: ${ack.message ?? 'no reason given'}); dropped`,
      );
    if (ack.event === 'result') this.forgetResult(ack.job_id, ack.attempt);
  }

  private forgetResult(jobId: string, attempt: number): void {
    const entry = this.unacked.get(jobId);
    if (entry?.result.attempt !== attempt) return;
    this.unacked.delete(jobId);
    this.replay.forget(jobId, attempt);
    const removal = this.spool
      .remove(jobId, attempt)
      .then(
        () => undefined,
        (error: unknown) =>
          this.log(`could not remove the spooled result of job ${jobId}: ${errorMessage(error)}`),
      )
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
    this.settledWaiters.get(jobId)?.();
  }

  onUpdateKey(key: string): void {
    if (this.updateKey === key) return;
    if (this.updateKey) {
      this.log('the server told a different build-signing key; keeping the one trusted at registration');
      return;
    }
    // an agent registered before the server signed builds trusts the first key it is told
    this.updateKey = key;
    void this.saveUpdateKey(key);
  }

  onUpdate(offer: UpdateOffer): void {
    if (!this.updater) {
      this.log(`update to ${offer.version} offered, but only the single-file agent updates itself; ignored`);
      return;
    }
    this.updater.offer(offer);
  }

  private reportUpdate(result: UpdateResult): void {
    this.unreportedUpdate = this.connection?.report(result) ? undefined : result;
  }

  /** Resolves once no job runs and every result reached the server; new jobs are refused meanwhile. */
  private async drain(): Promise<void> {
    while (this.heldJobIds().length > 0) {
      if (this.abort.signal.aborted) throw new Error('the agent stopped before its jobs ended');
      await sleep(DRAIN_POLL_MS, this.abort.signal);
    }
  }

  private async saveUpdateKey(key: string): Promise<void> {
    try {
      const saved = await this.store.load();
      if (saved && !saved.update_public_key) await this.store.save({ ...saved, update_public_key: key });
    } catch (error) {
      this.log(`could not keep the build-signing key: ${errorMessage(error)}`);
    }
  }

  // RunnerSink

  event(event: JobEvent): void {
    if (event.type === 'output') this.replay.keep(event);
    this.connection?.send(event);
  }

  started(spec: JobSpec): Promise<void> {
    return this.startedJobs.mark(spec);
  }

  async result(result: ResultEvent): Promise<void> {
    this.unacked.set(result.job_id, { result, sentAt: 0 });
    try {
      await this.spool.put(result);
    } catch (error) {
      this.log(
        `could not spool the result of job ${result.job_id} (${errorMessage(error)}); sending it anyway`,
      );
    }
    // Even unspooled: an agent that dies now loses the result, and the server calls the job lost.
    await this.startedJobs
      .clear(result.job_id)
      .catch((error: unknown) =>
        this.log(`could not clear the start record of job ${result.job_id}: ${errorMessage(error)}`),
      );
    this.sendResult(result);
  }

  congested(): boolean {
    return this.connection?.congested() ?? false;
  }

  // lifecycle

  /**
   * Jobs this agent started and never finished (it died, or the machine went down) are reported
   * failed and never run again. A job whose result reached the spool before the crash keeps it.
   */
  private async reportInterrupted(): Promise<void> {
    for (const started of await this.startedJobs.list()) {
      const spooled = this.unacked.get(started.job_id)?.result;
      if (!spooled || spooled.attempt < started.attempt) {
        const result = restartedResult(started);
        this.log(
          `job ${started.job_id} was running when the agent stopped (started ${started.started_at}); ` +
            'reported failed, not run again',
        );
        await this.spool.put(result);
        this.unacked.set(result.job_id, { result, sentAt: 0 });
      }
      await this.startedJobs.clear(started.job_id);
    }
  }

  /** The saved agent token, or a new one from registration; a number is an exit code. */
  private async identify(): Promise<Identity | number> {
    const { config } = this;
    const saved = await this.store.load();
    const fingerprint = saved?.fingerprint ?? config.fingerprint ?? newFingerprint();
    // saved before registration so the machine keeps one fingerprint across failed attempts
    if (!saved) await this.store.save({ fingerprint });
    this.factsValue = collectFacts({
      fingerprint: config.fingerprint ?? fingerprint,
      name: config.name,
      platform: config.platform,
      interpreters: this.interpreters.available,
    });
    const server = config.server ?? saved?.server;
    if (!server) {
      this.log('no server: pass --server URL');
      return 2;
    }
    const credential = config.enrollmentToken ?? config.machineKey;
    // a new credential for a different server means enrolling there; otherwise the server moved
    if (saved?.agent_token && (saved.server === server || !credential)) {
      if (credential) this.log('already registered; --token/--key is ignored');
      this.updateKey = saved.update_public_key;
      if (saved.server !== server) await this.store.save({ ...saved, server });
      this.log(`starting as agent ${saved.agent_id ?? '?'} with ${server}`);
      return { server, token: saved.agent_token, heartbeatIntervalMs: DEFAULT_HEARTBEAT_MS };
    }
    if (!credential) {
      this.log('not registered yet: pass --token ENROLLMENT_TOKEN or --key MACHINE_KEY');
      return 2;
    }
    return this.register(server, fingerprint);
  }

  private async register(server: string, fingerprint: string): Promise<Identity | number> {
    const api = new AgentApi(server);
    const backoff = new Backoff();
    const credential = this.config.enrollmentToken
      ? { enrollment_token: this.config.enrollmentToken }
      : { machine_key: this.config.machineKey };
    while (!this.abort.signal.aborted) {
      const reply = await api.register({ ...credential, facts: this.facts() }, this.abort.signal);
      if (this.abort.signal.aborted) break;
      if (reply.ok) {
        const { agent_id, agent_token, heartbeat_interval_ms, update_public_key } = reply.body;
        this.updateKey = update_public_key;
        await this.store.save({ fingerprint, server, agent_id, agent_token, update_public_key });
        this.log(`registered as agent ${agent_id} with ${server}`);
        return { server, token: agent_token, heartbeatIntervalMs: heartbeat_interval_ms };
      }
      if (reply.status === 401) {
        this.log(
          `registration refused (${reply.message}): the enrollment token or machine key is invalid, expired or used up`,
        );
        return 1;
      }
      if (reply.status === 410) {
        this.log(`registration refused (${reply.message}): the server says this agent is gone; uninstalling`);
        await this.store.remove();
        return 0;
      }
      // other 4xx answers will not change by asking again; 5xx, 408, 429 and network errors may
      if (reply.status !== null && reply.status < 500 && reply.status !== 408 && reply.status !== 429) {
        this.log(`registration failed: ${reply.message}`);
        return 1;
      }
      const delay = backoff.next();
      this.log(`registration failed (${reply.message}); retrying in ${(delay / 1000).toFixed(1)}s`);
      await sleep(delay, this.abort.signal);
    }
    return 0;
  }

  /** agent_uninstall: acknowledge, report success, give the server a moment to store it, then leave. */
  private async uninstall(spec: JobSpec): Promise<void> {
    if (this.uninstalling) return;
    this.uninstalling = true;
    const reason = spec.env.FLEETPLANE_UNINSTALL_REASON;
    this.log(`uninstall requested by the server${reason ? ` (${reason})` : ''}`);
    const startedAt = performance.now();
    this.event({ type: 'ack', job_id: spec.job_id, attempt: spec.attempt });
    const settled = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, UNINSTALL_ACK_WAIT_MS);
      this.settledWaiters.set(spec.job_id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const duration_ms = Math.round(performance.now() - startedAt);
    const { job_id, attempt } = spec;
    await this.result({ type: 'result', job_id, attempt, status: 'succeeded', exit_code: 0, duration_ms });
    await settled;
    this.stop();
  }

  private shutdown(reason: string): Promise<void> {
    this.stopping ??= this.runner?.stop(reason) ?? Promise.resolve();
    return this.stopping;
  }

  private async finish(end: ConnectionEnd): Promise<number> {
    switch (end.kind) {
      case 'stopped':
        if (this.uninstalling) await this.removeState('uninstalled');
        return 0;
      case 'gone':
        this.log(`the server deleted this agent (${end.reason})`);
        await this.removeState('uninstalled');
        return 0;
      case 'unauthorized':
        this.log(
          `the server rejected the agent token (${end.message}): it was revoked or is invalid. ` +
            `To enroll again, delete ${this.store.file} and run with --token or --key.`,
        );
        return 1;
    }
  }

  private async removeState(done: string): Promise<void> {
    try {
      await this.store.remove();
      this.log(done);
    } catch (error) {
      this.log(`could not remove ${this.store.dir}: ${errorMessage(error)}`);
    }
  }

  private sendResult(result: ResultEvent): void {
    const entry = this.unacked.get(result.job_id);
    if (this.connection?.send(result) && entry?.result === result) entry.sentAt = Date.now();
  }

  /** Sends every unacknowledged result last sent more than olderThanMs ago. */
  private resend(olderThanMs: number): void {
    const now = Date.now();
    for (const entry of this.unacked.values())
      if (now - entry.sentAt >= olderThanMs) this.sendResult(entry.result);
  }
}

function shutdownReason(end: ConnectionEnd): string {
  switch (end.kind) {
    case 'stopped':
      return 'the agent stopped while the job was running';
    case 'gone':
      return 'the agent was deleted while the job was running';
    case 'unauthorized':
      return 'the agent lost its authorization while the job was running';
  }
}
