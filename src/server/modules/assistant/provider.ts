import { AppError } from '../../lib/errors.js';
import { assertReachable, type OutboundRange } from '../../lib/outbound.js';

/** One message of a chat-completions conversation. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Where and how to call the provider: the `ai` settings an organisation saved. */
export interface ProviderSettings {
  provider_url: string;
  model: string;
  api_key: string;
  max_tokens: number;
  temperature: number;
  timeout_seconds: number;
}

/** What the provider answered: its text, or the refusal it gave instead, and what it cost. */
export interface ChatAnswer {
  content: string | null;
  refusal: string | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  latency_ms: number;
}

/** The most of a provider's error body quoted back: enough to read its reason. */
const MAX_QUOTED_CHARS = 300;

/**
 * A client of any OpenAI-compatible chat-completions API. Every failure becomes an AppError the
 * HTTP edge answers clearly: a timeout 504, a provider that refuses connections or rate-limits
 * 503 (with its Retry-After), any other failure or a body that is no chat completion 502.
 */
export class ChatProvider {
  readonly #allow: readonly OutboundRange[];

  constructor(deps: { allow: readonly OutboundRange[] }) {
    this.#allow = deps.allow;
  }

  async complete(
    settings: ProviderSettings,
    messages: readonly ChatMessage[],
    schema: { name: string; schema: object },
  ): Promise<ChatAnswer> {
    const url = await assertReachable(completionsUrl(settings.provider_url), this.#allow, 'provider_url');
    const started = performance.now();
    const body = JSON.stringify({
      model: settings.model,
      messages,
      max_tokens: settings.max_tokens,
      temperature: settings.temperature,
      response_format: { type: 'json_schema', json_schema: { ...schema, strict: true } },
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Fleetplane',
    };
    if (settings.api_key) headers.authorization = `Bearer ${settings.api_key}`;
    const timeoutMs = settings.timeout_seconds * 1000;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      throw unreachable(error, settings.timeout_seconds);
    }
    if (status < 200 || status > 299) throw refused(status, text, retryAfter);
    return { ...parseCompletion(text), latency_ms: Math.round(performance.now() - started) };
  }
}

/** The base URL as configured (`https://api.openai.com/v1`), or the full endpoint when given. */
export function completionsUrl(base: string): string {
  if (!base) throw new AppError('conflict', 'the AI provider is not configured (ai.provider_url)');
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/chat/completions') ? trimmed : `${trimmed}/chat/completions`;
}

function unreachable(error: unknown, timeoutSeconds: number): AppError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError')
    return new AppError('gateway_timeout', `the AI provider did not answer within ${timeoutSeconds} s`);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  return new AppError('provider_unavailable', `the AI provider cannot be reached: ${cause}`);
}

/** Seconds from a Retry-After header: delay-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function refused(status: number, text: string, retryAfter: string | null): AppError {
  const quoted = text.slice(0, MAX_QUOTED_CHARS).trim();
  const reason = quoted ? `: ${quoted}` : '';
  if (status === 429 || status === 503) {
    const seconds = retryAfterSeconds(retryAfter);
    const what = status === 429 ? 'is rate-limiting requests' : 'is unavailable';
    return new AppError('provider_unavailable', `the AI provider ${what} (HTTP ${status})${reason}`, {
      ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
    });
  }
  if (status === 401 || status === 403)
    return new AppError('bad_gateway', `the AI provider refused the API key (HTTP ${status})${reason}`);
  if (status >= 300 && status < 400)
    return new AppError(
      'bad_gateway',
      `the AI provider answered a redirect (HTTP ${status}); check ai.provider_url`,
    );
  return new AppError('bad_gateway', `the AI provider answered HTTP ${status}${reason}`);
}

/** A chat completion as far as we read it; anything else is the provider's nonsense (502). */
function parseCompletion(text: string): Omit<ChatAnswer, 'latency_ms'> {
  const nonsense = (why: string) =>
    new AppError('bad_gateway', `the AI provider answered something that is not a chat completion: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw nonsense('not JSON');
  }
  const root = parsed as {
    choices?: { message?: { content?: unknown; refusal?: unknown } }[];
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  };
  const message = Array.isArray(root.choices) ? root.choices[0]?.message : undefined;
  if (!message || typeof message !== 'object') throw nonsense('no choices[0].message');
  const content = typeof message.content === 'string' ? message.content : null;
  const refusal = typeof message.refusal === 'string' && message.refusal ? message.refusal : null;
  if (content === null && refusal === null) throw nonsense('the message has no content');
  const tokens = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return {
    content,
    refusal,
    usage: {
      prompt_tokens: tokens(root.usage?.prompt_tokens),
      completion_tokens: tokens(root.usage?.completion_tokens),
    },
  };
}
