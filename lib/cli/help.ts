/** `mmaplab help [COMMAND]` and `mmaplab COMMAND --help`: generated from the option table. */
import { BUILD_PROFILES } from '../vm/kernel-build';
import { COMMANDS, OPTIONS, type Command } from './args';

interface CommandDoc {
  synopsis: string;
  /** One line for the overview. */
  summary: string;
  /** What it does, how it ends (exit status). */
  text: string;
}

const AGREEMENT_EXIT =
  '\nexit status: 0 when every cell meets its prediction or matches its observation record;\n' +
  '1 when a cell differs, is flaky (its runs disagree) or has no expectation,\n' +
  'unless --no-fail; 2 for a usage error.';

export const COMMAND_DOCS: Record<Command, CommandDoc> = {
  matrix: {
    synopsis: 'mmaplab matrix [options]',
    summary: 'run the experiment cells on each kernel in QEMU; table and reports',
    text:
      'Selects cells from the catalogue (every filter option narrows: values of one option\n' +
      'are alternatives, different options must all match), runs them on each kernel,\n' +
      'prints the table and writes report.json, junit.xml, report.tap, report.md and\n' +
      'report.html to --out. Shards split the selected cells, so every shard of a run\n' +
      'needs the same filters; `mmaplab merge` joins their report.json files.\n' +
      AGREEMENT_EXIT,
  },
  run: {
    synopsis: 'mmaplab run CELL [options]',
    summary: 'run one cell and print all of its evidence',
    text:
      'Runs the cell with this exact id (e.g. pages_nocomp/fault_page/16K/basic) on each\n' +
      'selected kernel in a fresh VM and prints the verdict, the expectation and its reason,\n' +
      "the probe's steps, counters and data checks, the kernel's findings, taint gained, the\n" +
      'kmsg window and, when the VM died, the console tail. A hazard cell loads the module\n' +
      'with allow_hazards=1.\n' +
      AGREEMENT_EXIT,
  },
  classify: {
    synopsis: 'mmaplab classify FILE|- [options]',
    summary: 'find kernel complaints in a saved dmesg, /dev/kmsg or console log',
    text:
      'Reads plain `dmesg` output (with or without [timestamps], also -x and -T), `dmesg -r`\n' +
      'or /dev/kmsg records, journalctl -k lines or a QEMU serial console capture, and prints\n' +
      'each finding of the kernel-log classifier (kind, severity, line number, the line,\n' +
      'the reason when the report gives one: a Bad page state, VM_BUG_ON_PAGE, UBSAN) and a\n' +
      'summary. It knows the page and page-table reports, oopses, WARN, lockdep, KASAN, KMSAN,\n' +
      'KCSAN, UBSAN, SLUB debugging, kmemleak, lockups and sleeping in atomic context; any\n' +
      'other "BUG:" report is an other-bug finding, any other "WARNING:", "INFO:" or "====="\n' +
      'framed report an unrecognised one.\n' +
      '\nexit status: 0 whatever was found, 1 with --fail-on-findings when there is a finding,\n' +
      '1 when the file cannot be read, 2 for a usage error.',
  },
  merge: {
    synopsis: 'mmaplab merge REPORT.json... [options]',
    summary: 'join the report.json files of shards into one report',
    text:
      'Concatenates the cells, joins the kernels (boots added up) and keeps the first\n' +
      "report's environment, noting every input under environment.merged. The same cell on\n" +
      'the same kernel in two inputs becomes one cell with the runs of both (as --repeat\n' +
      'would), unless its definitions differ or the very same run is in both (the same\n' +
      'file given twice): that is refused. Writes every format to --out.\n' +
      AGREEMENT_EXIT,
  },
  report: {
    synopsis: 'mmaplab report DIR',
    summary: 'write every report format again from DIR/report.json',
    text:
      'Reads DIR/report.json (or the report.json given) and writes every format again beside it:\n' +
      'report.json, junit.xml, report.tap, report.md and report.html. Exit status 1 if it is\n' +
      'not a report this mmaplab reads, 2 for a usage error.',
  },
  findings: {
    synopsis: 'mmaplab findings REPORT [--out FILE] [--readme FILE]',
    summary: "write the findings page (and the README's block) from a run's report",
    text:
      'Reads REPORT (a report.json, or report.json.gz) and writes the findings page computed\n' +
      'from it: the claims per kernel, every cell that contradicted its prediction with its\n' +
      'observation record, the cells whose runs varied, the uses at a glance and the files\n' +
      'statements. With --readme, also replaces the findings block of that file (the lines\n' +
      'between its markers) with the claims at a glance. Exit status 1 if REPORT is not a\n' +
      'report this mmaplab reads.',
  },
  'test-guest': {
    synopsis: 'mmaplab test-guest [options]',
    summary: 'boot each kernel and run the guest test suite inside it',
    text: 'Prints one TAP-like line per test and "N passed, N failed"; exit status 1 if any failed.',
  },
  files: {
    synopsis: 'mmaplab files [options]',
    summary: 'when and how writes through a mapping reach the backing store',
    text:
      'Boots each kernel and, for the page-cache and deferred-I/O methods and a plain\n' +
      'vmalloc mapping, writes through a shared mapping, applies one trigger (msync, munmap,\n' +
      'close, fsync on another descriptor, sync, FLUSH, writeback expiry, the deferred flush,\n' +
      'the periodic sync) and prints which pages reached the store, when and by which path.\n' +
      'Exit status 1 if a measurement failed or delivered bytes other than the ones written.',
  },
  bench: {
    synopsis: 'mmaplab bench [options]',
    summary: 'what each mapping method costs, and how fast the harness is',
    text:
      'Boots each kernel and measures, for every safe allocator x method and size, mmap,\n' +
      'first touch (read, write), faults and munmap, and sequential throughput, against\n' +
      'anonymous memory in the same VM; fault-around on and off; write-combining and uncached;\n' +
      'the addon against a C program doing the same cycle. Then the harness: boots per path,\n' +
      'time per cell in a warm VM, and saving a VM and restoring it instead of booting (a\n' +
      'hazard cell timed to its verdict). Writes bench.json, bench.md and report.html to --out.\n' +
      'Every figure is a median with min and max; compare the ratios, not emulated times.\n' +
      'Exit status 1 if a guest failed to measure.',
  },
  'bench-boot': {
    synopsis: 'mmaplab bench-boot [options]',
    summary: 'boot each kernel --runs times; print medians (vmlinux vs bzImage)',
    text: 'Exit status 1 if a kernel has no measured boot on one of the paths.',
  },
  fuzz: {
    synopsis: 'mmaplab fuzz [options]',
    summary: 'seeded random ioctl/mmap sequences (allow_hazards=0); minimise any complaint',
    text:
      'Prints the seed first, then boots each kernel and runs a random sequence of operations\n' +
      'over a few sessions: open, CONFIGURE (valid and invalid, hazard pairs sent raw: the\n' +
      'module must refuse them with EPERM), mmap (any range, protection, shared or private,\n' +
      'populate; where the kernel chooses, hinted or MAP_FIXED_NOREPLACE at a 4 KiB, 2 MiB\n' +
      'or 1 GiB boundary, MAP_FIXED over a live mapping or part of it), touches in a forked\n' +
      'child, munmap of all or part, mremap, mprotect,\n' +
      'madvise, msync, read/write (also through a mapping), FILL, VERIFY, STATS, INFO,\n' +
      'LAST_ERROR, STORE, FLUSH, SHMEM_PIN, DMABUF (export, sync, map, close), DEVICE_DMA\n' +
      '(buffers of up to two pages), fsync, raw ioctls, close with mappings live; FILL,\n' +
      'VERIFY and msync also on the thread pool while the sequence goes on. Every 200\n' +
      'operations and at the end it reads the kernel log and the taint (O and E masked). The\n' +
      'same seed gives the same operations. A complaint, new taint, or a hazard the module\n' +
      'accepts stops the run; the operations are then replayed in fresh VMs (at most 30) to\n' +
      'confirm it and cut them down to a short sequence that still complains.\n' +
      'Per kernel: operations run, seconds, the count of each outcome, and "clean" or the\n' +
      'complaint with its kernel log and the minimal sequence (also written to\n' +
      'runs/fuzz-<time>/).\n' +
      '\nexit status: 0 when every kernel stayed clean, 1 when one complained (or mmaplab failed),\n' +
      '2 for a usage error.',
  },
  check: {
    synopsis: 'mmaplab check (--kmod DIR | --ko PATH) --device /dev/NAME [options]',
    summary: "run the experiments against your own driver's mmap",
    text:
      'Builds your module for each selected kernel (or takes --ko), boots the kernel, loads the\n' +
      'module (with --param), waits for --device (or makes it from /proc/devices when the\n' +
      'driver registers a char region without a node), runs --setup on every descriptor it\n' +
      'opens, and runs each scenario in turn with its own kernel-log window and taint check: a\n' +
      'shared mapping written and read back by forked children, a second mapping of the same\n' +
      'range, MADV_DONTNEED and a second touch, a private mapping, a mapping at an offset of\n' +
      'one page, munmap of the middle page, the kernel copying out of the mapping and into it,\n' +
      'the kernel pinning its pages (vmsplice), mremap growing it by a page, a mapping one page\n' +
      'past the buffer, a short fuzz of mmap arguments, close before munmap, rmmod while mapped\n' +
      '(must fail), and rmmod with nothing mapped (the driver frees its memory). Each gets a\n' +
      'verdict from what was observed: ok, refused, signal, data-mismatch, unload-allowed,\n' +
      'kernel-complaint, or vm-died; the scenarios after one that broke the kernel run in a\n' +
      'fresh VM. A verdict the scenario does not accept from a correct driver is a finding,\n' +
      "explained by the rule in mmaplab's own results it matches. Prints a table per kernel;\n" +
      'writes report.json, report.md, report.html, junit.xml and report.tap to --out (default\n' +
      'runs/check-<time>).\n' +
      '\nexit status: 0 when no kernel has a finding, 1 when one has (or mmaplab failed), 2 for a\n' +
      'usage error.',
  },
  kernels: {
    synopsis: 'mmaplab kernels',
    summary: 'list installed kernels usable with mmaplab',
    text:
      'One line per kernel: the name --kernel takes (series, then flavour: 6.12-rt, 6.1-slab),\n' +
      'release, where it comes from (installed, built) and its image. Installed kernels\n' +
      'without headers are listed with the package to install. Exit status 1 if none is usable.',
  },
  kernel: {
    synopsis: 'mmaplab kernel build SERIES-PROFILE [options]',
    summary: "build a guest kernel from Debian's source with a debug profile",
    text:
      "Builds SERIES-PROFILE from Debian's linux-source-SERIES package and its amd64\n" +
      'configuration, with every module left out (the guest needs none), no debug info and\n' +
      'the profile on top, then keeps it in the cache (keyed by the source version and the\n' +
      'configuration) for --kernel SERIES-PROFILE. Profiles:\n' +
      BUILD_PROFILES.map((p) => `  ${p.name} (${p.series.join(', ')}):\n    ${p.summary}\n`).join('') +
      'A build that is cached already is not repeated.\n' +
      '\nexit status: 0 when the kernel is built (or was), 1 when the build failed, 2 for a\n' +
      'usage error.',
  },
  'build-kmod': {
    synopsis: 'mmaplab build-kmod [options]',
    summary: 'build mmaplab.ko for the selected kernels',
    text: 'Builds (or finds up to date) the module for each selected kernel.',
  },
  shell: {
    synopsis: 'mmaplab shell [--kernel KERNEL] [--gdb PORT] [options]',
    summary: 'boot a kernel with mmaplab.ko loaded and a shell in the guest',
    text:
      'Boots one kernel (default: the newest 6.12) cold in QEMU with mmaplab.ko loaded\n' +
      '(allow_hazards=1: the VM is disposable) and gives the guest shell on this terminal.\n' +
      "The guest's root is this machine's own, read-only under a tmpfs, with the checkout\n" +
      'as the current directory. Ctrl-A c switches to the QEMU monitor, Ctrl-A x quits;\n' +
      'leaving the shell powers the guest off. The run directory keeps the QEMU command line.\n' +
      '\nexit status: 0 when the guest powered off, 1 when QEMU failed, 2 for a usage error.',
  },
  version: {
    synopsis: 'mmaplab version (or mmaplab --version)',
    summary: "print mmaplab's version",
    text: 'The version of the package, as package.json has it.',
  },
  help: {
    synopsis: 'mmaplab help [COMMAND]',
    summary: 'this overview, or the options of one command',
    text: '`mmaplab COMMAND --help` is the same as `mmaplab help COMMAND`.',
  },
};

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The options block of one command: each option with its value and help. */
export function optionLines(command: Command): string[] {
  const specs = OPTIONS.filter((o) => o.commands.includes(command));
  const label = (o: (typeof specs)[number]): string =>
    `${o.name}${o.alias !== undefined ? `, ${o.alias}` : ''}${o.value !== undefined ? ` ${o.value}` : ''}`;
  const col = Math.min(28, Math.max(...specs.map((o) => label(o).length)) + 2);
  const out: string[] = [];
  for (const o of specs) {
    const l = label(o);
    const text = wrap(typeof o.help === 'string' ? o.help : o.help(command), 88 - col - 2);
    const first = l.length + 2 <= col ? `  ${l.padEnd(col)}${text[0] ?? ''}` : `  ${l}`;
    out.push(first.trimEnd());
    for (const t of l.length + 2 <= col ? text.slice(1) : text) out.push(`  ${' '.repeat(col)}${t}`);
  }
  return out;
}

export function commandHelp(command: Command): string {
  const d = COMMAND_DOCS[command];
  return [`usage: ${d.synopsis}`, '', d.summary, '', d.text, '', 'options:', ...optionLines(command), ''].join('\n');
}

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.length)) + 2;
  return [
    "mmaplab — which ways of mmap'ing driver memory work, on real kernels",
    '',
    'usage: mmaplab <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.padEnd(width)}${COMMAND_DOCS[c].summary}`),
    '',
    'Run "mmaplab help COMMAND" (or "mmaplab COMMAND --help") for its options.',
    'A usage error exits with status 2.',
    '',
  ].join('\n');
}

export function helpText(topic: Command | null): string {
  return topic === null || topic === 'help' ? overview() : commandHelp(topic);
}
