/**
 * The userspace half of a cell: the steps a driver's user would take, each
 * recorded, stopping at the first one the kernel refuses. Runs in a probe
 * child process so a signal kills the probe, not the agent. Before each step
 * the probe stores the step's index, and page loops the page they are on, in
 * a progress cell the runner can read after the probe died (see Progress).
 */
import { Device, type DmaBuf, freeAddress, type Mapping, type MapOptions, type PatternMismatch, pageSize } from '../device';
import type { Progress } from '../device/progress';
import { emptyObservation, type CellSpec, type Mismatch, PROBE_STEPS, type ProbeObservation, type ProbeStep } from '../experiments/types';
import { DEVICE_DMA_ALLOCS } from '../experiments/support';
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
    return pages.every((p, i) => {
      const before = pages[i - 1];
      return before === undefined || p.pfn === before.pfn + 1n;
    });
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
 * The record of one run: the observation, and the step under way (written
 * to the progress cell as it starts, added to obs.steps once it is done).
 */
class StepRecorder {
  readonly obs: ProbeObservation = emptyObservation();
  current: ProbeStep = 'open';
  readonly page: Int32Array | undefined;

  constructor(private readonly progress: Progress | null) {
    this.page = progress?.page;
  }

  readonly step: Step = <T>(name: ProbeStep, fn: () => T): T => {
    this.current = name;
    if (this.progress) {
      this.progress.step[0] = PROBE_STEPS.indexOf(name);
      this.progress.page[0] = -1;
    }
    const v = fn();
    this.obs.steps.push(name);
    return v;
  };

  /** A scenario's own data check: the first mismatch seen is the one kept. */
  readonly view = (what: string, m: PatternMismatch | null): void => {
    if (m !== null && this.obs.view === null) this.obs.view = { what, mismatch: asMismatch(m) as Mismatch };
  };
}

/**
 * What the steps of a configured device share: the cell, the device, what
 * userspace maps (the device or its dma-buf), and every mapping made, so
 * that one a refusal left mapped is unmapped before the device is closed
 * (the probe lives on for the next cell and keeps no VMA, and with it no
 * session, of this cell).
 */
class CellProbe {
  readonly obs: ProbeObservation;
  readonly step: Step;
  readonly view: StepRecorder['view'];
  readonly page: Int32Array | undefined;
  readonly mapper: Device | DmaBuf;

  constructor(
    rec: StepRecorder,
    readonly cell: CellSpec,
    readonly d: Device,
    readonly dmabuf: DmabufAccess | null,
    readonly made: Mapping[],
  ) {
    this.obs = rec.obs;
    this.step = rec.step;
    this.view = rec.view;
    this.page = rec.page;
    this.mapper = dmabuf?.buf ?? d;
  }

  keep(m: Mapping): Mapping {
    this.made.push(m, ...m.remnants);
    return m;
  }

  verifyUser(seed: number): void {
    const v = this.step('verify', () => this.d.verify(seed));
    this.obs.userToKernel = v.mismatch === null ? null : { offset: Number(v.mismatch), expected: v.expected, found: v.found };
    this.deviceSaw(seed, this.cell.size);
  }

  /**
   * The device's memory, from the host side, must hold what userspace
   * wrote (pci_bar only): the first `length` bytes of the buffer.
   */
  deviceSaw(seed: number, length: number): void {
    if (this.cell.alloc !== 'pci_bar' || this.obs.deviceSide !== undefined) return;
    const side = this.step('device', () => readDeviceSide(length, seed));
    this.obs.deviceSide = side;
    if (side.checked && side.mismatch !== null) this.view('device-saw', side.mismatch);
  }

  mapAll(opts: Pick<MapOptions, 'private' | 'length' | 'offset' | 'placement'> = {}): Mapping {
    const m = this.keep(this.step('mmap', () => this.mapper.map({ length: opts.length ?? this.cell.size, ...opts })));
    this.dmabuf?.begin(this.step);
    return m;
  }

  read(map: Mapping): void {
    this.obs.kernelToUser = asMismatch(this.step('read', () => map.checkPattern(SEED_KERNEL, this.page)));
  }

