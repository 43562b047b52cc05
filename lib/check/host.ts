/**
 * `mmaplab check --target host`: the check on the machine itself (a lab
 * machine that can insmod), with the guest's own code and no VM between
 * the user's driver and the kernel. A driver under test can corrupt the
 * kernel it runs in, so this takes --allow-hazards, as the matrix's
 * hazard cells do; and a scenario the kernel complains in ends the run:
 * what was not run is reported so, with the advice to reboot.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { runningKernel } from '../runner/lab';
import { ensureUserModule } from '../vm/kmod';
import { parseEvents } from '../vm/events';
import { hostFacts, type HostFacts } from '../runner/host-target';
import { loadUserModule, runCheckScenarios } from './guest';
import { checkSink } from './sink';
import type { CheckOptions, KernelCheck } from './run';
import { checkResultsOf, targetOf } from './run';
import { checkItems, notRunResult } from './types';

/** Throws when the check cannot run on this machine; pure, for tests. */
export function checkHostPreflight(allowHazards: boolean, facts: HostFacts): void {
  if (!allowHazards) {
    throw new MmaplabError(
      'EHAZARD',
      "--target host loads your driver into this machine's kernel, where a bug in it can corrupt the kernel: " +
        'pass --allow-hazards on a machine you can reboot, or check it in QEMU (the default)',
    );
  }
  if (facts.uid !== 0) throw new MmaplabError('ENOTROOT', '--target host loads your module with insmod: run as root');
  if (facts.modulesDisabled) throw new MmaplabError('EMODLOAD', 'this kernel has module loading disabled (kernel.modules_disabled=1)');
}

/** The module for the running kernel: built from --kmod against its headers, or the --ko given. */
function hostModule(o: CheckOptions): { path: string; warnings: string[] } {
  if ('ko' in o.module) {
    const ko = path.resolve(o.module.ko);
    if (!fs.existsSync(ko)) throw new MmaplabError('EUSAGE', `--ko ${o.module.ko}: no such file`);
    return { path: ko, warnings: [] };
  }
  const kernel = runningKernel();
  const built = ensureUserModule(kernel, o.module.kmod);
  return { path: built.path, warnings: built.warnings };
}

export function checkOnHost(o: CheckOptions, allowHazards: boolean): KernelCheck {
  checkHostPreflight(allowHazards, hostFacts());
  const mod = hostModule(o);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-check-host-'));
  const eventsFile = path.join(dir, 'events.jsonl');
  fs.writeFileSync(eventsFile, '');
  const wanted = targetOf(o, mod.path);
  let loadedName: string | null = null;
  let complained = false;
  try {
    const loaded = loadUserModule(mod.path, o.params, wanted);
    loadedName = wanted.moduleName;
    const items = checkItems(o.uses ?? true);
    runCheckScenarios(loaded.target, items, checkSink(eventsFile, { marks: false }));
    const results = checkResultsOf(parseEvents(fs.readFileSync(eventsFile, 'utf8'), eventsFile, 'ECHECK'));
    const done = new Set(results.map((r) => r.scenario));
    const complaint = results.find((r) => r.verdict === 'kernel-complaint');
    complained = complaint !== undefined;
    const why = `not run: ${complaint?.scenario ?? 'an earlier scenario'} made the kernel complain; reboot this machine before checking more`;
    for (const item of items) if (!done.has(item)) results.push(notRunResult(item, why));
    return {
      kernel: os.release(),
      device: loaded.target.device,
      nodes: loaded.nodes,
      modulePath: mod.path,
      buildWarnings: mod.warnings,
      results,
      vms: [],
      notes: [`on this machine (${os.hostname()}), no VM`, ...(loaded.note !== null ? [loaded.note] : [])],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    // a run that stopped early (an error, a hook that threw) leaves the module loaded; one the kernel complained in is left alone
    if (loadedName !== null && !complained && fs.existsSync(`/sys/module/${loadedName}`)) spawnSync('rmmod', [loadedName]);
  }
}
