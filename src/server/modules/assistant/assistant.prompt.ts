import { jsonValidator } from '../../http/validation.js';
import type { Message } from './assistant.repo.js';
import { ModelAnswer } from './assistant.schemas.js';
import type { ChatMessage } from './provider.js';
import type { ShellFamily } from './safety/verdict.js';

/** The conversation sent back to the model is bounded: at most this many messages… */
export const HISTORY_MESSAGES = 12;
/** …and this many characters, the oldest dropped first. */
export const HISTORY_CHARS = 12_000;
/** The end of a job's output fed back to the model. */
export const OUTPUT_CHARS = 4000;

/** Bounds the answer is validated against here, but that strict structured output does not take everywhere. */
const BOUNDS = new Set(['minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum']);

function withoutBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutBounds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !BOUNDS.has(key))
      .map(([key, inner]) => [key, withoutBounds(inner)]),
  );
}

/** The answer schema as sent to the provider: plain JSON (TypeBox's markers and bounds dropped). */
export const answerSchema = {
  name: 'command_proposal',
  schema: withoutBounds(JSON.parse(JSON.stringify(ModelAnswer))) as object,
};

const validateAnswer = jsonValidator<ModelAnswer>(ModelAnswer);

export interface Target {
  shell: ShellFamily;
  osType: string | null;
  agentName: string | null;
}

export function systemPrompt(target: Target, extra: string): string {
  const machine = target.agentName
    ? `the machine "${target.agentName}" (${target.osType ?? 'unknown OS'})`
    : `a ${target.osType ?? 'unspecified'} machine`;
  const lines = [
    "You are Fleetplane's command assistant. An operator describes what they want done on",
    `${machine}; answer with ONE command for the ${target.shell} shell that does it.`,
    'Prefer read-only commands when the request allows; never add destructive steps that were not asked for.',
    'Answer only JSON matching the given schema: command, explanation (what it does, step by step),',
    'parameters (values you assumed, such as a path or a count), safety.level (safe: reads only;',
    'caution: changes something recoverable; dangerous: can destroy data, stop the machine or weaken',
    'its security) with reasons, and estimated_duration_seconds (null when unknown).',
    'When the operator gives a command output, explain it and propose the next or fixed command.',
  ];
  return extra ? `${lines.join(' ')}\n\n${extra}` : lines.join(' ');
}

/** How an earlier proposal reads in the history: what the model said, compactly. */
function assistantText(message: Message): string {
  const p = message.proposal;
  return p ? JSON.stringify({ command: p.command, explanation: p.explanation }) : message.content;
}

/** The newest messages that fit HISTORY_CHARS, oldest first. */
export function boundedHistory(messages: readonly Message[]): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let chars = 0;
  for (const message of [...messages].reverse().slice(0, HISTORY_MESSAGES)) {
    const content = message.role === 'assistant' ? assistantText(message) : message.content;
    chars += content.length;
    if (chars > HISTORY_CHARS) break;
    kept.unshift({ role: message.role, content });
  }
  return kept;
}

/** A job's output as fed back: its status and the end of what it printed. */
export function outputNote(
  job: { id: string; status: string; exit_code: number | null },
  output: string,
): string {
  const tail = output.length > OUTPUT_CHARS ? `…${output.slice(-OUTPUT_CHARS)}` : output;
  const exit = job.exit_code === null ? '' : `, exit code ${job.exit_code}`;
  return `Output of the command (job ${job.id}, ${job.status}${exit}):\n\`\`\`\n${tail}\n\`\`\``;
}

/** The model's answer, or why it is not one (to ask for a repair, then to fail with). */
export function readAnswer(content: string): { answer: ModelAnswer } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripFence(content));
  } catch {
    return { problem: 'the answer is not JSON' };
  }
  if (validateAnswer(parsed)) return { answer: parsed };
  const first = validateAnswer.errors?.[0];
  return {
    problem:
      `the answer does not match the schema: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim(),
  };
}

/** Some providers wrap JSON in a Markdown fence even when asked for JSON only. */
function stripFence(content: string): string {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content);
  return fenced?.[1] ?? content;
}

export function repairRequest(problem: string): ChatMessage {
  return {
    role: 'user',
    content: `Your answer could not be used (${problem}). Answer again with only a JSON object matching the schema.`,
  };
}
