/**
 * The style checks of the C sources, for the unit tests: the kernel's
 * checkpatch.pl --strict over kmod/, clang-format over native/ (its layout
 * is native/.clang-format). checkpatch.pl comes from Debian's
 * linux-source-6.12 package, a tarball under /usr/src: the few files it
 * reads are extracted once into the cache, keyed by the tarball, so only
 * the first run pays for decompressing it. A missing tool or source is an
 * error that names the setup step, never a check left out.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, cacheDir } from '../lib/paths';
import { MmaplabError } from '../lib/util/errors';
import { filesUnder } from './unit/repo-files';
import { at } from '../lib/util/at';

/** What installs the tools these checks run. */
export const SETUP_TEST = 'sh scripts/setup-host.sh test';

/** Debian's source of the newer target kernel, whose checkpatch.pl is the one used. */
export const KERNEL_SOURCE_TARBALL = '/usr/src/linux-source-6.12.tar.xz';

/** What checkpatch.pl reads besides itself (the typos, the structs that should be const, the --verbose texts). */
export const CHECKPATCH_FILES = [
  'scripts/checkpatch.pl',
  'scripts/spelling.txt',
  'scripts/const_structs.checkpatch',
  'Documentation/dev-tools/checkpatch.rst',
] as const;

/**
 * The checks left out, per file, each with its reason; every other file
 * gets all of them, so a version test outside the compat header is caught.
 */
export const CHECKPATCH_IGNORES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'kmod/mmaplab_compat.h': {
    LINUX_VERSION_CODE: 'an out-of-tree module builds for several kernels; this header is where their differences go',
    CONSTANT_COMPARISON: 'takes LINUX_VERSION_CODE on the left of KERNEL_VERSION() for a constant there',
  },
  'kmod/mmaplab_support.h': {
    MACRO_ARG_REUSE: 'PAGE_BACKED() fills rows of a const table: its arguments are constants, without side effects',
  },
};

/** Where the extracted files of `tarball` live: one folder per tarball (name, size, modification time). */
export function checkpatchDir(tarball: string, stat: fs.Stats): string {
  const key = crypto
    .createHash('sha256')
    .update(`${path.resolve(tarball)}\0${stat.size}\0${stat.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  return path.join(cacheDir(), 'checkpatch', `${path.basename(tarball, '.tar.xz')}-${key}`);
}

/**
 * checkpatch.pl from `tarball`, extracted on the first call (tar and xz:
 * about a minute) into a temporary folder that is then renamed into place,
 * so a folder that exists is complete. Entries of other tarballs go.
 */
export function checkpatchScript(tarball: string = KERNEL_SOURCE_TARBALL): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(tarball);
  } catch {
    throw new MmaplabError(
      'ENOSOURCE',
      `checkpatch.pl comes from Debian's kernel source, which is not installed (no ${tarball}): run ${SETUP_TEST} as root`,
    );
  }
  const dir = checkpatchDir(tarball, stat);
  const script = path.join(dir, CHECKPATCH_FILES[0]);
  if (fs.existsSync(script)) return script;

  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const top = path.basename(tarball, '.tar.xz');
  const members = CHECKPATCH_FILES.map((f) => `${top}/${f}`);
  const r = spawnSync('tar', ['-xJf', tarball, '-C', tmp, '--strip-components=1', '--occurrence', ...members], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const why = r.error ? r.error.message : `tar exited ${r.status ?? r.signal}: ${r.stderr.trim()}`;
    throw new MmaplabError('ENOTOOL', `cannot extract checkpatch.pl from ${tarball} (${why}): run ${SETUP_TEST} as root`);
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Another run extracted the same tarball meanwhile: its folder is as good.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(script)) throw err;
  }
  for (const old of fs.readdirSync(path.dirname(dir))) {
    const full = path.join(path.dirname(dir), old);
    if (full !== dir && !old.endsWith('.tmp')) fs.rmSync(full, { recursive: true, force: true });
  }
  return script;
}

/** The C sources and headers of kmod/ (kbuild's generated .mod.c left out). */
export function kmodSources(): string[] {
  return filesUnder('kmod', /\.[ch]$/).filter((f) => !f.endsWith('.mod.c'));
}

/** The addon's C++ and C sources and headers. */
export function nativeSources(): string[] {
  return filesUnder('native', /\.(cc|h|c)$/);
}

/** How checkpatch.pl is run on one file. */
export interface CheckpatchRun {
  /** The file as checkpatch names it, relative to `cwd`. */
  file: string;
  cwd: string;
  args: string[];
}

/**
 * The run for `file` (relative to the repository root, or absolute).
 * checkpatch.pl knows a uapi header by its path from the root of a kernel
 * tree (include/uapi/...): kmod/ is laid out like one, so such a header is
 * checked from there; every other file from the repository root.
 */
export function checkpatchRun(file: string): CheckpatchRun {
  const uapi = /^kmod\/(include\/uapi\/.*)$/.exec(file);
  const ignores = Object.keys(CHECKPATCH_IGNORES[file] ?? {});
  return {
    file: uapi?.[1] ?? file,
    cwd: uapi ? path.join(REPO_ROOT, 'kmod') : REPO_ROOT,
    args: [
      '--no-tree',
      '--strict',
      '--file',
      '--quiet',
      '--show-types',
      '--color=never',
      ...(ignores.length > 0 ? ['--ignore', ignores.join(',')] : []),
    ],
  };
}

/** What a tool said about one file it did not find clean. */
export interface StyleProblem {
  file: string;
  output: string;
}

function runTool(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err === null) resolve({ status: 0, output });
      else if (typeof err.code === 'number') resolve({ status: err.code, output });
      else reject(new MmaplabError('ENOTOOL', `cannot run ${command} (${err.message}): run ${SETUP_TEST} as root`));
    });
  });
}

/** Runs `jobs` at most `limit` at a time; the results in the jobs' order. */
async function inParallel<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await at(jobs, i, 'a job')();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/**
 * checkpatch.pl --strict over `files` (relative to the repository root, or
 * absolute), one process a file, as many at once as there are CPUs. HOME
 * is the extraction folder, so a ~/.checkpatch.conf cannot change the
 * verdict.
 */
export async function checkpatch(files: string[] = kmodSources()): Promise<StyleProblem[]> {
  const script = checkpatchScript();
  const env = { ...process.env, HOME: path.dirname(path.dirname(script)) };
  const results = await inParallel(
    files.map((file) => async (): Promise<StyleProblem | null> => {
      const run = checkpatchRun(file);
      const r = await runTool('perl', [script, ...run.args, run.file], run.cwd, env);
      return r.status === 0 && r.output.trim() === '' ? null : { file, output: r.output.trim() };
    }),
    os.availableParallelism(),
  );
  return results.filter((p): p is StyleProblem => p !== null);
}

/**
 * clang-format --dry-run --Werror over `files`, in one process: what it
 * would change, as its own diagnostics, or null when the layout is the
 * one native/.clang-format describes. `env` is the tool's environment
 * (its PATH finds clang-format).
 */
export async function clangFormat(files: string[] = nativeSources(), env: NodeJS.ProcessEnv = process.env): Promise<StyleProblem | null> {
  const r = await runTool('clang-format', ['--dry-run', '--Werror', ...files], REPO_ROOT, env);
  return r.status === 0 ? null : { file: files.join(' '), output: r.output.trim() };
}
