import { statfs } from 'node:fs/promises';
import os from 'node:os';

/** Figures only: no host name or path, since every signed-in user of every organisation reads them. */
export interface HostInfo {
  cpu: {
    cores: number;
    /** 1, 5 and 15-minute load averages (zeros on Windows). */
    load: [number, number, number];
    /** Busy share of all cores since the previous reading (since boot for the first), in percent. */
    percent: number;
  };
  memory: { total_bytes: number; free_bytes: number; used_percent: number };
  /** The file system of the data directory; null when it cannot be read. */
  disk: { total_bytes: number; free_bytes: number; used_percent: number } | null;
}

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

const percent = (part: number, whole: number): number =>
  whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0;

/**
 * The server host's CPU, memory and disk, as the operating system tells (os, fs.statfs). CPU
 * time counters only grow, so the busy share is measured between two readings.
 */
export class HostProbe {
  readonly #dataDir: string;
  #last: CpuTimes = { busy: 0, total: 0 };

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  async read(): Promise<HostInfo> {
    const times = cpuTimes();
    const cpuPercent = percent(times.busy - this.#last.busy, times.total - this.#last.total);
    this.#last = times;
    const total = os.totalmem();
    const free = os.freemem();
    const [one = 0, five = 0, fifteen = 0] = os.loadavg();
    return {
      cpu: { cores: os.cpus().length, load: [one, five, fifteen], percent: cpuPercent },
      memory: { total_bytes: total, free_bytes: free, used_percent: percent(total - free, total) },
      disk: await this.#disk(),
    };
  }

  async #disk(): Promise<HostInfo['disk']> {
    try {
      const stats = await statfs(this.#dataDir);
      const total = stats.blocks * stats.bsize;
      // bavail: what an unprivileged process (this server) may still write.
      const free = stats.bavail * stats.bsize;
      return { total_bytes: total, free_bytes: free, used_percent: percent(total - free, total) };
    } catch {
      return null;
    }
  }
}
