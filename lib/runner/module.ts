/** Loading and unloading mmaplab.ko in the (guest or lab) kernel. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { MmaplabError } from '../util/errors';
import { sleepSync } from '../util/sleep';
import { insmodAdvice } from './lab';

export const MODULE_NAME = 'mmaplab';

export function isLoaded(): boolean {
  return fs.existsSync(`/sys/module/${MODULE_NAME}`);
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new MmaplabError('EMODLOAD', `cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const said = (r.stderr || r.stdout).trim();
    const advice = cmd === 'insmod' ? insmodAdvice(said, args[0] ?? '') : null;
    throw new MmaplabError('EMODLOAD', `${cmd} ${args.join(' ')} failed: ${said}${advice !== null ? `\n${advice}` : ''}`);
  }
}

export function unloadModule(): void {
  if (isLoaded()) run('rmmod', [MODULE_NAME]);
}

/** (Re)load the module with exactly these parameters. */
export function loadModule(koPath: string, params: Record<string, string> = {}): void {
  unloadModule();
  run('insmod', [koPath, ...Object.entries(params).map(([k, v]) => `${k}=${v}`)]);
  // devtmpfs creates the node as the misc device registers; wait briefly for it.
  for (let i = 0; i < 100 && !fs.existsSync(`/dev/${MODULE_NAME}`); i++) {
    sleepSync(10);
  }
  if (!fs.existsSync(`/dev/${MODULE_NAME}`)) {
    throw new MmaplabError('EMODLOAD', `/dev/${MODULE_NAME} did not appear after insmod`);
  }
}

export function moduleParam(name: string): string | null {
  try {
    return fs.readFileSync(`/sys/module/${MODULE_NAME}/parameters/${name}`, 'utf8').trim();
  } catch {
    return null;
  }
}
