/**
 * The C reference of the addon-overhead benchmark (native/bench-cycle.c),
 * compiled on the host into the cache directory. The guest runs the host's
 * root read-only, so the host compiles it before the VM boots and the guest
 * runs it from the same path.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, REPO_ROOT } from '../paths';
import { MmaplabError } from '../util/errors';

/** The guest suites' environment variable holding the compiled program's path (set by the host). */
export const BENCH_CYCLE_ENV = 'MMAPLAB_BENCH_CYCLE';

export const CYCLE_PROGRAM_SOURCE = path.join(REPO_ROOT, 'native', 'bench-cycle.c');
/** Where <linux/mmaplab.h> is: the project's uapi header, never a system copy. */
const UAPI_INCLUDE = path.join(REPO_ROOT, 'kmod', 'include', 'uapi');
const UAPI_HEADER = path.join(UAPI_INCLUDE, 'linux', 'mmaplab.h');
const CFLAGS = ['-O2', '-Wall', '-Wextra'];

export interface CycleProgramOptions {
  /** The C source; default native/bench-cycle.c. */
  source?: string;
  /** The compiler; default `cc`. */
  cc?: string;
  /** Directory of the binaries; default <cacheDir()>/bench. */
  outDir?: string;
}

/**
 * The path of the compiled cycle program, compiling it first unless a
 * binary of this very source, header, compiler and flags is in the cache
 * (its name carries their hash). Throws MmaplabError 'ECOMPILE' with the
 * compiler's output when the build fails, or when the compiler cannot run.
 */
export function buildCycleProgram(options: CycleProgramOptions = {}): string {
  const source = options.source ?? CYCLE_PROGRAM_SOURCE;
  const cc = options.cc ?? 'cc';
  const outDir = options.outDir ?? path.join(cacheDir(), 'bench');
  const out = path.join(outDir, `bench-cycle-${contentHash(source, cc)}`);
  if (fs.existsSync(out)) return out;

  fs.mkdirSync(outDir, { recursive: true });
  // Compiled beside its final name and renamed into place, so a concurrent
  // build (a second mmaplab on the same checkout) never sees half a binary.
  const tmp = `${out}.tmp-${process.pid}`;
  const r = spawnSync(cc, [...CFLAGS, '-I', UAPI_INCLUDE, '-o', tmp, source], { encoding: 'utf8' });
  if (r.error) {
    throw new MmaplabError('ECOMPILE', `cannot run ${cc} to build ${source}: ${r.error.message} (apt-get install build-essential)`, {
      source,
    });
  }
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new MmaplabError('ECOMPILE', `${cc} ${CFLAGS.join(' ')} ${source} failed:\n${output}`, { source, output });
  }
  fs.renameSync(tmp, out);
  return out;
}

function contentHash(source: string, cc: string): string {
  let text: Buffer;
  try {
    text = fs.readFileSync(source);
  } catch (err) {
    throw new MmaplabError('ECOMPILE', `cannot read ${source}: ${(err as Error).message}`, { source });
  }
  const h = crypto.createHash('sha256').update(text).update('\0').update(fs.readFileSync(UAPI_HEADER));
  h.update('\0').update(cc).update('\0').update(CFLAGS.join(' '));
  return h.digest('hex').slice(0, 16);
}
