/**
 * A kernel's build configuration: the `.config` its kbuild tree holds (every
 * kernel mmaplab runs has one, since the module is built against that tree).
 * Cells that need an option the kernel was built without are not run there
 * (lib/experiments/applicable).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The text of a .config. */
export type KernelConfig = string;

/** The value a .config gives an option (named without CONFIG_): 'y', 'm', 'n' (unset or absent) or the string. */
export function configValue(config: KernelConfig, opt: string): string {
  const [, v] = new RegExp(`^CONFIG_${opt}=(.*)$`, 'm').exec(config) ?? [];
  if (v === undefined) return 'n';
  return v.startsWith('"') ? (JSON.parse(v) as string) : v;
}

function readConfig(file: string): KernelConfig | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The configuration of the kernel whose kbuild tree is `buildDir`, or null when the tree has none. */
export function kernelConfigOf(buildDir: string): KernelConfig | null {
  return readConfig(path.join(buildDir, '.config'));
}

/** The running kernel's configuration: its kbuild tree's, else /boot's; null when neither is there. */
export function hostKernelConfig(release: string = os.release()): KernelConfig | null {
  return kernelConfigOf(path.join('/lib/modules', release, 'build')) ?? readConfig(path.join('/boot', `config-${release}`));
}

/** Whether an option ("CONFIG_KSM") is built in or a module. */
export function optionEnabled(config: KernelConfig, option: string): boolean {
  const v = configValue(config, option.replace(/^CONFIG_/, ''));
  return v === 'y' || v === 'm';
}