  /** The common start: the kernel fills the buffer, userspace maps it and reads it. */
  fillMapRead(opts: { private?: boolean } = {}): Mapping {
    this.step('fill', () => this.d.fill(SEED_KERNEL));
    const map = this.mapAll(opts);
    this.read(map);
    return map;
  }

  /** Reads the pattern `seed` back through a mapping, with the page under way in the progress cell. */
  reread(map: Mapping, seed: number): PatternMismatch | null {
    return this.step('reread', () => map.checkPattern(seed, this.page));
  }

  /** A forked child's death by a signal, as the observation's. */
  childKilled(signal: string): void {
    this.obs.signal = signal;
    this.obs.signalStep = 'fork';
  }

  finish(maps: Mapping | Mapping[]): void {
    finish(this.d, maps, this.obs, this.step, this.dmabuf);
  }
}

/** Where a placement scenario maps the buffer: one mapping, or the pieces around one mapped over. */
function mapPlaced(p: CellProbe): Mapping[] {
  const { cell } = p;
  const maps: Mapping[] = [];
  const align = placementAlign(cell.scenario);
  if (align !== null) {
    const want = freeAddress(cell.size, align);
    const m = p.mapAll({ placement: { mode: 'hint', address: want } });
    maps.push(m);
    // Another thread took the range first: the cell did not test its placement.
    if (m.address !== want) throw new Error(`the hint ${want.toString(16)} was not honoured (mapped at ${m.address.toString(16)})`);
  } else if (cell.scenario === 'fixed-over') {
    const first = p.mapAll();
    const at = Math.min(1, cell.size / pageSize() - 1) * pageSize();
    const over = p.mapAll({ offset: at, length: pageSize(), placement: { mode: 'fixed', over: first, offset: at } });
    maps.push(...over.remnants.filter((r) => r.offset < at), over, ...over.remnants.filter((r) => r.offset > at));
  } else {
    maps.push(p.mapAll({ length: cell.size - SHORT_BY }));
  }
  return maps;
}

/**
 * After a placed mapping's child wrote: the kernel must see its data, up
 * to the mapping's end for short-length.
 */
function verifyPlacedWrite(p: CellProbe): void {
  const { cell, obs } = p;
  const v = p.step('verify', () => p.d.verify(SEED_USER));
  const end = cell.scenario === 'short-length' ? cell.size - SHORT_BY : null;
  p.deviceSaw(SEED_USER, end === null ? cell.size : Math.floor(end / 4) * 4);
  if (end === null && v.mismatch !== null) {
    obs.userToKernel = { offset: Number(v.mismatch), expected: v.expected, found: v.found };
  } else if (end !== null && v.mismatch !== BigInt(end)) {
    // The child wrote up to the mapping's end: the first byte it did not write is the first mismatch.
    p.view('short-end', { offset: v.mismatch === null ? cell.size : Number(v.mismatch), expected: v.expected, found: v.found });
  }
}

/**
 * The placement scenarios: the kernel fills the buffer, userspace maps it
 * where the scenario says and reads it; a forked child writes through
 * every mapping and exits (the kernel checks that process's counters
 * as it goes); the kernel and the parent must see the child's data.
 */
function placed(p: CellProbe): void {
  const { obs } = p;
  p.step('fill', () => p.d.fill(SEED_KERNEL));
  const maps = mapPlaced(p);
  for (const m of maps) obs.kernelToUser ??= asMismatch(p.step('read', () => m.checkPattern(SEED_KERNEL, p.page)));
  if (obs.kernelToUser !== null) return p.finish(maps);
  for (const m of maps) {
    const child = p.step('fork', () => m.forkWrite(SEED_USER));
    if (child.signal !== null) {
      p.childKilled(child.signal);
      return p.finish(maps);
    }
  }
  verifyPlacedWrite(p);
  for (const m of maps) p.view('placed-child', p.reread(m, SEED_USER));
  p.finish(maps);
}

