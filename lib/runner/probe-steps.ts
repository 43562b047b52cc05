/**
 * The userspace half of a cell: the steps a driver's user would take, each
 * recorded, stopping at the first one the kernel refuses. Runs in a probe
 * child process so a signal kills the probe, not the agent. Before each step
 * the probe stores the step's index, and page loops the page they are on, in
 * a progress cell the runner can read after the probe died (see Progress).
 */
import { Device, type DmaBuf, freeAddress, type Mapping, type MapOptions, type PatternMismatch, pageSize } from '../device';
import type { Progress } from '../device/progress';
import {
  emptyObservation,
  type CellSpec,
  type Mismatch,
  PROBE_STEPS,
  type ProbeObservation,
  type ProbeStep,
} from '../experiments/types';
import { DEVICE_DMA_ALLOCATORS } from '../experiments/support';
import { BY_DEVICE_DMA, readDeviceSide } from './device-side';
import { offlineCpu, onlineCpu } from './settle';
import { ChildSignal, deviceUseContext, runUse } from './uses';


import { SEED_DEVICE, SEED_KERNEL, SEED_USER } from './seeds';

export { SEED_DEVICE, SEED_KERNEL, SEED_USER };

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

/**
 * A cell mapped through a dma-buf: the buffer's dma-buf, and the
 * DMA_BUF_IOCTL_SYNC calls made on it. CPU access begins with the first
 * mapping and ends before the unmap, one bracket per cell.
 */
class DmabufAccess {
  begun = 0;
  ended = 0;
  constructor(readonly buf: DmaBuf) {}

  begin(step: Step): void {
    if (this.begun > this.ended) return;
    step('sync', () => this.buf.beginCpuAccess('rw'));
    this.begun++;
  }

  end(step: Step): void {
    if (this.begun <= this.ended) return;
    step('sync', () => this.buf.endCpuAccess('rw'));
    this.ended++;
  }

  /** What the module counted, into `obs`, then the descriptor closed (mappings keep the dma-buf). */
  close(d: Device, obs: ProbeObservation): void {
    if (this.buf.closed) return;
    try {
      const seen = d.dmaBufState();
      obs.dmabuf = { begun: this.begun, ended: this.ended, seenBegin: seen.cpuBegin, seenEnd: seen.cpuEnd };
    } finally {
      this.buf.close();
    }
  }
}

