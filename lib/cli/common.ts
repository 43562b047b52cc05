/** Small things several commands share: stderr messages, modules, the run's environment. */
import * as path from 'node:path';
import { runsDir } from '../paths';
import type { Kernel } from '../vm/kernels';
import { ensureModule } from '../vm/kmod';
import { qemuVersionLine } from '../vm/qemu';

export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** mmaplab.ko for each kernel, built when missing or stale. */
export function buildModules(kernels: readonly Kernel[], say: (m: string) => void = log): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of kernels) {
    const m = ensureModule(k);
    if (!m.cached) {
      say(`built mmaplab.ko for ${k.release}${m.warnings.length ? ` with ${m.warnings.length} warning(s):` : ''}`);
      for (const w of m.warnings) say(`  ${w}`);
    }
    out.set(k.release, m.path);
  }
  return out;
}

/** First line of `qemu-system-x86_64 --version`, or null. */
export function qemuVersion(): string | null {
  const line = qemuVersionLine();
  return line === 'unknown' || line === '' ? null : line;
}

/** runs/<what>-<time>: where a command's reports go by default. */
export function defaultOutDir(what: string, now: Date = new Date()): string {
  return path.join(runsDir(), `${what}-${now.toISOString().replace(/[:.]/g, '-')}`);
}
