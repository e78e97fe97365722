import { isWindows } from '../../../protocol/jobs.js';
import { AppError } from '../../lib/errors.js';
import type { RequestContext } from '../access/context.js';
import type { Permission } from '../access/permissions.js';
import type { SettingsValues } from '../settings/settings.catalog.js';
import type { Conversation, Message, Owner } from './assistant.repo.js';
import type { ConversationView, MessageView, ModelAnswer, Proposal } from './assistant.schemas.js';
import { analyzeCommand } from './safety/analyzer.js';
import { stricter, type SafetyLevel, type SafetyVerdict, type ShellFamily } from './safety/verdict.js';

/** The assistant's rules: who owns what, what running takes, how a verdict is reached. */
export type Confirmation = 'none' | 'confirm' | 'confirm_dangerous';

/** What running a command of this level takes, with the safety check on or off. */
export function confirmationFor(level: SafetyLevel, safetyCheck: boolean): Confirmation {
  if (!safetyCheck || level === 'safe') return 'none';
  return level === 'dangerous' ? 'confirm_dangerous' : 'confirm';
}

export function ownerOf(ctx: RequestContext): Owner {
  if (!ctx.userId)
    throw new AppError('forbidden', 'the assistant keeps conversations per user; sign in as one');
  return { orgId: ctx.orgId, userId: ctx.userId };
}

/** Running through the assistant takes what running by hand takes. */
export function holding(ctx: RequestContext, permission: Permission): RequestContext {
  if (!ctx.permissions.has(permission))
    throw new AppError('forbidden', `this takes the permission "${permission}"`);
  return ctx;
}

export function assertConfirmed(ctx: RequestContext, needed: Confirmation, confirmed: boolean): void {
  if (needed === 'confirm_dangerous' && !ctx.permissions.has('assistant:confirm_dangerous'))
    throw new AppError(
      'forbidden',
      'the safety check calls this command dangerous: running it takes the permission "assistant:confirm_dangerous"',
    );
  if (needed !== 'none' && !confirmed)
    throw new AppError(
      'unprocessable',
      `the safety check calls this command ${needed === 'confirm' ? 'caution' : 'dangerous'}: send confirm: true to run it`,
      {
        details: [{ field: 'confirm', message: 'must be true to run this command' }],
      },
    );
}

/** The final verdict: the analyzer's, raised (never lowered) by the model's. */
export function judged(answer: ModelAnswer, shell: ShellFamily, ai: SettingsValues<'ai'>): Proposal {
  const verdict: SafetyVerdict = analyzeCommand(answer.command, shell);
  const level = stricter(verdict.level, answer.safety.level);
  return {
    command: answer.command,
    shell,
    explanation: answer.explanation,
    parameters: answer.parameters,
    safety: {
      level,
      analyzer_level: verdict.level,
      model_level: answer.safety.level,
      findings: verdict.findings,
      model_reasons: answer.safety.reasons,
      confirmation: confirmationFor(level, ai.safety_check),
    },
    estimated_duration_seconds: answer.estimated_duration_seconds,
    model: ai.model,
  };
}

export function defaultShell(osType: string, interpreters: readonly string[]): ShellFamily {
  if (isWindows(osType)) return 'powershell';
  return interpreters.length === 0 || interpreters.includes('bash') ? 'bash' : 'sh';
}

export function conversationView(row: Conversation): ConversationView {
  return {
    id: row.id,
    title: row.title,
    shell: row.shell as ShellFamily,
    os_type: row.os_type,
    agent_id: row.agent_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function messageView(message: Message): MessageView {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    proposal: message.proposal,
    job_id: message.job_id,
    run_id: message.run_id,
    created_at: message.created_at,
  };
}
