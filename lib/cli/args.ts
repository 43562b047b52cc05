/**
 * Command-line parsing for `mmaplab`. Hand-written and strict: an unknown
 * option, an option of another command, a missing value or a bad number is
 * a usage error (code EUSAGE, exit status 2), never silently ignored. Every
 * option is one row of OPTIONS, which is also where each command's --help
 * comes from, so the two cannot drift apart.
 */
import { CATALOGUE } from '../experiments/catalogue';
import { CELL_ALLOCS, CELL_METHODS, type AllocName, type BootProfile, type CellMethodName, type Scenario } from '../experiments/types';
import { USE_FAMILIES, USES } from '../experiments/uses';
import { MmaplabError } from '../util/errors';
import type { KernelSelection } from '../vm/kernels';

export const COMMANDS = [
  'matrix',
  'run',
  'classify',
  'merge',
  'report',
  'findings',
  'test-guest',
  'files',
  'bench',
  'bench-boot',
  'fuzz',
  'check',
  'kernels',
  'kernel',
  'shell',
  'build-kmod',
  'version',
  'help',
] as const;
export type Command = (typeof COMMANDS)[number];
export type AccelChoice = 'auto' | 'tcg' | 'kvm';
/** yes: hazard cells run with the rest; no: they are left out; only: nothing else runs. */
export type HazardChoice = 'yes' | 'no' | 'only';

/** `--shard i/n`: this run takes the cells whose index k (0-based) has k mod n = i - 1. */
export interface Shard {
  index: number;
  count: number;
}

export interface CliOptions {
  command: Command;
  /** For help: the command asked about, or null for the overview. */
  topic: Command | null;
  /** Words that are not options after the command: a cell id, files, a directory. */
  args: string[];
  kernels: KernelSelection;
  accel: AccelChoice;
  cells: string[];
  allocs: AllocName[];
  methods: CellMethodName[];
  scenarios: Scenario[];
  /** Only use cells of these uses or use families (empty: any). */
  uses: string[];
  /** Use cells: with the rest (yes), none (no) or only them. */
  useCells: HazardChoice;
  /** Use cells on one allocator per method (default) or on every safe pair. */
  usePairs: 'default' | 'all';
  sizes: number[];
  hazards: HazardChoice;
  /** matrix: also measure the file-backed methods (one more VM per kernel). */
  files: boolean;
  /** 'qemu': boot each kernel in a VM; 'host': run on this machine's kernel. */
  target: 'qemu' | 'host';
  /** --target host only: let hazard cells run on this machine. */
  allowHazards: boolean;
  profiles: BootProfile[];
  repeat: number;
  isolate: boolean;
  /** Cells start from a saved VM (false: --cold, every VM boots). */
  restore: boolean;
  /** VMs run at once (matrix). */
  jobs: number;
  shard: Shard | null;
  out: string | null;
  /** findings: the README whose findings block is written too. */
  readme: string | null;
  noFail: boolean;
  failOnFindings: boolean;
  timeoutSec: number;
  /** bench-boot, bench: boots per kernel and boot path, and bench's save/restore repetitions (null: 5, or 1 for bench --quick). */
  runs: number | null;
  /** bench: repetitions of every guest measurement (null: 5, or 1 with --quick). */
  reps: number | null;
  /** bench: also time boots and cells (the harness part). */
  harness: boolean;
  /** bench: also time the default matrix on the selected kernels (runs it whole). */
  matrixTime: boolean;
  /** bench: the smoke run: 64 KiB only, one repetition, one boot per path. */
  quick: boolean;
  /** test-guest: only the guest test files whose name contains one of these. */
  suites: string[];
  /** test-guest: the long forms of the hardening suites (MMAPLAB_HARDEN_LONG=1 in the guest). */
  long: boolean;
  json: string | null;
  verbose: boolean;
  /** fuzz: the generator's seed (null: from the clock). */
  seed: number | null;
  /** fuzz: stop after this many operations (null: 3000 unless --seconds). */
  fuzzOps: number | null;
  /** fuzz: stop after this many seconds. */
  fuzzSeconds: number | null;
  /** check: the user's module source directory (built per kernel). */
  kmod: string | null;
  /** check: a built module (one kernel). */
  ko: string | null;
  /** check: the device node the driver creates. */
  device: string | null;
  /** check: the module's parameters, NAME=VALUE. */
  params: Record<string, string>;
  /** check: the setup file (steps on every opened descriptor). */
  setup: string | null;
  /** check: the /proc/devices name to make the node from. */
  chrdev: string | null;
  /** check: the minor of a node mmaplab makes. */
  minor: number;
  /** matrix: print the selected cells and stop. */
  list: boolean;
  /** shell: QEMU's gdb stub on this port (null: none). */
  gdbPort: number | null;
}

