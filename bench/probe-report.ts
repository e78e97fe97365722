import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StatementTiming } from './node-probe.js';
import { ROOT, fixed, table } from './support.js';

/**
 * Where a node's time went during the run, from the files node-probe.ts wrote: its statements
 * by total time, its CPU profile's self time by package or source file and by function, and
 * where it allocated (the garbage collector's work comes from there).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

export const probeFiles = (dir: string, pid: number) => ({
  profile: path.join(dir, `run-${pid}.cpuprofile`),
  heap: path.join(dir, `run-${pid}.heapprofile`),
  statements: path.join(dir, `statements-${pid}.json`),
});

/** The window's statements by total time: calls, total, mean and slowest. */
export function statementsTable(file: string, top = 15): string {
  if (!existsSync(file)) return `(no statement timings at ${file})`;
  const timings = JSON.parse(readFileSync(file, 'utf8')) as StatementTiming[];
  const all = timings.reduce((sum, t) => sum + t.totalMs, 0);
  const calls = timings.reduce((sum, t) => sum + t.count, 0);
  return [
    `${calls} statements, ${fixed(all, 0)} ms in all`,
    table(
      ['total ms', 'calls', 'mean ms', 'max ms', 'statement'],
      timings
        .slice(0, top)
        .map((t) => [
          fixed(t.totalMs, 0),
          t.count,
          fixed(t.totalMs / t.count, 3),
          fixed(t.maxMs, 1),
          t.sql.length > 110 ? `${t.sql.slice(0, 107)}...` : t.sql,
        ]),
    ),
  ].join('\n');
}

/** A source location relative to the repository, a package name, or V8's own label ("(garbage collector)"). */
function placeOf(frame: ProfileNode['callFrame']): { file: string; where: string } {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return { file: frame.functionName, where: frame.functionName };
  const local = url.startsWith(ROOT) ? url.slice(ROOT.length + 1) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local)?.[1];
  const file = pkg ?? local;
  return { file, where: `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}` };
}

/** Self time by package or file and by function, busy time against idle. */
export function profileSummary(file: string, top = 15): string {
  if (!existsSync(file)) return `(no CPU profile at ${file})`;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      return;
    }
    busyUs += us;
    const place = placeOf(frame);
    byFile.set(place.file, (byFile.get(place.file) ?? 0) + us);
    byFunction.set(place.where, (byFunction.get(place.where) ?? 0) + us);
  });
  const ranked = (totals: Map<string, number>) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => [fixed(us / 1000, 0), fixed((100 * us) / busyUs, 1), name]);
  return [
    `CPU busy ${fixed(busyUs / 1000, 0)} ms, idle ${fixed(idleUs / 1000, 0)} ms`,
    table(['self ms', '%', 'package or file'], ranked(byFile)),
    '',
    table(['self ms', '%', 'function'], ranked(byFunction)),
  ].join('\n');
}

/** Bytes allocated (sampled), by function: what kept the garbage collector busy. */
export function allocationSummary(file: string, top = 12): string {
  if (!existsSync(file)) return `(no heap profile at ${file})`;
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const byFunction = new Map<string, number>();
  let total = 0;
  const visit = (node: HeapNode) => {
    if (node.selfSize > 0) {
      const { where } = placeOf(node.callFrame);
      byFunction.set(where, (byFunction.get(where) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) visit(child);
  };
  visit(head);
  const mb = (bytes: number) => fixed(bytes / 1024 / 1024, 1);
  return [
    `${mb(total)} MB allocated (sampled)`,
    table(
      ['MB', '%', 'function'],
      [...byFunction]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, bytes]) => [mb(bytes), fixed((100 * bytes) / total, 1), name]),
    ),
  ].join('\n');
}
