import { StringDecoder } from 'node:string_decoder';
import type { JobEvent } from '../protocol/agent.js';

export type OutputEvent = Extract<JobEvent, { type: 'output' }>;
export type OutputStream = OutputEvent['stream'];

/** Small enough to interleave live output from many jobs on one socket. */
export const MAX_CHUNK_BYTES = 8 * 1024;

/** Splits text into pieces of at most maxBytes of UTF-8, never inside a character. */
export function splitUtf8(text: string, maxBytes = MAX_CHUNK_BYTES): string[] {
  if (text === '') return [];
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // continuation bytes are 10xxxxxx: step back to the first byte of the character
    while (end < bytes.length && (bytes.readUInt8(end) & 0xc0) === 0x80) end -= 1;
    pieces.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

/**
 * Turns one job's stdout and stderr bytes into output events. Each stream has its own decoder,
 * so a character split across two reads is emitted whole; seq counts across both streams.
 */
export class JobOutput {
  private seq = 0;
  private readonly decoders: Record<OutputStream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };

  constructor(
    private readonly jobId: string,
    private readonly attempt: number,
  ) {}

  write(stream: OutputStream, chunk: Buffer): OutputEvent[] {
    return this.events(stream, this.decoders[stream].write(chunk));
  }

  /** Flushes bytes held back for an incomplete character (emitted as U+FFFD). */
  end(): OutputEvent[] {
    return [
      ...this.events('stdout', this.decoders.stdout.end()),
      ...this.events('stderr', this.decoders.stderr.end()),
    ];
  }

  private events(stream: OutputStream, text: string): OutputEvent[] {
    return splitUtf8(text).map((data) => ({
      type: 'output',
      job_id: this.jobId,
      attempt: this.attempt,
      seq: this.seq++,
      stream,
      data,
    }));
  }
}

/** The server's default output cap: replaying more than it keeps would be wasted. */
export const REPLAY_BYTES_PER_JOB = 1024 * 1024;

/**
 * Each job's output kept until its result is settled, so output that a dropped connection or a
 * server restart lost is sent again on reconnect; the server stores each (attempt, seq) once.
 */
export class OutputReplay {
  private readonly jobs = new Map<string, { attempt: number; events: OutputEvent[]; bytes: number }>();

  constructor(private readonly maxBytesPerJob = REPLAY_BYTES_PER_JOB) {}

  keep(event: OutputEvent): void {
    let kept = this.jobs.get(event.job_id);
    if (kept?.attempt !== event.attempt) {
      kept = { attempt: event.attempt, events: [], bytes: 0 };
      this.jobs.set(event.job_id, kept);
    }
    const bytes = Buffer.byteLength(event.data);
    if (kept.bytes + bytes > this.maxBytesPerJob) {
      // Full: a later, smaller chunk is not kept either, so what is kept has no gaps.
      kept.bytes = this.maxBytesPerJob;
      return;
    }
    kept.events.push(event);
    kept.bytes += bytes;
  }

  forget(jobId: string, attempt: number): void {
    if (this.jobs.get(jobId)?.attempt === attempt) this.jobs.delete(jobId);
  }

  /** Every kept event, job by job, each job's in order. */
  events(): OutputEvent[] {
    return [...this.jobs.values()].flatMap((kept) => kept.events);
  }
}