export function defaultOptions(): CliOptions {
  return {
    command: 'help',
    topic: null,
    args: [],
    kernels: { releases: [], paths: [] },
    accel: 'auto',
    cells: [],
    allocs: [],
    methods: [],
    scenarios: [],
    uses: [],
    useCells: 'yes',
    usePairs: 'default',
    sizes: [],
    hazards: 'yes',
    files: true,
    target: 'qemu',
    allowHazards: false,
    profiles: [],
    repeat: 1,
    isolate: false,
    restore: true,
    jobs: 1,
    shard: null,
    out: null,
    readme: null,
    noFail: false,
    failOnFindings: false,
    timeoutSec: 300,
    runs: null,
    reps: null,
    harness: true,
    matrixTime: false,
    quick: false,
    suites: [],
    long: false,
    json: null,
    verbose: false,
    seed: null,
    fuzzOps: null,
    fuzzSeconds: null,
    kmod: null,
    ko: null,
    device: null,
    params: {},
    setup: null,
    chrdev: null,
    minor: 0,
    list: false,
    gdbPort: null,
  };
}

/** A usage error; the hint line points at the help of the command concerned. */
export function usageError(message: string, command: Command | null = null): MmaplabError {
  const hint =
    command === null || command === 'help' ? '(run "mmaplab help" for usage)' : `(run "mmaplab help ${command}" for its options)`;
  return new MmaplabError('EUSAGE', `${message}\n${hint}`);
}

/** A bad value, before it is known which command's help to point at. */
class ValueError extends Error {}

function positiveInt(opt: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
    throw new ValueError(`${opt} needs a whole number from 1 to ${max}, got "${v}"`);
  }
  return Number(v);
}

const SIZE = /^(\d+)(?:([KM])(?:iB|B)?|B)?$/i;

/** "16K", "16KiB", "1M", "4096", "512B" -> bytes; null when it is not a size. */
export function parseSize(text: string): number | null {
  const m = SIZE.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? '').toUpperCase();
  const n = Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 * 1024 : 1);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** "i/n" -> a shard; null when malformed or out of range. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 10_000 || index < 1 || index > count) return null;
  return { index, count };
}

function oneOf<T extends string>(opt: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ValueError(`${opt} is one of ${allowed.join(', ')}; got "${v}"`);
  }
  return v as T;
}

/** Values some cell of the catalogue has: a filter on anything else matches nothing by mistake. */
function catalogueValues<K extends 'scenario' | 'profile'>(key: K): Array<(typeof CATALOGUE)[number][K]> {
  return [...new Set(CATALOGUE.map((c) => c[key]))];
}

type BuiltKernel = { image?: string; buildDir?: string; modulesDir?: string };

interface ParseState {
  opts: CliOptions;
  /** Self-built kernels: the n-th --kernel-image, --kernel-build and --kernel-modules describe the n-th kernel. */
  built: BuiltKernel[];
  help: boolean;
  version: boolean;
}

function slot(st: ParseState, field: keyof BuiltKernel): BuiltKernel {
  let g = st.built.find((x) => x[field] === undefined);
  if (!g) {
    g = {};
    st.built.push(g);
  }
  return g;
}

export interface OptionSpec {
  name: string;
  alias?: string;
  /** The value's placeholder in help ("KERNEL"); absent for a flag. */
  value?: string;
  /** Help text (per command where it differs). */
  help: string | ((command: Command) => string);
  commands: readonly Command[];
  apply: (st: ParseState, value: string) => void;
}

