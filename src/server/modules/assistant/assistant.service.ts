import { inTransaction, type Executor } from '../../db/executor.js';
import type { Interpreter } from '../../../protocol/jobs.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { JobsService } from '../execution/jobs.service.js';
import type { RunsService } from '../execution/runs.service.js';
import type { ScriptsService, ScriptView } from '../scripts/scripts.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { SettingsValues } from '../settings/settings.catalog.js';
import {
  answerSchema,
  boundedHistory,
  HISTORY_MESSAGES,
  outputNote,
  readAnswer,
  repairRequest,
  systemPrompt,
  type Target,
} from './assistant.prompt.js';
import { assistantRepo, type Conversation, type Owner } from './assistant.repo.js';
import {
  assertConfirmed,
  confirmationFor,
  conversationView,
  defaultShell,
  holding,
  judged,
  messageView,
  ownerOf,
} from './assistant.rules.js';
import type {
  ConversationView,
  GenerateBody,
  MessageView,
  ModelAnswer,
  Proposal,
  RunBody,
  SaveBody,
} from './assistant.schemas.js';
import type { ChatMessage, ChatProvider } from './provider.js';
import { analyzeCommand } from './safety/analyzer.js';
import { stricter, type SafetyLevel, type ShellFamily } from './safety/verdict.js';

/** How the last provider call of an organisation went, on this node. */
interface CallOutcome {
  reachable: boolean;
  error: string | null;
  at: string;
}

const DAY_MS = 86_400_000;

/**
 * The command assistant: turns a request into a proposed command through an OpenAI-compatible
 * provider, judges every command with the deterministic analyzer (the model may raise the level,
 * never lower it), keeps each user's conversations, and runs a proposal as an ordinary job or
 * run through the execution engine, under the same permissions and audit.
 */