/** write-first: userspace writes before the kernel fills, then reads the fill. */
function writeFirst(p: CellProbe): void {
  const map = p.mapAll();
  p.step('write', () => map.writePattern(SEED_USER, p.page));
  p.verifyUser(SEED_USER);
  p.step('fill', () => p.d.fill(SEED_KERNEL));
  p.read(map);
  p.finish(map);
}

function freeWhileMapped(p: CellProbe): void {
  const map = p.fillMapRead();
  p.step('free', () => p.d.freeWhileMapped());
  // Whatever the pages hold now: the pattern if the mapping kept them
  // alive, poison (page_poison) or zeroes (init_on_free) or someone else's data if not.
  p.obs.afterFree = asMismatch(p.reread(map, SEED_KERNEL));
  p.finish(map);
}

/** fork: a child writes through the inherited mapping; parent and kernel must see it. */
function forkWrites(p: CellProbe): void {
  const map = p.fillMapRead();
  const child = p.step('fork', () => map.forkWrite(SEED_USER));
  if (child.signal !== null) {
    p.childKilled(child.signal);
  } else {
    p.view('fork-parent', p.reread(map, SEED_USER));
    p.verifyUser(SEED_USER);
  }
  p.finish(map);
}

/** private-write: a MAP_PRIVATE mapping written: the copy changes, the buffer and device do not. */
function privateWrite(p: CellProbe): void {
  const map = p.fillMapRead({ private: true });
  p.step('write', () => map.writePattern(SEED_USER, p.page));
  p.view('private-copy', p.reread(map, SEED_USER));
  // The driver's buffer must still hold what the kernel wrote.
  const v = p.step('verify', () => p.d.verify(SEED_KERNEL));
  if (v.mismatch !== null) {
    p.view('private-leak', { offset: Number(v.mismatch), expected: v.expected, found: v.found });
  }
  // and so must the device: private writes never reach it
  p.deviceSaw(SEED_KERNEL, p.cell.size);
  p.finish(map);
}

/** partial-munmap: the second page unmapped, what is left read again. */
function partialMunmap(p: CellProbe): void {
  const map = p.fillMapRead();
  const rest = p.step('unmap-part', () => map.unmapRange({ offset: pageSize(), length: pageSize() }));
  p.made.push(...rest);
  for (const r of rest) p.view('after-partial-munmap', p.reread(r, SEED_KERNEL));
  p.finish(rest);
}

function dontneedRetouch(p: CellProbe): void {
  const map = p.fillMapRead();
  p.step('advise', () => map.advise('dontneed'));
  p.view('after-dontneed', p.reread(map, SEED_KERNEL));
  p.finish(map);
}

function mprotectWrite(p: CellProbe): void {
  const map = p.fillMapRead();
  p.step('protect', () => map.protect('r'));
  p.step('write', () => map.writePattern(SEED_USER, p.page));
  p.finish(map);
}

/** past-end: mapped one page longer than the buffer, every page read. */
function pastEnd(p: CellProbe): void {
  p.step('fill', () => p.d.fill(SEED_KERNEL));
  const map = p.mapAll({ length: p.cell.size + pageSize() });
  p.step('read', () => map.touch('read', p.page));
  p.finish(map);
}

/**
 * The use's own answer: a signal or a refusal is the use's finding (the
 * mappings are still taken down after, so the kernel's teardown is checked
 * like any cell's); anything else is the probe's error.
 */
