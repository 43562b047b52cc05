/**
 * Command-line parsing for `mmaplab`. Hand-written and strict: an unknown
 * option, a missing value or a bad number is an error with a code, never
 * silently ignored.
 */
import { MmaplabError } from '../util/errors';
import type { KernelSelection } from '../vm/kernels';

export const COMMANDS = ['matrix', 'test-guest', 'bench-boot', 'kernels', 'build-kmod', 'help'] as const;
export type Command = (typeof COMMANDS)[number];
export type AccelChoice = 'auto' | 'tcg' | 'kvm';

export interface CliOptions {
  command: Command;
  kernels: KernelSelection;
  accel: AccelChoice;
  cells: string[];
  timeoutSec: number;
  repeat: number;
  runs: number;
  json: string | null;
  verbose: boolean;
}

const VALUE_OPTIONS = new Set([
  '--kernel',
  '--kernel-image',
  '--kernel-build',
  '--kernel-modules',
  '--accel',
  '--cell',
  '--timeout',
  '--repeat',
  '--runs',
  '--json',
]);

const FLAG_OPTIONS = new Set(['--verbose', '-v', '--help', '-h']);

function usageError(message: string): MmaplabError {
  return new MmaplabError('EUSAGE', `${message}\n(run "mmaplab help" for usage)`);
}

function positiveInt(opt: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
    throw usageError(`${opt} needs a whole number from 1 to ${max}, got "${v}"`);
  }
  return Number(v);
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const opts: CliOptions = {
    command: 'help',
    kernels: { releases: [], paths: [] },
    accel: 'tcg',
    cells: [],
    timeoutSec: 300,
    repeat: 1,
    runs: 5,
    json: null,
    verbose: false,
  };
  // Self-built kernels: the n-th --kernel-image, --kernel-build and
  // --kernel-modules describe the n-th kernel, in any order, so several can
  // be given.
  const built: Array<{ image?: string; buildDir?: string; modulesDir?: string }> = [];
  const slot = (field: 'image' | 'buildDir' | 'modulesDir'): { image?: string; buildDir?: string; modulesDir?: string } => {
    let g = built.find((x) => x[field] === undefined);
    if (!g) {
      g = {};
      built.push(g);
    }
    return g;
  };
  let command: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i] as string;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
      if (FLAG_OPTIONS.has(arg)) throw usageError(`${arg} takes no value`);
    }
    if (VALUE_OPTIONS.has(arg)) {
      if (value === undefined) value = argv[++i];
      // "-1" is a (bad) number for the numeric options; any other dash word
      // is the next option, meaning this one's value is missing.
      const missing = value === undefined || value === '' || (value.startsWith('-') && !/^-\d+$/.test(value));
      if (missing) throw usageError(`${arg} needs a value`);
    }
    switch (arg) {
      case '--kernel':
        opts.kernels.releases.push(value as string);
        break;
      case '--kernel-image':
        slot('image').image = value as string;
        break;
      case '--kernel-build':
        slot('buildDir').buildDir = value as string;
        break;
      case '--kernel-modules':
        slot('modulesDir').modulesDir = value as string;
        break;
      case '--accel':
        if (value !== 'auto' && value !== 'tcg' && value !== 'kvm') {
          throw usageError(`--accel is auto, tcg or kvm, got "${value}"`);
        }
        opts.accel = value;
        break;
      case '--cell':
        opts.cells.push(value as string);
        break;
      case '--timeout':
        opts.timeoutSec = positiveInt(arg, value as string, 86_400);
        break;
      case '--repeat':
        opts.repeat = positiveInt(arg, value as string, 1000);
        break;
      case '--runs':
        opts.runs = positiveInt(arg, value as string, 1000);
        break;
      case '--json':
        opts.json = value as string;
        break;
      case '--verbose':
      case '-v':
        opts.verbose = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        if (arg.startsWith('-')) throw usageError(`unknown option ${arg}`);
        if (command !== null) throw usageError(`unexpected argument "${arg}"`);
        if (!(COMMANDS as readonly string[]).includes(arg)) {
          throw usageError(`unknown command "${arg}"; commands: ${COMMANDS.join(', ')}`);
        }
        command = arg;
    }
  }
  for (const g of built) {
    if (g.image === undefined && g.buildDir === undefined) {
      throw usageError('--kernel-modules goes with --kernel-image and --kernel-build');
    }
    if (g.image === undefined || g.buildDir === undefined) {
      throw usageError('a self-built kernel needs both --kernel-image and --kernel-build');
    }
    opts.kernels.paths.push({
      image: g.image,
      buildDir: g.buildDir,
      ...(g.modulesDir !== undefined ? { modulesDir: g.modulesDir } : {}),
    });
  }
  opts.command = (help ? 'help' : (command ?? 'help')) as Command;
  return opts;
}

export const USAGE = `mmaplab — which ways of mmap'ing driver memory work, on real kernels

usage: mmaplab <command> [options]

commands:
  matrix        run the experiment cells on each kernel in QEMU and print the table
  test-guest    boot each kernel and run the guest test suite inside it
  bench-boot    boot each kernel --runs times; print medians (vmlinux vs bzImage)
  kernels       list installed kernels usable with mmaplab
  build-kmod    build mmaplab.ko for the selected kernels
  help          this text

options:
  --kernel KVER           a kernel from /boot with headers (repeatable; default: the
                          newest of each installed series)
  --kernel-image PATH     a self-built kernel's bzImage ...
  --kernel-build DIR      ... and its build tree (with --kernel-image)
  --kernel-modules DIR    ... and its modules dir (if 9p/overlay are modules)
  --accel auto|tcg|kvm    tcg (default); auto uses KVM only if a probe boot works
  --cell PATTERN          only cells whose id contains PATTERN (repeatable)
  --repeat N              run the matrix N times, each in fresh VMs
  --runs N                boots per kernel and path for bench-boot (default 5)
  --timeout SECONDS       per-VM deadline; a guest that overruns is a hang (default 300)
  --json FILE             also write the results as JSON
  --verbose, -v           echo guest consoles
`;
