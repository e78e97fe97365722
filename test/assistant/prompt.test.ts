import { describe, expect, it } from 'vitest';
import {
  boundedHistory,
  HISTORY_CHARS,
  HISTORY_MESSAGES,
  OUTPUT_CHARS,
  outputNote,
  readAnswer,
} from '../../src/server/modules/assistant/assistant.prompt.js';
import type { Message } from '../../src/server/modules/assistant/assistant.repo.js';

const message = (i: number, content = `request ${i}`): Message => ({
  id: `m${String(i).padStart(4, '0')}`,
  conversation_id: 'c',
  role: i % 2 === 0 ? 'user' : 'assistant',
  content,
  proposal: null,
  job_id: null,
  run_id: null,
  created_at: '2030-01-01T00:00:00.000Z',
});

describe('assistant: what is sent back to the model is bounded', () => {
  it('assistant: history keeps the newest messages, in order, within the message and character bounds', () => {
    const many = Array.from({ length: 40 }, (_, i) => message(i));
    const kept = boundedHistory(many);
    expect(kept).toHaveLength(HISTORY_MESSAGES);
    expect(kept.at(-1)?.content).toBe('request 39');
    expect(kept[0]?.content).toBe(`request ${40 - HISTORY_MESSAGES}`);

    const long = Array.from({ length: 6 }, (_, i) => message(i, 'x'.repeat(HISTORY_CHARS / 4)));
    const fitted = boundedHistory(long);
    expect(fitted.length).toBeLessThan(6);
    expect(fitted.reduce((sum, m) => sum + m.content.length, 0)).toBeLessThanOrEqual(HISTORY_CHARS);
  });

  it("assistant: a job's output is fed back by its end, with its status and exit code", () => {
    const output = `${'a'.repeat(OUTPUT_CHARS)}THE END`;
    const note = outputNote({ id: 'j1', status: 'failed', exit_code: 2 }, output);
    expect(note).toContain('failed, exit code 2');
    expect(note).toContain('THE END');
    expect(note.length).toBeLessThan(OUTPUT_CHARS + 200);
  });

  it('assistant: an answer is read from JSON (fenced or not) and refused with a reason otherwise', () => {
    const good = {
      command: 'uptime',
      explanation: 'x',
      parameters: [],
      safety: { level: 'safe', reasons: [] },
      estimated_duration_seconds: null,
    };
    expect(readAnswer(JSON.stringify(good))).toEqual({ answer: good });
    expect(readAnswer('```json\n' + JSON.stringify(good) + '\n```')).toEqual({ answer: good });
    expect(readAnswer('ls')).toEqual({ problem: 'the answer is not JSON' });
    const wrong = readAnswer(JSON.stringify({ ...good, safety: { level: 'fine', reasons: [] } }));
    expect('problem' in wrong && wrong.problem).toContain('/safety/level');
  });
});
