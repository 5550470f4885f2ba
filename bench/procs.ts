/**
 * Child processes of the benchmark and what we read about them from /proc. Every child is
 * registered here and killed when the runner ends for any reason (normal end, failure, Ctrl-C),
 * by its own pid, never by name.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const children = new Set<ChildProcess>();

/** Kills every child still alive: SIGTERM, then SIGKILL after graceMs. */
export async function killAll(graceMs = 3000): Promise<void> {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(50);
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Last resort: whatever is still running when this process exits is killed synchronously.
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children…\n`);
      void killAll(1000).finally(() => process.exit(130));
    });
  }
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  name: string;
  /** Everything the child wrote (bounded), for error messages. */
  output(): string;
  /** Resolves with the first line of output matching re. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  hookExit();
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (!proc.pid) throw new Error(`${name}: could not start ${cmd}`);
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = out.match(waiters[i]!.re);
      if (m) waiters.splice(i, 1)[0]!.resolve(m);
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  return {
    proc,
    pid: proc.pid,
    name,
    output: () => out,
    waitForLine(re, timeoutMs) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: not ready within ${timeoutMs} ms; output:\n${out.slice(-2000)}`)), timeoutMs);
        const onExit = () => reject(new Error(`${name} exited early (code ${proc.exitCode}); output:\n${out.slice(-2000)}`));
        proc.once('exit', onExit);
        waiters.push({
          re,
          resolve: (mm) => {
            clearTimeout(timer);
            proc.off('exit', onExit);
            resolve(mm);
          },
        });
      });
    },
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound and released; the race is acceptable for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls url until it answers (any status below 500). */
export async function waitHttp(url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      throw new Error(`${child.name} exited (code ${child.proc.exitCode}); output:\n${child.output().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms${child ? `; output:\n${child.output().slice(-2000)}` : ''}`);
    await sleep(100);
  }
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** User + system CPU time of a process so far, in ms (Linux /proc). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime 14, stime 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

/** Resident set size of a process, in KiB. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time the whole machine spent busy (all cores, everything but idle and iowait), in ms. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
  return (busy * 1000) / ticksPerSecond();
}

/** CPU time of processes and their reaped children (utime+stime+cutime+cstime), in ms; 0 for a gone one. */
export function treeCpuMs(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const x = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += ((Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14])) * 1000) / ticksPerSecond();
    } catch {
      // exited
    }
  }
  return sum;
}
