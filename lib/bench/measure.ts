/**
 * The guest side of `mmaplab bench`: runs inside the VM as root with the
 * module loaded (allow_hazards=0), measures every map-cost configuration
 * (lib/bench/configs.ts) and the addon overhead, and returns them as one
 * GuestBench for the 'bench-result' event.
 */
import * as os from 'node:os';
import { pageSize } from '../device';
import { MmaplabError } from '../util/errors';
import { measureAddonOverhead } from './addon-overhead';
import { configLabel, mapCostConfigs, type MapCostConfig } from './configs';
import { measureMapCost } from './map-cost';
import type { GuestBench, GuestBenchOptions, MapCostRow } from './types';

/** Throws MmaplabError 'EUSAGE' unless the options can be measured. */
export function checkGuestBenchOptions(opts: GuestBenchOptions): void {
  const bad = (why: string): never => {
    throw new MmaplabError('EUSAGE', `bench options: ${why}`, { options: opts });
  };
  if (!Array.isArray(opts.sizes) || opts.sizes.length === 0) bad('sizes must be a non-empty list');
  for (const size of opts.sizes) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % pageSize() !== 0) {
      bad(`size ${String(size)} is not a positive multiple of the page size (${pageSize()})`);
    }
  }
  if (!Number.isSafeInteger(opts.reps) || opts.reps < 1) bad(`reps must be an integer >= 1, not ${String(opts.reps)}`);
  if (typeof opts.cacheModes !== 'boolean') bad('cacheModes must be a boolean');
  if (opts.cProgram !== null && (typeof opts.cProgram !== 'string' || opts.cProgram === '')) {
    bad('cProgram must be a path or null');
  }
}

/**
 * The first calls through any code path are slow under emulation (TCG
 * translates each block of guest code once) and in V8 (not yet compiled):
 * a few unrecorded repetitions of a baseline and a device configuration
 * keep that cost out of whichever row happens to be measured first.
 */
const WARM_UP: readonly MapCostConfig[] = [
  { alloc: null, method: 'anon', size: 64 * 1024, cache: 'wb', faultAround: false },
  { alloc: 'vmalloc_user', method: 'remap_vmalloc_range', size: 64 * 1024, cache: 'wb', faultAround: false },
];
const WARM_UP_REPS = 3;

/**
 * Measures everything `opts` asks for on the running kernel. `progress`
 * hears one line per configuration measured (for the console).
 */
export async function measureGuestBench(opts: GuestBenchOptions, progress?: (line: string) => void): Promise<GuestBench> {
  checkGuestBenchOptions(opts);
  for (const config of WARM_UP) measureMapCost(config, WARM_UP_REPS);
  const mapCost: MapCostRow[] = [];
  for (const config of mapCostConfigs(opts.sizes, opts.cacheModes)) {
    const row = measureMapCost(config, opts.reps);
    mapCost.push(row);
    progress?.(`${configLabel(config)}: ${row.refused ?? 'measured'}`);
  }
  const addonOverhead = opts.cProgram === null ? [] : await measureAddonOverhead(opts.sizes, opts.reps, opts.cProgram);
  progress?.(`addon overhead: ${addonOverhead.length} sizes`);
  return { kernel: os.release(), mapCost, addonOverhead };
}
