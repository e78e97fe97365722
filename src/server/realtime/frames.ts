import { AgentFrame } from '../../protocol/agent.js';
import { jsonValidator } from '../http/validation.js';

/** The same rules as the HTTP edge: an agent's frames follow the text rules of their schemas. */
const validateFrame = jsonValidator<AgentFrame>(AgentFrame);

/** Parses one WebSocket message from an agent; null when it is not a valid frame. */
export function parseAgentFrame(raw: string): AgentFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return validateFrame(value) ? value : null;
}