const BOOTING: readonly Command[] = ['matrix', 'run', 'test-guest', 'files', 'bench', 'bench-boot', 'fuzz', 'check'];
/** The commands that start VMs (under --target qemu): the booting ones and the shell. */
export const VM_COMMANDS: readonly Command[] = [...BOOTING, 'shell'];
const KERNEL_SELECTING: readonly Command[] = [...VM_COMMANDS, 'build-kmod'];

export const OPTIONS: readonly OptionSpec[] = [
  {
    name: '--kernel',
    value: 'KERNEL',
    help:
      'a series (6.1: its newest installed kernel), a series and flavour (6.12-rt, 6.1-cloud; ' +
      '6.1-slab, 6.12-debug when built with mmaplab kernel build) or a release (repeatable; ' +
      'default: the newest installed generic kernel of each series)',
    commands: KERNEL_SELECTING,
    apply: (st, v) => st.opts.kernels.releases.push(v),
  },
  {
    name: '--kernel-image',
    value: 'PATH',
    help: "a self-built kernel's bzImage (with --kernel-build)",
    commands: KERNEL_SELECTING,
    apply: (st, v) => (slot(st, 'image').image = v),
  },
  {
    name: '--kernel-build',
    value: 'DIR',
    help: '... and its build tree',
    commands: KERNEL_SELECTING,
    apply: (st, v) => (slot(st, 'buildDir').buildDir = v),
  },
  {
    name: '--kernel-modules',
    value: 'DIR',
    help: '... and its modules directory, if 9p/overlayfs are modules',
    commands: KERNEL_SELECTING,
    apply: (st, v) => (slot(st, 'modulesDir').modulesDir = v),
  },
  {
    name: '--accel',
    value: 'auto|tcg|kvm',
    help: 'auto (default): KVM if a probe boot under KVM works, else TCG; tcg or kvm force one',
    commands: VM_COMMANDS,
    apply: (st, v) => (st.opts.accel = oneOf('--accel', v, ['auto', 'tcg', 'kvm'] as const)),
  },
  {
    name: '--cell',
    value: 'PATTERN',
    help: 'only cells whose id contains PATTERN (repeatable)',
    commands: ['matrix'],
    apply: (st, v) => st.opts.cells.push(v),
  },
  {
    name: '--alloc',
    value: 'A',
    help: `only cells of allocator A (repeatable): ${CELL_ALLOCS.join(', ')}`,
    commands: ['matrix'],
    apply: (st, v) => st.opts.allocs.push(oneOf('--alloc', v, CELL_ALLOCS)),
  },
  {
    name: '--method',
    value: 'M',
    help: `only cells mapped with method M (repeatable): ${CELL_METHODS.join(', ')}`,
    commands: ['matrix'],
    apply: (st, v) => st.opts.methods.push(oneOf('--method', v, CELL_METHODS)),
  },
  {
    name: '--scenario',
    value: 'S',
    help: `only cells of scenario S (repeatable): ${catalogueValues('scenario').join(', ')}`,
    commands: ['matrix'],
    apply: (st, v) => st.opts.scenarios.push(oneOf('--scenario', v, catalogueValues('scenario'))),
  },
  {
    name: '--use',
    value: 'U',
    help: `only use cells of use U or of a family of uses (repeatable): ${[...USE_FAMILIES, ...USES].join(', ')}`,
    commands: ['matrix'],
    apply: (st, v) => st.opts.uses.push(oneOf('--use', v, [...USE_FAMILIES, ...USES])),
  },
  {
    name: '--uses',
    value: 'yes|no|only',
    help: 'use cells (what programs do with a mapping): with the rest (yes, default), none, or only them; check: yes or no',
    commands: ['matrix', 'check'],
    apply: (st, v) => (st.opts.useCells = oneOf('--uses', v, ['yes', 'no', 'only'] as const)),
  },
  {
    name: '--use-pairs',
    value: 'default|all',
    help: 'use cells on one allocator per method (default), or every use on every safe pair (the full set, for CI shards)',
    commands: ['matrix'],
    apply: (st, v) => (st.opts.usePairs = oneOf('--use-pairs', v, ['default', 'all'] as const)),
  },
  {
    name: '--size',
    value: 'SIZE',
    help: (c) =>
      c === 'bench'
        ? 'buffer sizes to measure (repeatable; default 64K, 2M and 64M)'
        : c === 'check'
          ? "bytes of the driver's buffer a mapping may cover, a page multiple (default 16K)"
          : 'only cells of this buffer size (repeatable): 4K, 16K, 64K, 1M or bytes',
    commands: ['matrix', 'bench', 'check'],
    apply: (st, v) => {
      const n = parseSize(v);
      if (n === null) throw new ValueError(`--size is a size such as 16K, 1M or 4096, got "${v}"`);
      st.opts.sizes.push(n);
    },
  },
  {
    name: '--hazards',
    value: 'yes|no|only',
    help: 'hazard cells (module loaded with allow_hazards=1): with the rest (yes, default), none, or only them',
    commands: ['matrix'],
    apply: (st, v) => (st.opts.hazards = oneOf('--hazards', v, ['yes', 'no', 'only'] as const)),
  },
  {
    name: '--files',
    value: 'yes|no',
    help: 'also measure how writes through a mapping reach the backing store (yes, default; in VMs, shard 1 only)',
    commands: ['matrix'],
    apply: (st, v) => (st.opts.files = oneOf('--files', v, ['yes', 'no'] as const) === 'yes'),
  },
  {
    name: '--target',
    value: 'qemu|host',
    help:
      'qemu (default): boot each kernel in a VM; host: run on this machine (root, module loaded with insmod; ' +
      'hazard cells, and check, need --allow-hazards)',
    commands: ['matrix', 'run', 'check'],
    apply: (st, v) => (st.opts.target = oneOf('--target', v, ['qemu', 'host'] as const)),
  },
  {
    name: '--allow-hazards',
    help: 'with --target host: run hazard cells, or check your driver, on this machine (either can corrupt its kernel; reboot after)',
    commands: ['matrix', 'run', 'check'],
    apply: (st) => (st.opts.allowHazards = true),
  },
  {
    name: '--profile',
    value: catalogueValues('profile').join('|'),
    help: (c) =>
      c === 'check'
        ? 'boot with this kernel command-line profile: poison fills freed pages and checks slab objects (default: default)'
        : 'only cells booted with this kernel command-line profile (repeatable)',
    commands: ['matrix', 'check'],
    apply: (st, v) => st.opts.profiles.push(oneOf('--profile', v, catalogueValues('profile'))),
  },
  {
    name: '--repeat',
    value: 'N',
    help: 'run the cells N times, each round in fresh VMs; runs that disagree make a cell flaky',
    commands: ['matrix'],
    apply: (st, v) => (st.opts.repeat = positiveInt('--repeat', v, 1000)),
  },
  {
    name: '--isolate',
    help: 'one VM boot per cell, so no verdict depends on the cells before it (slower)',
    commands: ['matrix'],
    apply: (st) => (st.opts.isolate = true),
  },
  {
    name: '--cold',
    help: 'boot every VM cold instead of restoring it from a VM saved once per kernel and profile',
    commands: ['matrix', 'run', 'check'],
    apply: (st) => (st.opts.restore = false),
  },
  {
    name: '--jobs',
    value: 'N',
    help: 'VMs run at once: one per kernel and round (per cell with --isolate); default 1',
    commands: ['matrix'],
    apply: (st, v) => (st.opts.jobs = positiveInt('--jobs', v, 64)),
  },
  {
    name: '--gdb',
    value: 'PORT',
    help: "open QEMU's gdb stub on this TCP port (the kernel boots with nokaslr): gdb vmlinux, then target remote :PORT",
    commands: ['shell'],
    apply: (st, v) => (st.opts.gdbPort = positiveInt('--gdb', v, 65535)),
  },
  {
    name: '--list',
    help: 'print the selected cells (after --shard), one id a line, and run nothing',
    commands: ['matrix'],
    apply: (st) => (st.opts.list = true),
  },
  {
    name: '--shard',
    value: 'i/n',
    help: 'run only shard i of n: the k-th selected cell (from 0) goes to shard (k mod n) + 1',
    commands: ['matrix'],
    apply: (st, v) => {
      const s = parseShard(v);
      if (s === null) throw new ValueError(`--shard is i/n with 1 <= i <= n, got "${v}"`);
      st.opts.shard = s;
    },
  },
  {
    name: '--out',
    value: 'DIR',
    help: (c) =>
      c === 'findings' ? 'where the findings page goes (default: standard output)' : `where the reports go (default: runs/${c}-<time>)`,
    commands: ['matrix', 'merge', 'bench', 'check', 'findings'],
    apply: (st, v) => (st.opts.out = v),
  },
  {
    name: '--readme',
    value: 'FILE',
    help: 'also write the findings at a glance into FILE, between its findings block lines',
    commands: ['findings'],
    apply: (st, v) => (st.opts.readme = v),
  },
  {
    name: '--json',
    value: 'FILE',
    help: (c) => (c === 'files' ? 'also write the measurements as JSON' : 'also write the raw cell results as JSON'),
    commands: ['matrix', 'files'],
    apply: (st, v) => (st.opts.json = v),
  },
  {
    name: '--no-fail',
    help: 'exit 0 even when a cell differs from its prediction, is flaky or has none',
    commands: ['matrix', 'run', 'merge'],
    apply: (st) => (st.opts.noFail = true),
  },
  {
    name: '--fail-on-findings',
    help: 'exit 1 when the log has any finding (default: 0 whatever was found)',
    commands: ['classify'],
    apply: (st) => (st.opts.failOnFindings = true),
  },
  {
    name: '--ops',
    value: 'N',
    help: 'stop after N operations per kernel (default 3000 unless --seconds)',
    commands: ['fuzz'],
    apply: (st, v) => (st.opts.fuzzOps = positiveInt('--ops', v, 100_000_000)),
  },
  {
    name: '--seconds',
    value: 'T',
    help: 'stop after T seconds per kernel (with --ops: whichever comes first)',
    commands: ['fuzz'],
    apply: (st, v) => (st.opts.fuzzSeconds = positiveInt('--seconds', v, 7 * 86_400)),
  },
  {
    name: '--kmod',
    value: 'DIR',
    help: "your module's source directory (with its Kbuild or Makefile), built for each kernel as mmaplab builds its own",
    commands: ['check'],
    apply: (st, v) => (st.opts.kmod = v),
  },
  {
    name: '--ko',
    value: 'PATH',
    help: 'your module, already built (for one kernel: give that kernel with --kernel)',
    commands: ['check'],
    apply: (st, v) => (st.opts.ko = v),
  },
  {
    name: '--device',
    value: 'PATH',
    help: 'the device node your driver creates, e.g. /dev/mydrv; a pattern in the name (/dev/mydrv*) takes the first node it matches',
    commands: ['check'],
    apply: (st, v) => {
      if (!v.startsWith('/dev/')) throw new ValueError(`--device is a node under /dev, got "${v}"`);
      st.opts.device = v;
    },
  },
  {
    name: '--param',
    value: 'NAME=VALUE',
    help: 'a parameter for your module at insmod (repeatable)',
    commands: ['check'],
    apply: (st, v) => {
      const [, name, value] = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v) ?? [];
      if (name === undefined || value === undefined) throw new ValueError(`--param is NAME=VALUE, got "${v}"`);
      st.opts.params[name] = value;
    },
  },
  {
    name: '--setup',
    value: 'FILE',
    help:
      'run on every opened descriptor before it is mapped: JSON steps, {"steps": [{"ioctl": "0x...", "arg": "hex"}, {"write": "hex"}]}, ' +
      'or a .js/.ts hook exporting a synchronous function (fd, dev) with dev.ioctl(request, bytes?), dev.write(bytes), dev.read(n)',
    commands: ['check'],
    apply: (st, v) => (st.opts.setup = v),
  },
  {
    name: '--chrdev',
    value: 'NAME',
    help: 'a driver that registers a char region without a node: make --device from this /proc/devices entry (default: the one the module added)',
    commands: ['check'],
    apply: (st, v) => (st.opts.chrdev = v),
  },
  {
    name: '--minor',
    value: 'N',
    help: 'the minor of the node mmaplab makes from /proc/devices (default 0)',
    commands: ['check'],
    apply: (st, v) => {
      if (!/^\d+$/.test(v) || Number(v) > 0xfffff) throw new ValueError(`--minor is a whole number below 2^20, got "${v}"`);
      st.opts.minor = Number(v);
    },
  },
  {
    name: '--seed',
    value: 'S',
    help: 'the seed, a whole number below 2^32 (default: from the clock; printed first either way)',
    commands: ['fuzz'],
    apply: (st, v) => {
      if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff) {
        throw new ValueError(`--seed needs a whole number from 0 to ${0xffff_ffff}, got "${v}"`);
      }
      st.opts.seed = Number(v);
    },
  },
  {
    name: '--suite',
    value: 'PATTERN',
    help: 'only the guest test files whose name contains PATTERN (repeatable), e.g. 40-files',
    commands: ['test-guest'],
    apply: (st, v) => st.opts.suites.push(v),
  },
  {
    name: '--long',
    help: 'the long forms of the hardening suites (e.g. 10,000 leak-check cycles per method); the VM deadline becomes at least 40 min',
    commands: ['test-guest'],
    apply: (st) => (st.opts.long = true),
  },
  {
    name: '--runs',
    value: 'N',
    help: (c) =>
      c === 'bench'
        ? 'boots per kernel and boot path, and saves and restores per kernel (default 5; 1 with --quick)'
        : 'boots per kernel and boot path (default 5)',
    commands: ['bench-boot', 'bench'],
    apply: (st, v) => (st.opts.runs = positiveInt('--runs', v, 1000)),
  },
  {
    name: '--reps',
    value: 'N',
    help: 'repetitions of every measurement inside the guest (default 5; 1 with --quick)',
    commands: ['bench'],
    apply: (st, v) => (st.opts.reps = positiveInt('--reps', v, 1000)),
  },
  {
    name: '--harness',
    value: 'yes|no',
    help:
      'also time the harness: boots (vmlinux vs bzImage, --runs each), cells in a warm VM, and saving and ' +
      'restoring VMs (--runs each) (default yes)',
    commands: ['bench'],
    apply: (st, v) => (st.opts.harness = oneOf('--harness', v, ['yes', 'no'] as const) === 'yes'),
  },
  {
    name: '--matrix-time',
    help: 'also run the default matrix on the selected kernels and time it (about 11 min for two kernels)',
    commands: ['bench'],
    apply: (st) => (st.opts.matrixTime = true),
  },
  {
    name: '--quick',
    help: 'the smoke run: 64K only, one repetition, one boot per path (unless --size/--reps/--runs say otherwise)',
    commands: ['bench'],
    apply: (st) => (st.opts.quick = true),
  },
  {
    name: '--timeout',
    value: 'SECONDS',
    help: (c) =>
      c === 'fuzz'
        ? 'the longest a guest may go without finishing a batch of operations (boot included): a hang (default 300)'
        : 'per-VM deadline, plus 1 s per cell for a VM of cells; a guest that overruns is a hang (default 300)',
    commands: BOOTING,
    apply: (st, v) => (st.opts.timeoutSec = positiveInt('--timeout', v, 86_400)),
  },
  {
    name: '--verbose',
    alias: '-v',
    help: (c) => (c === 'classify' ? "also print each finding's context lines" : 'echo the guest consoles to stderr'),
    commands: [...BOOTING, 'classify'],
    apply: (st) => (st.opts.verbose = true),
  },
  {
    name: '--help',
    alias: '-h',
    help: 'this text',
    commands: COMMANDS,
    apply: (st) => (st.help = true),
  },
  {
    name: '--version',
    alias: '-V',
    help: "print mmaplab's version",
    commands: COMMANDS,
    apply: (st) => (st.version = true),
  },
];

