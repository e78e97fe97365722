import { createInterface } from 'node:readline/promises';

/** Where a command writes: the streams it was given (tests and pipes get no TTY). */
export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/**
 * Lines to stdout and stderr, and one progress line on stderr. On a TTY the progress line is
 * redrawn in place (cleared before any other line and drawn again after it); elsewhere each new
 * progress text is a plain line of its own, so logs keep it without control characters.
 */
export class Terminal {
  readonly #streams: Streams;
  #progress: string | null = null;
  #lastPlainProgress: string | null = null;

  constructor(streams: Streams) {
    this.#streams = streams;
  }

  get #redraws(): boolean {
    return this.#streams.stderr.isTTY === true;
  }

  out(line: string): void {
    this.#write(this.#streams.stdout, `${line}\n`);
  }

  err(line: string): void {
    this.#write(this.#streams.stderr, `${line}\n`);
  }

  /** Text as it came, without a line break added (a followed job's raw output). */
  write(stream: 'stdout' | 'stderr', text: string): void {
    this.#write(stream === 'stderr' ? this.#streams.stderr : this.#streams.stdout, text);
  }

  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  progress(text: string): void {
    if (!this.#redraws) {
      if (text !== this.#lastPlainProgress) this.#streams.stderr.write(`${text}\n`);
      this.#lastPlainProgress = text;
      return;
    }
    // a line wider than the terminal wraps, and \r would then clear only its last row
    const columns = this.#streams.stderr.columns;
    this.#progress = columns ? text.slice(0, columns - 1) : text;
    this.#streams.stderr.write(`\r\x1b[K${this.#progress}`);
  }

  /** Removes the progress line for good. */
  endProgress(): void {
    if (this.#progress !== null) this.#streams.stderr.write('\r\x1b[K');
    this.#progress = null;
  }

  #write(stream: NodeJS.WritableStream, text: string): void {
    if (this.#progress === null) {
      stream.write(text);
      return;
    }
    this.#streams.stderr.write('\r\x1b[K');
    stream.write(text);
    this.#streams.stderr.write(this.#progress);
  }
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** "3m ago", "2d ago"; "-" for never. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** Key-value lines for one record: `name:    web-1`. */
export function fields(pairs: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 2;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`);
}

/**
 * Output chunks cut into whole lines: a chunk may end mid-line, and its rest comes with the next
 * chunk. `flush` hands over what is left once the output has ended.
 */
export class LineSplitter {
  #partial = '';

  push(data: string): string[] {
    const lines = (this.#partial + data).split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, ''));
  }

  flush(): string | null {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? null : rest;
  }
}

/** A question on the terminal, answered on stdin (a password, a confirmation). */
export async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}
