/**
 * @module CPU time a process has used, from /proc/<pid>/stat (Linux): user + system, in µs. The bench divides the
 * difference over a run by the requests of that run: an approximation of what Workers bills, since it also counts
 * HTTP parsing, the runtime's own threads and (for the gateway) its in-process Durable Objects.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU of `pid` so far, in µs (resolution: one clock tick, usually 10 ms). */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}