function findOption(arg: string): OptionSpec | undefined {
  return OPTIONS.find((o) => o.name === arg || o.alias === arg);
}

/**
 * Levenshtein distance, one row of the table at a time: `above` holds the
 * distances of a's first i characters to each prefix of b, and the cell to
 * the left and the one diagonally above-left ride along as the row is made.
 */
function editDistance(a: string, b: string): number {
  let above = Array.from({ length: b.length + 1 }, (_, j) => j);
  let distance = b.length;
  for (const [i, ca] of a.split('').entries()) {
    let diagonal = i;
    let left = i + 1;
    const row = [left];
    for (const [j, up] of above.slice(1).entries()) {
      left = Math.min(up + 1, left + 1, diagonal + (ca === b.charAt(j) ? 0 : 1));
      row.push(left);
      diagonal = up;
    }
    above = row;
    distance = left;
  }
  return distance;
}

/** Options that were renamed, to the name that replaced them: using the old one is a usage error that names the new. */
const RENAMED_OPTIONS: Readonly<Record<string, string>> = { '--allocator': '--alloc', '--technique': '--method' };

/** The closest option of this command to a mistyped one, if any is close. */
export function suggestOption(arg: string, command: Command | null): string | null {
  let best: { name: string; d: number } | null = null;
  for (const o of OPTIONS) {
    if (command !== null && !o.commands.includes(command)) continue;
    const d = editDistance(arg, o.name);
    if (best === null || d < best.d) best = { name: o.name, d };
  }
  return best !== null && best.d <= Math.max(2, Math.floor(arg.length / 4)) ? best.name : null;
}

