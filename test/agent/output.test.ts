import { describe, expect, it } from 'vitest';
import { JobOutput, MAX_CHUNK_BYTES, OutputReplay, splitUtf8 } from '../../src/agent/output.js';

describe('agent output chunker', () => {
  it('agent: a multi-byte character split across two reads is emitted whole', () => {
    const output = new JobOutput('job-1', 1);
    const euro = Buffer.from('a€b', 'utf8'); // € is 3 bytes: e2 82 ac
    const first = output.write('stdout', euro.subarray(0, 2));
    const second = output.write('stdout', euro.subarray(2));
    expect(first.map((e) => e.data)).toEqual(['a']);
    expect(second.map((e) => e.data)).toEqual(['€b']);
    expect(output.end()).toEqual([]);
  });

  it('agent: chunks are at most 8 KiB of UTF-8 and never split a character', () => {
    const text = 'x' + '😀'.repeat(5000); // 4-byte characters, misaligned by one byte
    const pieces = splitUtf8(text);
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces) {
      expect(Buffer.byteLength(piece, 'utf8')).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
      expect(piece).not.toContain('\uFFFD');
    }
    expect(pieces.join('')).toBe(text);
    expect(splitUtf8('')).toEqual([]);
    expect(splitUtf8('short')).toEqual(['short']);
  });

  it('agent: seq counts from 0 across stdout and stderr in emission order', () => {
    const output = new JobOutput('job-1', 2);
    const events = [
      ...output.write('stdout', Buffer.from('a'.repeat(MAX_CHUNK_BYTES + 10))),
      ...output.write('stderr', Buffer.from('oops\n')),
      ...output.write('stdout', Buffer.from([0xe2, 0x82])),
      ...output.end(),
    ];
    expect(events.map((e) => [e.seq, e.stream, Buffer.byteLength(e.data)])).toEqual([
      [0, 'stdout', MAX_CHUNK_BYTES],
      [1, 'stdout', 10],
      [2, 'stderr', 5],
      // an incomplete character at the end is flushed as U+FFFD
      [3, 'stdout', 3],
    ]);
    expect(events.every((e) => e.job_id === 'job-1' && e.attempt === 2 && e.type === 'output')).toBe(true);
  });
});

describe('agent output replay', () => {
  const chunk = (job: string, attempt: number, seq: number, data: string) =>
    ({ type: 'output', job_id: job, attempt, seq, stream: 'stdout', data }) as const;

  it('agent: output is kept per job up to its cap, a new attempt replaces the old, and a settled result forgets it', () => {
    const replay = new OutputReplay(11);
    replay.keep(chunk('a', 1, 0, 'hello'));
    replay.keep(chunk('b', 1, 0, 'other'));
    replay.keep(chunk('a', 1, 1, 'world'));
    replay.keep(chunk('a', 1, 2, '!!')); // over the 11-byte cap: not kept
    replay.keep(chunk('a', 1, 3, '!')); // nor anything after it, though it would fit
    expect(replay.events().map((e) => [e.job_id, e.seq])).toEqual([
      ['a', 0],
      ['a', 1],
      ['b', 0],
    ]);
    replay.keep(chunk('b', 2, 0, 'again'));
    replay.forget('a', 2); // another attempt's result: a's output stays
    expect(replay.events().map((e) => [e.job_id, e.attempt, e.seq])).toEqual([
      ['a', 1, 0],
      ['a', 1, 1],
      ['b', 2, 0],
    ]);
    replay.forget('a', 1);
    expect(replay.events().map((e) => e.job_id)).toEqual(['b']);
  });
});
