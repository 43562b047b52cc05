/**
 * A kernel's build configuration: the `.config` its kbuild tree holds (every
 * kernel mmaplab runs has one, since the module is built against that tree).
 * Cells that need an option the kernel was built without are not run there
 * (lib/experiments/applicable).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Option name ("CONFIG_TRANSPARENT_HUGEPAGE") to its value ("y", "m", "0x1000000"...). */
export type KernelConfig = ReadonlyMap<string, string>;

/** The set options of a .config; "# CONFIG_X is not set" and other comments are not options. */
export function parseKernelConfig(text: string): KernelConfig {
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) options.set(m[1] as string, m[2] as string);
  }
  return options;
}

function readConfig(file: string): KernelConfig | null {
  try {
    return parseKernelConfig(fs.readFileSync(file, 'utf8'));
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

/** Whether an option is built in or a module. */
export function optionEnabled(config: KernelConfig, option: string): boolean {
  const v = config.get(option);
  return v === 'y' || v === 'm';
}