type Token =
  | { kind: 'option'; spec: OptionSpec; arg: string; value: string }
  | { kind: 'word'; text: string }
  | { kind: 'bad'; message: string; arg: string; unknown: boolean };

/** argv -> options with their values and plain words; nothing is judged but the shape. */
function tokenize(argv: readonly string[]): Token[] {
  const out: Token[] = [];
  const left = [...argv];
  for (let raw = left.shift(); raw !== undefined; raw = left.shift()) {
    if (raw === '--') {
      for (const w of left) out.push({ kind: 'word', text: w });
      break;
    }
    if (!raw.startsWith('-') || raw === '-') {
      out.push({ kind: 'word', text: raw });
      continue;
    }
    let arg = raw;
    let value: string | undefined;
    const eq = raw.indexOf('=');
    if (raw.startsWith('--') && eq > 0) {
      arg = raw.slice(0, eq);
      value = raw.slice(eq + 1);
    }
    const spec = findOption(arg);
    if (!spec) {
      out.push({ kind: 'bad', message: `unknown option ${arg}`, arg, unknown: true });
      continue;
    }
    if (spec.value === undefined) {
      if (value !== undefined) out.push({ kind: 'bad', message: `${arg} takes no value`, arg, unknown: false });
      else out.push({ kind: 'option', spec, arg, value: '' });
      continue;
    }
    const nextWord = value === undefined;
    if (nextWord) value = left.shift();
    // "-1" is a (bad) number for the numeric options; any other dash word
    // is the next option, meaning this one's value is missing.
    if (value === undefined || value === '' || (value.startsWith('-') && !/^-\d+$/.test(value))) {
      if (nextWord && value !== undefined && value !== '') left.unshift(value); // that option still counts
      out.push({ kind: 'bad', message: `${arg} needs a value`, arg, unknown: false });
      continue;
    }
    out.push({ kind: 'option', spec, arg, value });
  }
  return out;
}