function runCellUse(p: CellProbe, map: Mapping, held: Mapping[]): void {
  const { obs } = p;
  const use = p.cell.use;
  if (obs.kernelToUser !== null || use === undefined) return;
  try {
    const found = p.step('use', () =>
      runUse(use, deviceUseContext(p.d, { map, held, view: p.view, verify: (seed) => p.verifyUser(seed) })),
    );
    obs.use = found;
  } catch (err) {
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

/** use: what a program does with the mapping, on the mappings it holds. */
function useScenario(p: CellProbe): void {
  const map = p.fillMapRead();
  const held: Mapping[] = [map];
  runCellUse(p, map, held);
  p.finish(held);
}

/** The device reads what userspace wrote, then writes a pattern of its own for userspace to read. */
function deviceRoundTrip(p: CellProbe, map: Mapping): void {
  const r = p.step('device', () => p.d.deviceDma('to-device', SEED_USER));
  const seen = r.ok ? null : { offset: Number(r.mismatch), expected: r.expected, found: r.found };
  p.obs.deviceSide = { via: BY_DEVICE_DMA, checked: true, mismatch: seen };
  if (seen !== null) p.view('device-saw', seen);
  p.step('device', () => p.d.deviceDma('from-device', SEED_DEVICE));
  p.view('device-wrote', p.reread(map, SEED_DEVICE));
}

/** basic: data both ways through the mapping (and through the device, for DMA-capable allocators). */
function basic(p: CellProbe): void {
  const map = p.fillMapRead();
  p.step('write', () => map.writePattern(SEED_USER, p.page));
  p.verifyUser(SEED_USER);
  if (DEVICE_DMA_ALLOCS.includes(p.cell.alloc) && p.obs.userToKernel === null) deviceRoundTrip(p, map);
  p.finish(map);
}

/** The steps of the cell's scenario after configure; each ends with finish(). */
function runScenarioSteps(p: CellProbe): void {
  switch (p.cell.scenario) {
    case 'hint-2m':
    case 'hint-1g':
    case 'fixed-over':
    case 'short-length':
      placed(p);
      break;
    case 'write-first':
      writeFirst(p);
      break;
    case 'free-while-mapped':
      freeWhileMapped(p);
      break;
    case 'fork':
      forkWrites(p);
      break;
    case 'private-write':
      privateWrite(p);
      break;
    case 'partial-munmap':
      partialMunmap(p);
      break;
    case 'dontneed-retouch':
      dontneedRetouch(p);
      break;
    case 'mprotect-write':
      mprotectWrite(p);
      break;
    case 'past-end':
      pastEnd(p);
      break;
    case 'use':
      useScenario(p);
      break;
    case 'basic':
      basic(p);
      break;
  }
}

/** CONFIGURE with the cell's settings, then whether INFO shows its pfns consecutive. */
function configure(rec: StepRecorder, d: Device, cell: CellSpec): void {
  rec.step('configure', () =>
    d.configure({
      alloc: cell.alloc,
      method: cell.method,
      size: cell.size,
      cache: cell.cache,
      faultAround: cell.faultAround,
      ...(cell.reserved !== undefined ? { reserved: cell.reserved } : {}),
      ...(cell.splittable === true ? { splittable: true } : {}),
      hazards: cell.hazard,
    }),
  );
  rec.obs.pfnsConsecutive = consecutive(d);
}

/** A step's failure: a kernel refusal (an errno) or the probe's own error, named by the step. */
function recordFailure(rec: StepRecorder, err: unknown): void {
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== null) rec.obs.refused = { step: rec.current, code, message, ...refusalDetails(err) };
  else rec.obs.error = `${rec.current}: ${message}`;
}

/**
 * After a scenario, whatever it left: every mapping unmapped, the dma-buf
 * and the device closed if a failure left them open (`dev` null when the
 * scenario closed it), the drained CPU back online.
 */
function takeDown(made: readonly Mapping[], dev: Device | null, dmabuf: DmabufAccess | null, obs: ProbeObservation): void {
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

/**
 * Runs the cell's scenario; every step recorded, the first refusal ends it.
 * `progress.step` gets the index (in PROBE_STEPS) of the step under way.
 */
export function runScenario(cell: CellSpec, devicePath: string, progress: Progress | null = null): ProbeObservation {
  const rec = new StepRecorder(progress);
  const made: Mapping[] = [];
  let dev: Device | null = null;
  let dmabuf: DmabufAccess | null = null;
  try {
    dev = rec.step('open', () => Device.open(devicePath));
    const d = dev;
    configure(rec, d, cell);
    if (cell.via === 'dmabuf') dmabuf = new DmabufAccess(rec.step('export', () => d.exportDmaBuf()));
    runScenarioSteps(new CellProbe(rec, cell, d, dmabuf, made));
    dev = null;
  } catch (err) {
    recordFailure(rec, err);
  } finally {
    takeDown(made, dev, dmabuf, rec.obs);
  }
  return rec.obs;
}
