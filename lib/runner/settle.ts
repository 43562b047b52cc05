/**
 * Making a cell's kernel complaints deterministic and inside its window.
 *
 * Freed low-order pages go to per-CPU lists first, where no free-time check
 * sees them: a page freed there and then freed again as part of a larger
 * block passes every check and silently corrupts the allocator. Taking a CPU
 * offline drains its lists into the buddy allocator, after which a second
 * free of those pages is caught ("Bad page state"). So the probe runs pinned
 * to one hot-pluggable CPU, and cycles that CPU at the points where frees
 * must have been checked.
 */
import * as fs from 'node:fs';
import { native } from '../device/native';

const CPU_DIR = '/sys/devices/system/cpu';

function onlineFile(cpu: number): string {
  return `${CPU_DIR}/cpu${cpu}/online`;
}

/** The CPU the probe is pinned to: the highest one that can go offline. */
export function drainCpu(): number | null {
  let names: string[];
  try {
    names = fs.readdirSync(CPU_DIR);
  } catch {
    return null;
  }
  const cpus = names
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => Number(n.slice(3)))
    .filter((n) => fs.existsSync(onlineFile(n)))
    .sort((a, b) => b - a);
  return cpus[0] ?? null;
}

/**
 * Pin a process to a CPU (re-done per cell: going offline breaks affinity).
 * A system call through the addon: a `taskset` process cost ~35 ms a cell
 * under TCG.
 */
export function pinTo(pid: number, cpu: number | readonly number[]): void {
  native().setAffinity(pid, cpu);
}

/** "0-1,3" (a sysfs CPU list) -> [0, 1, 3]. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

/** The CPUs online now (empty when sysfs does not say). */
export function onlineCpus(): number[] {
  try {
    return parseCpuList(fs.readFileSync(`${CPU_DIR}/online`, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Take the CPU offline, which drains its per-CPU page lists into the buddy
 * allocator. Returns the CPU, or null when none can go offline (one CPU, no
 * hotplug). Bringing it back (onlineCpu) allocates and frees pages itself,
 * so checks that must see the drained state run before that.
 */
export function offlineCpu(cpu: number | null = drainCpu()): number | null {
  if (cpu === null) return null;
  const file = onlineFile(cpu);
  if (fs.readFileSync(file, 'utf8').trim() !== '1') return null;
  fs.writeFileSync(file, '0');
  return cpu;
}

export function onlineCpu(cpu: number): void {
  const file = onlineFile(cpu);
  if (fs.readFileSync(file, 'utf8').trim() !== '1') fs.writeFileSync(file, '1');
}

/** Offline and online again: drains the CPU's lists. */
export function drainPerCpuPages(cpu: number | null = drainCpu()): number | null {
  const done = offlineCpu(cpu);
  if (done !== null) onlineCpu(done);
  return done;
}

/**
 * Runs the calling thread once on every online CPU, then gives it back the
 * CPUs it had. A CPU that ran an exited process and went idle keeps that
 * process's mm as its lazy mm, and the kernel checks the mm (check_mm(),
 * "Bad rss-counter state") only when the last reference goes: when that CPU
 * next switches to a user task. Moving this thread there is such a switch,
 * without the fork and exec of a `taskset` process per CPU.
 */
export function visitEveryCpu(): void {
  const n = native();
  const had = n.getAffinity(0);
  try {
    for (const cpu of onlineCpus()) {
      try {
        n.setAffinity(0, cpu);
      } catch (err) {
        // Gone offline meanwhile: nothing of it to visit.
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      }
    }
  } finally {
    n.setAffinity(0, had);
  }
}