/** How many words each command takes after its name, and what they are called. */
const ARITY: Record<Command, { min: number; max: number; what: string }> = {
  matrix: { min: 0, max: 0, what: '' },
  run: { min: 1, max: 1, what: 'a cell id, e.g. pages_nocomp/fault_page/16K/basic' },
  classify: { min: 1, max: 1, what: 'a log file, or - for standard input' },
  merge: { min: 1, max: Infinity, what: 'one or more report.json files' },
  report: { min: 1, max: 1, what: 'a report directory (with report.json)' },
  findings: { min: 1, max: 1, what: 'a report.json (or report.json.gz) of a whole run' },
  'test-guest': { min: 0, max: 0, what: '' },
  files: { min: 0, max: 0, what: '' },
  bench: { min: 0, max: 0, what: '' },
  'bench-boot': { min: 0, max: 0, what: '' },
  fuzz: { min: 0, max: 0, what: '' },
  check: { min: 0, max: 0, what: '' },
  kernels: { min: 0, max: 0, what: '' },
  kernel: { min: 2, max: 2, what: 'build and a kernel name, e.g. kernel build 6.1-slab' },
  shell: { min: 0, max: 0, what: '' },
  'build-kmod': { min: 0, max: 0, what: '' },
  version: { min: 0, max: 0, what: '' },
  help: { min: 0, max: 1, what: 'a command' },
};