export class AssistantService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #settings: SettingsService;
  readonly #agents: AgentsService;
  readonly #jobs: JobsService;
  readonly #runs: RunsService;
  readonly #scripts: ScriptsService;
  readonly #provider: ChatProvider;
  readonly #limiter: RateLimiter;
  readonly #outcomes = new Map<string, CallOutcome>();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    settings: SettingsService;
    agents: AgentsService;
    jobs: JobsService;
    runs: RunsService;
    scripts: ScriptsService;
    provider: ChatProvider;
    /** Generations per user (429 past it). */
    limiter: RateLimiter;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#settings = deps.settings;
    this.#agents = deps.agents;
    this.#jobs = deps.jobs;
    this.#runs = deps.runs;
    this.#scripts = deps.scripts;
    this.#provider = deps.provider;
    this.#limiter = deps.limiter;
  }

  async status(ctx: RequestContext) {
    const ai = await this.#settings.read(ctx.orgId, 'ai');
    const outcome = this.#outcomes.get(ctx.orgId);
    const since = new Date(this.#clock.now().getTime() - 30 * DAY_MS).toISOString();
    return {
      enabled: ai.enabled,
      configured: Boolean(ai.provider_url && ai.model),
      reachable: outcome?.reachable ?? null,
      model: ai.model,
      safety_check: ai.safety_check,
      last_error: outcome?.error ?? null,
      last_called_at: outcome?.at ?? null,
      usage: await assistantRepo.usageSince(this.#db, ownerOf(ctx), since),
    };
  }

  /** A small real completion: the provider, the key and the model all answer, or the reason. */
  async test(ctx: RequestContext): Promise<{ ok: boolean; model: string; latency_ms: number }> {
    const ai = await this.#configured(ctx.orgId, { requireEnabled: false });
    const answer = await this.#call(ctx, ai, [
      { role: 'system', content: systemPrompt({ shell: 'bash', osType: 'linux', agentName: null }, '') },
      { role: 'user', content: 'print the current date' },
    ]);
    return { ok: true, model: ai.model, latency_ms: answer.latency_ms };
  }

  review(command: string, shell: ShellFamily, safetyCheck: boolean) {
    const verdict = analyzeCommand(command, shell);
    return { ...verdict, confirmation: confirmationFor(verdict.level, safetyCheck) };
  }

  /** Reviews a command a user submits, without the model; audited like a generation. */
  async reviewAudited(ctx: RequestContext, command: string, shell: ShellFamily) {
    const ai = await this.#settings.read(ctx.orgId, 'ai');
    const verdict = this.review(command, shell, ai.safety_check);
    // Nothing is stored but the event: its id names the review.
    const id = newId();
    await this.#audit.record(this.#db, ctx, {
      action: 'created',
      entityType: 'assistant_review',
      entityId: id,
      after: { command, shell, level: verdict.level, findings: verdict.findings },
    });
    return { id, ...verdict };
  }

  async generate(
    ctx: RequestContext,
    input: GenerateBody,
  ): Promise<{ conversation_id: string; message_id: string; proposal: Proposal }> {
    const owner = ownerOf(ctx);
    this.#limiter.hit([`assistant:${owner.userId}`]);
    const ai = await this.#configured(ctx.orgId, { requireEnabled: true });
    const existing = input.conversation_id
      ? await this.#conversation(owner, input.conversation_id)
      : undefined;
    const target = await this.#target(ctx, input, existing);
    const note = input.job_id ? await this.#jobNote(ctx, input.job_id) : null;
    const request = note ? `${input.prompt}\n\n${note}` : input.prompt;
    const history = existing
      ? await assistantRepo.recentMessages(this.#db, existing.id, HISTORY_MESSAGES)
      : [];
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPrompt(target, ai.system_prompt_extra) },
      ...boundedHistory(history),
      { role: 'user', content: request },
    ];
    const answer = await this.#answer(ctx, ai, messages);
    const proposal = judged(answer, target.shell, ai);
    const now = this.#clock.now().toISOString();
    return inTransaction(this.#db, async (trx) => {
      const conversationId = existing?.id ?? newId();
      if (existing) await assistantRepo.touchConversation(trx, existing.id, now);
      else
        await assistantRepo.insertConversation(trx, {
          id: conversationId,
          org_id: owner.orgId,
          user_id: owner.userId,
          title: input.prompt.slice(0, 120),
          os_type: target.osType,
          shell: target.shell,
          agent_id: input.agent_id ?? null,
          created_at: now,
          updated_at: now,
        });
      const base = { conversation_id: conversationId, job_id: null, run_id: null, created_at: now };
      await assistantRepo.insertMessage(trx, {
        ...base,
        id: newId(),
        role: 'user',
        content: request,
        proposal: null,
      });
      const messageId = newId();
      await assistantRepo.insertMessage(trx, {
        ...base,
        id: messageId,
        role: 'assistant',
        content: proposal.explanation,
        proposal,
      });
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'assistant_proposal',
        entityId: messageId,
        after: {
          conversation_id: conversationId,
          request: input.prompt,
          job_id: input.job_id ?? null,
          model: ai.model,
          command: proposal.command,
          shell: proposal.shell,
          safety: proposal.safety,
        },
      });
      return { conversation_id: conversationId, message_id: messageId, proposal };
    });
  }

  /**
   * Runs a proposal: the safety verdict is judged again now (the analyzer may have learnt since),
   * then the command becomes an ordinary job (one agent) or run (a target set), created by the
   * execution engine with its own permission and audit, and linked to the message.
   */
  async run(
    ctx: RequestContext,
    input: RunBody,
  ): Promise<{ message_id: string; job_id: string | null; run_id: string | null; level: SafetyLevel }> {
    const owner = ownerOf(ctx);
    await this.#conversation(owner, input.conversation_id);
    const message = await assistantRepo.getMessage(this.#db, input.conversation_id, input.message_id);
    const proposal = message?.proposal;
    if (!message || !proposal) throw notFound('proposal');
    if ((input.agent_id === undefined) === (input.target === undefined))
      throw new AppError('unprocessable', 'give either agent_id or target', {
        details: [
          { field: 'agent_id', message: 'give either agent_id (one agent) or target (a run), not both' },
        ],
      });
    const ai = await this.#settings.read(ctx.orgId, 'ai');
    const level = stricter(proposal.safety.level, analyzeCommand(proposal.command, proposal.shell).level);
    assertConfirmed(ctx, confirmationFor(level, ai.safety_check), input.confirm === true);
    // Every shell family is an interpreter the agents know.
    const job = { interpreter: proposal.shell as Interpreter, command: proposal.command };
    const link = await this.#start(ctx, input, job);
    await inTransaction(this.#db, async (trx) => {
      await assistantRepo.linkRun(trx, message.id, link);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'assistant_proposal',
        entityId: message.id,
        before: { job_id: message.job_id, run_id: message.run_id },
        after: {
          ...link,
          command: proposal.command,
          shell: proposal.shell,
          level,
          confirmed: input.confirm === true,
        },
      });
    });
    return { message_id: message.id, ...link, level };
  }

  /** The job (one agent) or run (a target set) of a proposal, as running it by hand would make it. */
  async #start(
    ctx: RequestContext,
    input: Pick<RunBody, 'agent_id' | 'target'>,
    job: { interpreter: Interpreter; command: string },
  ): Promise<{ job_id: string | null; run_id: string | null }> {
    if (input.agent_id)
      return {
        job_id: (await this.#jobs.create(holding(ctx, 'jobs:execute'), input.agent_id, job)).id,
        run_id: null,
      };
    if (!input.target)
      throw new AppError('unprocessable', 'give either agent_id or target', {
        details: [
          { field: 'agent_id', message: 'give either agent_id (one agent) or target (a run), not both' },
        ],
      });
    const run = await this.#runs.create(holding(ctx, 'runs:execute'), {
      target: input.target,
      job,
      source: 'assistant',
      name: `assistant: ${job.command.slice(0, 100)}`,
    });
    return { job_id: null, run_id: run.id };
  }

  /** Saves a proposal as a script (or a one-line saved command) with typed parameters. */
  async save(ctx: RequestContext, input: SaveBody): Promise<ScriptView> {
    await this.#conversation(ownerOf(ctx), input.conversation_id);
    const message = await assistantRepo.getMessage(this.#db, input.conversation_id, input.message_id);
    const proposal = message?.proposal;
    if (!proposal) throw notFound('proposal');
    const parameters =
      input.parameters ??
      proposal.parameters
        .filter((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name))
        .map((p) => ({
          name: p.name,
          type: 'string' as const,
          description: p.description,
          default: p.value,
        }));
    return this.#scripts.create(ctx, {
      name: input.name,
      description: input.description ?? proposal.explanation.slice(0, 4000),
      kind: input.kind ?? (proposal.command.includes('\n') ? 'script' : 'command'),
      language: proposal.shell,
      content: proposal.command,
      parameters,
    });
  }

  async listConversations(ctx: RequestContext, page: PageParams): Promise<Page<ConversationView>> {
    return mapPage(await assistantRepo.listConversations(this.#db, ownerOf(ctx), page), conversationView);
  }

  async getConversation(
    ctx: RequestContext,
    id: string,
  ): Promise<ConversationView & { messages: MessageView[] }> {
    const conversation = await this.#conversation(ownerOf(ctx), id);
    const messages = await assistantRepo.messages(this.#db, id);
    return { ...conversationView(conversation), messages: messages.map(messageView) };
  }

  async removeConversation(ctx: RequestContext, id: string): Promise<void> {
    const owner = ownerOf(ctx);
    const conversation = await this.#conversation(owner, id);
    await inTransaction(this.#db, async (trx) => {
      await assistantRepo.removeConversation(trx, owner, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'assistant_conversation',
        entityId: id,
        before: conversationView(conversation),
      });
    });
  }

  async #conversation(owner: Owner, id: string): Promise<Conversation> {
    const conversation = await assistantRepo.getConversation(this.#db, owner, id);
    if (!conversation) throw notFound('conversation');
    return conversation;
  }

  async #configured(orgId: string, options: { requireEnabled: boolean }): Promise<SettingsValues<'ai'>> {
    const ai = await this.#settings.read(orgId, 'ai');
    if (options.requireEnabled && !ai.enabled)
      throw new AppError('conflict', 'the assistant is turned off (ai.enabled)');
    if (!ai.provider_url || !ai.model)
      throw new AppError('conflict', 'the AI provider is not configured (ai.provider_url, ai.model)');
    return ai;
  }

  /** The shell and OS a command is for: the agent's, unless the request names a shell. */
  async #target(ctx: RequestContext, input: GenerateBody, existing?: Conversation): Promise<Target> {
    const agentId =
      input.agent_id ?? (input.os_type || input.shell ? undefined : (existing?.agent_id ?? undefined));
    if (agentId) {
      const agent = await this.#agents.get(ctx.orgId, agentId);
      return {
        shell: input.shell ?? defaultShell(agent.os_type, agent.interpreters),
        osType: agent.os_type,
        agentName: agent.name,
      };
    }
    const osType = input.os_type ?? existing?.os_type ?? null;
    const shell =
      input.shell ??
      (existing?.shell as ShellFamily | undefined) ??
      (osType ? defaultShell(osType, []) : undefined);
    if (!shell)
      throw new AppError('unprocessable', 'say which machine the command is for', {
        details: [{ field: 'agent_id', message: 'give agent_id, or os_type and/or shell' }],
      });
    return { shell, osType, agentName: null };
  }

  async #jobNote(ctx: RequestContext, jobId: string): Promise<string> {
    const { job, chunks } = await this.#jobs.output(holding(ctx, 'jobs:read').orgId, jobId);
    return outputNote(job, chunks.map((chunk) => chunk.data).join(''));
  }

  /** Asks the model, repairs a malformed answer once, then fails clearly (502). */
  async #answer(
    ctx: RequestContext,
    ai: SettingsValues<'ai'>,
    messages: ChatMessage[],
  ): Promise<ModelAnswer> {
    let conversation = messages;
    let problem = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      const reply = await this.#call(ctx, ai, conversation);
      if (reply.content === null)
        throw new AppError(
          'unprocessable',
          `the model declined the request: ${reply.refusal ?? 'no reason given'}`,
          {
            details: [{ field: 'prompt', message: 'the model refused it' }],
          },
        );
      const read = readAnswer(reply.content);
      if ('answer' in read) return read.answer;
      problem = read.problem;
      conversation = [...messages, { role: 'assistant', content: reply.content }, repairRequest(problem)];
    }
    this.#note(ctx.orgId, { reachable: true, error: `malformed answer twice: ${problem}` });
    throw new AppError('bad_gateway', `the AI provider answered malformed JSON twice (${problem})`);
  }

  /** One provider call: its outcome noted for the status, its tokens counted for the user. */
  async #call(ctx: RequestContext, ai: SettingsValues<'ai'>, messages: ChatMessage[]) {
    try {
      const answer = await this.#provider.complete(ai, messages, answerSchema);
      this.#note(ctx.orgId, { reachable: true, error: null });
      await assistantRepo.insertUsage(this.#db, {
        id: newId(),
        org_id: ctx.orgId,
        user_id: ownerOf(ctx).userId,
        model: ai.model,
        ...answer.usage,
        created_at: this.#clock.now().toISOString(),
      });
      return answer;
    } catch (error) {
      if (error instanceof AppError && error.code !== 'unprocessable')
        this.#note(ctx.orgId, { reachable: error.code === 'bad_gateway', error: error.message });
      throw error;
    }
  }

  #note(orgId: string, outcome: Omit<CallOutcome, 'at'>): void {
    this.#outcomes.set(orgId, { ...outcome, at: this.#clock.now().toISOString() });
  }
}
