/**
 * The userspace half of a cell: the steps a driver's user would take, each
 * recorded, stopping at the first one the kernel refuses. Runs in a probe
 * child process so a signal kills the probe, not the agent.
 */
import { Device, checkPattern, writePattern, type Mapping } from '../device';
import { emptyObservation, type CellSpec, type ProbeObservation, type ProbeStep } from '../experiments/types';
import { offlineCpu, onlineCpu } from './settle';

/** Seeds are fixed per direction so a stale pattern from the other is caught. */
export const SEED_KERNEL = 0x6b65726e; // "kern"
export const SEED_USER = 0x75736572; // "user"

function errnoCode(err: unknown): string | null {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; syscall?: unknown };
    if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === 'string') {
      return e.code;
    }
  }
  return null;
}

function refusalDetails(err: unknown): { reason?: string; text?: string } {
  const extra = (err as { mmaplab?: { reason?: unknown; text?: unknown } }).mmaplab;
  const out: { reason?: string; text?: string } = {};
  if (extra && typeof extra.reason === 'string') out.reason = extra.reason;
  if (extra && typeof extra.text === 'string' && extra.text !== '') out.text = extra.text;
  return out;
}

type Step = <T>(name: ProbeStep, fn: () => T) => T;

/** STATS, then munmap, drain and close: the common end of every scenario. */
function finish(d: Device, map: Mapping, obs: ProbeObservation, step: Step): void {
  const st = d.stats();
  obs.stats = {
    faults: Number(st.faults),
    mapPagesCalls: Number(st.mapPagesCalls),
    pagesMapped: Number(st.pagesMapped),
    vmaOpens: Number(st.vmaOpens),
    vmaCloses: Number(st.vmaCloses),
  };
  step('munmap', () => map.unmap());
  // Whatever munmap freed leaves the per-CPU lists for the buddy allocator
  // before close lets the driver free its buffer, so a second free of the
  // same page meets the allocator's checks. The CPU stays offline until
  // after close: bringing it up allocates pages, which could recycle the
  // page in between and hide the double free.
  obs.drainedCpu = step('drain', () => offlineCpu());
  step('close', () => d.close());
}

/** Whether INFO shows the buffer's pfns in one consecutive run (null: unknown). */
function consecutive(d: Device): boolean | null {
  try {
    const pages = d.info({ pages: true }).pages ?? [];
    if (pages.length === 0) return null;
    return pages.every((p, i) => i === 0 || p.pfn === (pages[i - 1] as { pfn: bigint }).pfn + 1n);
  } catch {
    return null;
  }
}

/** Runs the cell's scenario; every step recorded, the first refusal ends it. */
export function runScenario(cell: CellSpec, devicePath: string): ProbeObservation {
  const obs: ProbeObservation = emptyObservation();
  let current: ProbeStep = 'open';
  const step = <T>(name: ProbeStep, fn: () => T): T => {
    current = name;
    const v = fn();
    obs.steps.push(name);
    return v;
  };
  let dev: Device | null = null;
  try {
    dev = step('open', () => Device.open(devicePath));
    const d = dev;
    step('configure', () =>
      d.configure({
        allocator: cell.alloc,
        technique: cell.method,
        size: cell.size,
        cache: cell.cache,
        faultAround: cell.faultAround,
        hazards: cell.hazard,
      }),
    );
    obs.pfnsConsecutive = consecutive(d);
    if (cell.scenario === 'write-first') {
      const map = step('mmap', () => d.map({ length: cell.size, prot: 'rw' }));
      step('write', () => writePattern(map.buffer, SEED_USER));
      const v = step('verify', () => d.verify(SEED_USER));
      obs.userToKernel =
        v.mismatch === null ? null : { offset: Number(v.mismatch), expected: v.expected, found: v.found };
      step('fill', () => d.fill(SEED_KERNEL));
      obs.kernelToUser = step('read', () => checkPattern(map.buffer, SEED_KERNEL));
      finish(d, map, obs, step);
      dev = null;
      return obs;
    }
    step('fill', () => d.fill(SEED_KERNEL));
    const map = step('mmap', () => d.map({ length: cell.size, prot: 'rw' }));
    obs.kernelToUser = step('read', () => checkPattern(map.buffer, SEED_KERNEL));
    if (cell.scenario === 'free-while-mapped') {
      step('free', () => d.freeWhileMapped());
      // Whatever the pages hold now: the pattern if the mapping kept them
      // alive, zeroes (init_on_free) or someone else's data if not.
      obs.afterFree = step('reread', () => checkPattern(map.buffer, SEED_KERNEL));
    } else {
      step('write', () => writePattern(map.buffer, SEED_USER));
      const v = step('verify', () => d.verify(SEED_USER));
      obs.userToKernel =
        v.mismatch === null ? null : { offset: Number(v.mismatch), expected: v.expected, found: v.found };
    }
    finish(d, map, obs, step);
    dev = null;
  } catch (err) {
    const code = errnoCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code !== null) obs.refused = { step: current, code, message, ...refusalDetails(err) };
    else obs.error = `${current}: ${message}`;
  } finally {
    if (dev !== null) {
      try {
        dev.close();
      } catch {
        /* the step's own error is what matters */
      }
    }
    if (obs.drainedCpu !== null) onlineCpu(obs.drainedCpu);
  }
  return obs;
}