function isCommand(w: string): w is Command {
  return (COMMANDS as readonly string[]).includes(w);
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const tokens = tokenize(argv);
  const firstWord = tokens.find((t): t is Extract<Token, { kind: 'word' }> => t.kind === 'word');
  const command: Command | null = firstWord && isCommand(firstWord.text) ? firstWord.text : null;
  const st: ParseState = { opts: defaultOptions(), built: [], help: false, version: false };
  const fail = (message: string): never => {
    throw usageError(message, command);
  };
  if (firstWord && command === null) {
    fail(`unknown command "${firstWord.text}"; commands: ${COMMANDS.join(', ')}`);
  }
  const effective: Command = command ?? 'help';
  let sawCommand = false;
  for (const t of tokens) {
    if (t.kind === 'bad') {
      if (!t.unknown) fail(t.message);
      const renamed = RENAMED_OPTIONS[t.arg];
      if (renamed !== undefined) fail(`${t.arg} is now ${renamed}, in the uapi header's words (alloc and method)`);
      const near = suggestOption(t.arg, command);
      const other = near === null ? OPTIONS.find((o) => o.name === suggestOption(t.arg, null)) : undefined;
      fail(
        t.message +
          (near !== null
            ? ` (did you mean ${near}?)`
            : other !== undefined
              ? ` (${other.name} is an option of ${other.commands.join(', ')})`
              : ''),
      );
    } else if (t.kind === 'word') {
      if (!sawCommand) sawCommand = true;
      else st.opts.args.push(t.text);
    } else {
      try {
        t.spec.apply(st, t.value);
      } catch (err) {
        if (err instanceof ValueError) fail(err.message);
        throw err;
      }
    }
  }
  for (const t of tokens) {
    if (t.kind === 'option' && !t.spec.commands.includes(effective) && !st.help) {
      fail(`${t.arg} is not an option of ${command ?? 'mmaplab without a command'} (it goes with ${t.spec.commands.join(', ')})`);
    }
  }
  for (const g of st.built) {
    if (g.image === undefined && g.buildDir === undefined) {
      fail('--kernel-modules goes with --kernel-image and --kernel-build');
    }
    if (g.image === undefined || g.buildDir === undefined) {
      fail('a self-built kernel needs both --kernel-image and --kernel-build');
    }
    st.opts.kernels.paths.push({
      image: g.image as string,
      buildDir: g.buildDir as string,
      ...(g.modulesDir !== undefined ? { modulesDir: g.modulesDir } : {}),
    });
  }
  const opts = st.opts;
  if (st.version && !st.help) {
    opts.command = 'version';
    opts.args = [];
    return opts;
  }
  if (st.help) {
    opts.command = 'help';
    opts.topic = command === 'help' ? topicOf(opts.args, fail) : command;
    opts.args = [];
    return opts;
  }
  opts.command = effective;
  const arity = ARITY[effective];
  if (opts.args.length > arity.max) fail(`unexpected argument "${opts.args[arity.max]}"`);
  if (opts.args.length < arity.min) fail(`${effective} needs ${arity.what}`);
  if (effective === 'help') {
    opts.topic = topicOf(opts.args, fail);
    opts.args = [];
  }
  return opts;
}

function topicOf(args: string[], fail: (m: string) => never): Command | null {
  const w = args[0];
  if (w === undefined) return null;
  if (!isCommand(w)) fail(`unknown command "${w}"; commands: ${COMMANDS.join(', ')}`);
  return w;
}