/** STATS, then munmap, drain and close: the common end of every scenario. */
function finish(d: Device, maps: Mapping | Mapping[], obs: ProbeObservation, step: Step, dmabuf: DmabufAccess | null): void {
  dmabuf?.end(step);
  const st = d.stats();
  obs.stats = {
    faults: Number(st.faults),
    mapPagesCalls: Number(st.mapPagesCalls),
    pagesMapped: Number(st.pagesMapped),
    vmaOpens: Number(st.vmaOpens),
    vmaCloses: Number(st.vmaCloses),
  };
  step('munmap', () => {
    for (const m of Array.isArray(maps) ? maps : [maps]) m.unmap();
  });
  // Whatever munmap freed leaves the per-CPU lists for the buddy allocator
  // before close lets the driver free its buffer, so a second free of the
  // same page meets the allocator's checks. The CPU stays offline until
  // after close: bringing it up allocates pages, which could recycle the
  // page in between and hide the double free.
  obs.drainedCpu = step('drain', () => offlineCpu());
  step('close', () => {
    dmabuf?.close(d, obs);
    d.close();
  });
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

function asMismatch(m: PatternMismatch | null): Mismatch | null {
  return m === null ? null : { offset: m.offset, expected: m.expected, found: m.found };
}

/** Bytes the short-length scenario leaves out at the end of the buffer. */
export const SHORT_BY = 100;

const M2 = 2 << 20;
const G1 = 1 << 30;

/**
 * Where a placement scenario maps the whole buffer: a hint at a free
 * address of the alignment it names (null: an mmap of its own).
 */
function placementAlign(scenario: CellSpec['scenario']): number | null {
  return scenario === 'hint-2m' ? M2 : scenario === 'hint-1g' ? G1 : null;
}

/**
 * Runs the cell's scenario; every step recorded, the first refusal ends it.
 * `progress.step` gets the index (in PROBE_STEPS) of the step under way.
 */
export function runScenario(cell: CellSpec, devicePath: string, progress: Progress | null = null): ProbeObservation {
  const obs: ProbeObservation = emptyObservation();
  let current: ProbeStep = 'open';
  const page = progress?.page;
  const step = <T>(name: ProbeStep, fn: () => T): T => {
    current = name;
    if (progress) {
      progress.step[0] = PROBE_STEPS.indexOf(name);
      progress.page[0] = -1;
    }
    const v = fn();
    obs.steps.push(name);
    return v;
  };
  const view = (what: string, m: PatternMismatch | null): void => {
    if (m !== null && obs.view === null) obs.view = { what, mismatch: asMismatch(m) as Mismatch };
  };
  let dev: Device | null = null;
  let dmabuf: DmabufAccess | null = null;
  /**
   * Every mapping the scenario made: one a refusal left mapped is unmapped
   * before the device is closed, so the probe (which lives on for the next
   * cell) keeps no VMA, and with it no session, of this cell.
   */
  const made: Mapping[] = [];
  const keep = (m: Mapping): Mapping => {
    made.push(m, ...m.remnants);
    return m;
  };
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
        ...(cell.reserved !== undefined ? { reserved: cell.reserved } : {}),
        ...(cell.splittable === true ? { splittable: true } : {}),
        hazards: cell.hazard,
      }),
    );
    obs.pfnsConsecutive = consecutive(d);
    if (cell.via === 'dmabuf') dmabuf = new DmabufAccess(step('export', () => d.exportDmaBuf()));
    const mapper = dmabuf?.buf ?? d;
    const verifyUser = (seed: number): void => {
      const v = step('verify', () => d.verify(seed));
      obs.userToKernel =
        v.mismatch === null ? null : { offset: Number(v.mismatch), expected: v.expected, found: v.found };
      deviceSaw(seed, cell.size);
    };
    /**
     * The device's memory, from the host side, must hold what userspace
     * wrote (pci_bar only): the first `length` bytes of the buffer.
     */
    const deviceSaw = (seed: number, length: number): void => {
      if (cell.alloc !== 'pci_bar' || obs.deviceSide !== undefined) return;
      const side = step('device', () => readDeviceSide(length, seed));
      obs.deviceSide = side;
      if (side.checked && side.mismatch !== null) view('device-saw', side.mismatch);
    };
    const mapAll = (opts: Pick<MapOptions, 'private' | 'length' | 'offset' | 'placement'> = {}): Mapping => {
      const m = keep(step('mmap', () => mapper.map({ length: opts.length ?? cell.size, ...opts })));
      dmabuf?.begin(step);
      return m;
    };
    const read = (map: Mapping): void => {
      obs.kernelToUser = asMismatch(step('read', () => map.checkPattern(SEED_KERNEL, page)));
    };
    /** The common start: the kernel fills the buffer, userspace maps it and reads it. */
    const fillMapRead = (opts: { private?: boolean } = {}): Mapping => {
      step('fill', () => d.fill(SEED_KERNEL));
      const map = mapAll(opts);
      read(map);
      return map;
    };

    /**
     * The placement scenarios: the kernel fills the buffer, userspace maps it
     * where the scenario says and reads it; a forked child writes through
     * every mapping and exits (the kernel checks that process's counters
     * as it goes); the kernel and the parent must see the child's data.
     */
    const placed = (): void => {
      step('fill', () => d.fill(SEED_KERNEL));
      const maps: Mapping[] = [];
      const align = placementAlign(cell.scenario);
      if (align !== null) {
        const want = freeAddress(cell.size, align);
        const m = mapAll({ placement: { mode: 'hint', address: want } });
        maps.push(m);
        // Another thread took the range first: the cell did not test its placement.
        if (m.address !== want) throw new Error(`the hint ${want.toString(16)} was not honoured (mapped at ${m.address.toString(16)})`);
      } else if (cell.scenario === 'fixed-over') {
        const first = mapAll();
        const at = Math.min(1, cell.size / pageSize() - 1) * pageSize();
        const over = mapAll({ offset: at, length: pageSize(), placement: { mode: 'fixed', over: first, offset: at } });
        maps.push(...over.remnants.filter((r) => r.offset < at), over, ...over.remnants.filter((r) => r.offset > at));
      } else {
        maps.push(mapAll({ length: cell.size - SHORT_BY }));
      }
      for (const m of maps) obs.kernelToUser ??= asMismatch(step('read', () => m.checkPattern(SEED_KERNEL, page)));
      if (obs.kernelToUser !== null) return finish(d, maps, obs, step, dmabuf);
      for (const m of maps) {
        const child = step('fork', () => m.forkWrite(SEED_USER));
        if (child.signal !== null) {
          obs.signal = child.signal;
          obs.signalStep = 'fork';
          return finish(d, maps, obs, step, dmabuf);
        }
      }
      const v = step('verify', () => d.verify(SEED_USER));
      const end = cell.scenario === 'short-length' ? cell.size - SHORT_BY : null;
      deviceSaw(SEED_USER, end === null ? cell.size : Math.floor(end / 4) * 4);
      if (end === null && v.mismatch !== null) {
        obs.userToKernel = { offset: Number(v.mismatch), expected: v.expected, found: v.found };
      } else if (end !== null && v.mismatch !== BigInt(end)) {
        // The child wrote up to the mapping's end: the first byte it did not write is the first mismatch.
        view('short-end', { offset: v.mismatch === null ? cell.size : Number(v.mismatch), expected: v.expected, found: v.found });
      }
      for (const m of maps) view('placed-child', step('reread', () => m.checkPattern(SEED_USER, page)));
      finish(d, maps, obs, step, dmabuf);
    };

    switch (cell.scenario) {
      case 'hint-2m':
      case 'hint-1g':
      case 'fixed-over':
      case 'short-length':
        placed();
        break;
      case 'write-first': {
        const map = mapAll();
        step('write', () => map.writePattern(SEED_USER, page));
        verifyUser(SEED_USER);
        step('fill', () => d.fill(SEED_KERNEL));
        read(map);
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'free-while-mapped': {
        const map = fillMapRead();
        step('free', () => d.freeWhileMapped());
        // Whatever the pages hold now: the pattern if the mapping kept them
        // alive, poison (page_poison) or zeroes (init_on_free) or someone else's data if not.
        obs.afterFree = asMismatch(step('reread', () => map.checkPattern(SEED_KERNEL, page)));
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'fork': {
        const map = fillMapRead();
        const child = step('fork', () => map.forkWrite(SEED_USER));
        if (child.signal !== null) {
          obs.signal = child.signal;
          obs.signalStep = 'fork';
        } else {
          view('fork-parent', step('reread', () => map.checkPattern(SEED_USER, page)));
          verifyUser(SEED_USER);
        }
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'private-write': {
        const map = fillMapRead({ private: true });
        step('write', () => map.writePattern(SEED_USER, page));
        view('private-copy', step('reread', () => map.checkPattern(SEED_USER, page)));
        // The driver's buffer must still hold what the kernel wrote.
        const v = step('verify', () => d.verify(SEED_KERNEL));
        if (v.mismatch !== null) {
          view('private-leak', { offset: Number(v.mismatch), expected: v.expected, found: v.found });
        }
        // and so must the device: private writes never reach it
        deviceSaw(SEED_KERNEL, cell.size);
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'partial-munmap': {
        const map = fillMapRead();
        const rest = step('unmap-part', () => map.unmapRange({ offset: pageSize(), length: pageSize() }));
        made.push(...rest);
        for (const r of rest) view('after-partial-munmap', step('reread', () => r.checkPattern(SEED_KERNEL, page)));
        finish(d, rest, obs, step, dmabuf);
        break;
      }
      case 'dontneed-retouch': {
        const map = fillMapRead();
        step('advise', () => map.advise('dontneed'));
        view('after-dontneed', step('reread', () => map.checkPattern(SEED_KERNEL, page)));
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'mprotect-write': {
        const map = fillMapRead();
        step('protect', () => map.protect('r'));
        step('write', () => map.writePattern(SEED_USER, page));
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'past-end': {
        step('fill', () => d.fill(SEED_KERNEL));
        const map = mapAll({ length: cell.size + pageSize() });
        step('read', () => map.touch('read', page));
        finish(d, map, obs, step, dmabuf);
        break;
      }
      case 'use': {
        const map = fillMapRead();
        const held: Mapping[] = [map];
        if (obs.kernelToUser === null && cell.use !== undefined) {
          const use = cell.use;
          try {
            const found = step('use', () =>
              runUse(use, deviceUseContext(d, { map, held, view, verify: (seed) => verifyUser(seed) })),
            );
            obs.use = found;
          } catch (err) {
            // The use's own answer; the mappings are still taken down below,
            // so the kernel's teardown is checked like any cell's.
            const code = errnoCode(err);
            if (err instanceof ChildSignal) {
              obs.signal = err.signal;
              obs.signalStep = 'use';
            } else if (code !== null) {
              obs.refused = { step: 'use', code, message: (err as Error).message };
            } else {
              throw err;
            }
          }
        }
        finish(d, held, obs, step, dmabuf);
        break;
      }
      case 'basic': {
        const map = fillMapRead();
        step('write', () => map.writePattern(SEED_USER, page));
        verifyUser(SEED_USER);
        if (DEVICE_DMA_ALLOCATORS.includes(cell.alloc) && obs.userToKernel === null) {
          // The device reads what userspace wrote, then writes a pattern of its own for userspace to read.
          const r = step('device', () => d.deviceDma('to-device', SEED_USER));
          const seen = r.ok ? null : { offset: Number(r.mismatch), expected: r.expected, found: r.found };
          obs.deviceSide = { via: BY_DEVICE_DMA, checked: true, mismatch: seen };
          if (seen !== null) view('device-saw', seen);
          step('device', () => d.deviceDma('from-device', SEED_DEVICE));
          view('device-wrote', step('reread', () => map.checkPattern(SEED_DEVICE, page)));
        }
        finish(d, map, obs, step, dmabuf);
        break;
      }
    }
    dev = null;
  } catch (err) {
    const code = errnoCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code !== null) obs.refused = { step: current, code, message, ...refusalDetails(err) };
    else obs.error = `${current}: ${message}`;
  } finally {
    for (const m of made) {
      try {
        m.unmap();
      } catch {
        /* the step's own error is what matters */
      }
    }
    if (dev !== null) {
      try {
        dmabuf?.close(dev, obs);
      } catch {
        /* the step's own error is what matters */
      }
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
