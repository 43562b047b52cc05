/**
 * lib/cli/args: every command and option in both spellings, the defaults,
 * which options go with which command, and the usage errors (code EUSAGE,
 * exit status 2) for everything the parser must not guess about.
 */
import { strict as assert } from 'node:assert';
import { MmaplabError } from '../../lib/util/errors';
import {
  COMMANDS,
  OPTIONS,
  defaultOptions,
  parseArgs,
  parseShard,
  parseSize,
  suggestOption,
  type CliOptions,
  type Command,
} from '../../lib/cli/args';
import { exitStatusOf } from '../../lib/cli';
import { at } from '../../lib/util/at';

function usageError(argv: readonly string[]): MmaplabError {
  try {
    parseArgs(argv);
  } catch (err) {
    assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
    assert.equal(err.code, 'EUSAGE');
    assert.match(err.message, /\n\(run "mmaplab help( [a-z-]+)?" for (usage|its options)\)$/, err.message);
    assert.equal(exitStatusOf(err), 2);
    return err;
  }
  assert.fail(`parseArgs(${JSON.stringify(argv)}) should have failed`);
}

const first = (err: MmaplabError): string => at(err.message.split('\n'), 0, 'the first line');

/** The words each command needs to parse at all. */
const NEEDS: Record<Command, string[]> = {
  matrix: [],
  run: ['vmalloc_user/remap_vmalloc_range/16K/basic'],
  classify: ['-'],
  merge: ['a.json'],
  report: ['runs/x'],
  findings: ['docs/runs/x/report.json.gz'],
  'test-guest': [],
  bench: [],
  'bench-boot': [],
  fuzz: [],
  check: [],
  files: [],
  kernels: [],
  kernel: ['build', '6.1-slab'],
  version: [],
  shell: [],
  'build-kmod': [],
  help: [],
};

describe('command line', () => {
  it('no arguments means help (the overview), with every default', () => {
    assert.deepEqual(parseArgs([]), defaultOptions());
    assert.equal(parseArgs([]).topic, null);
  });

  it('a command alone keeps every default', () => {
    assert.deepEqual(parseArgs(['matrix']), { ...defaultOptions(), command: 'matrix' });
  });

  it('the defaults: tcg, hazards yes, one round, no shard, no --out, failing on disagreement', () => {
    const d = defaultOptions();
    assert.equal(d.accel, 'auto');
    assert.equal(d.hazards, 'yes');
    assert.equal(d.repeat, 1);
    assert.equal(d.isolate, false);
    assert.equal(d.jobs, 1);
    assert.equal(d.shard, null);
    assert.equal(d.out, null);
    assert.equal(d.noFail, false);
    assert.equal(d.failOnFindings, false);
    assert.equal(d.timeoutSec, 300);
  });

  it('--target qemu|host and --allow-hazards (matrix, run and check)', () => {
    assert.equal(defaultOptions().target, 'qemu');
    for (const argv of [['matrix'], ['run', 'x'], ['check']]) {
      const o = parseArgs([...argv, '--target', 'host', '--allow-hazards']);
      assert.deepEqual([o.target, o.allowHazards], ['host', true], argv[0]);
    }
    assert.throws(
      () => parseArgs(['matrix', '--target', 'lab']),
      (e: MmaplabError) => e.code === 'EUSAGE',
    );
    assert.throws(
      () => parseArgs(['files', '--allow-hazards']),
      (e: MmaplabError) => e.code === 'EUSAGE',
    );
  });

  for (const command of COMMANDS) {
    it(`"${command}" is a command`, () => {
      const o = parseArgs([command, ...NEEDS[command]]);
      assert.equal(o.command, command);
      assert.deepEqual(o.args, command === 'help' ? [] : NEEDS[command]);
    });
  }

  describe('help', () => {
    it('--help and -h ask for help about the command they stand with', () => {
      assert.deepEqual([parseArgs(['--help']).command, parseArgs(['--help']).topic], ['help', null]);
      assert.deepEqual([parseArgs(['-h']).command, parseArgs(['-h']).topic], ['help', null]);
      for (const c of COMMANDS) {
        const o = parseArgs([c, '--help']);
        assert.equal(o.command, 'help');
        assert.equal(o.topic, c === 'help' ? null : c);
      }
      assert.equal(parseArgs(['--help', 'matrix']).topic, 'matrix');
    });

    it('"help COMMAND" is the help of that command', () => {
      for (const c of COMMANDS) assert.equal(parseArgs(['help', c]).topic, c);
    });

    it("--help needs none of the command's words and accepts any option", () => {
      assert.equal(parseArgs(['run', '--help']).topic, 'run');
      assert.equal(parseArgs(['merge', '-h']).topic, 'merge');
      assert.equal(parseArgs(['kernels', '--repeat', '3', '--help']).topic, 'kernels');
    });

    it('help about an unknown command, or about two, is a usage error', () => {
      assert.equal(first(usageError(['help', 'matrx'])), `unknown command "matrx"; commands: ${COMMANDS.join(', ')}`);
      assert.equal(first(usageError(['help', 'matrix', 'run'])), 'unexpected argument "run"');
    });
  });

  it('the command may come after the options', () => {
    const o = parseArgs(['--accel', 'kvm', '--cell', 'vmalloc', 'matrix']);
    assert.equal(o.command, 'matrix');
    assert.equal(o.accel, 'kvm');
    assert.deepEqual(o.cells, ['vmalloc']);
  });

  const valued: Array<[Command, string, string, (o: CliOptions) => unknown, unknown]> = [
    ['matrix', '--kernel', '6.1.0-56-amd64', (o) => o.kernels.releases, ['6.1.0-56-amd64']],
    ['matrix', '--kernel', '6.1', (o) => o.kernels.releases, ['6.1']],
    ['matrix', '--accel', 'auto', (o) => o.accel, 'auto'],
    ['matrix', '--cell', 'pages_nocomp', (o) => o.cells, ['pages_nocomp']],
    ['matrix', '--alloc', 'vmalloc_user', (o) => o.allocs, ['vmalloc_user']],
    ['matrix', '--method', 'fault_page', (o) => o.methods, ['fault_page']],
    ['matrix', '--scenario', 'write-first', (o) => o.scenarios, ['write-first']],
    ['matrix', '--size', '16K', (o) => o.sizes, [16384]],
    ['matrix', '--hazards', 'only', (o) => o.hazards, 'only'],
    ['matrix', '--profile', 'poison', (o) => o.profiles, ['poison']],
    ['matrix', '--repeat', '3', (o) => o.repeat, 3],
    ['matrix', '--shard', '2/4', (o) => o.shard, { index: 2, count: 4 }],
    ['matrix', '--out', '/tmp/m1', (o) => o.out, '/tmp/m1'],
    ['merge', '--out', 'out/merged', (o) => o.out, 'out/merged'],
    ['matrix', '--timeout', '45', (o) => o.timeoutSec, 45],
    ['run', '--timeout', '45', (o) => o.timeoutSec, 45],
    ['run', '--kernel', '6.12.117+deb12-amd64', (o) => o.kernels.releases, ['6.12.117+deb12-amd64']],
    ['bench-boot', '--runs', '9', (o) => o.runs, 9],
    ['bench', '--runs', '2', (o) => o.runs, 2],
    ['bench', '--reps', '7', (o) => o.reps, 7],
    ['bench', '--size', '2M', (o) => o.sizes, [2 * 1024 * 1024]],
    ['bench', '--harness', 'no', (o) => o.harness, false],
    ['bench', '--out', 'out/b', (o) => o.out, 'out/b'],
    ['matrix', '--json', 'out/results.json', (o) => o.json, 'out/results.json'],
    ['fuzz', '--ops', '2500', (o) => o.fuzzOps, 2500],
    ['fuzz', '--seconds', '90', (o) => o.fuzzSeconds, 90],
    ['fuzz', '--seed', '4294967295', (o) => o.seed, 4294967295],
    ['fuzz', '--kernel', '6.1.0-56-amd64', (o) => o.kernels.releases, ['6.1.0-56-amd64']],
    ['fuzz', '--timeout', '120', (o) => o.timeoutSec, 120],
  ];
  for (const [command, opt, value, get, expected] of valued) {
    it(`${command}: ${opt} ${value} and ${opt}=${value} mean the same`, () => {
      const words = [command, ...NEEDS[command]];
      assert.deepEqual(get(parseArgs([...words, opt, value])), expected);
      assert.deepEqual(get(parseArgs([...words, `${opt}=${value}`])), expected);
    });
  }

  const flags: Array<[Command, string, (o: CliOptions) => unknown]> = [
    ['matrix', '--isolate', (o) => o.isolate],
    ['matrix', '--no-fail', (o) => o.noFail],
    ['run', '--no-fail', (o) => o.noFail],
    ['merge', '--no-fail', (o) => o.noFail],
    ['classify', '--fail-on-findings', (o) => o.failOnFindings],
    ['bench', '--quick', (o) => o.quick],
    ['bench', '--matrix-time', (o) => o.matrixTime],
    ['classify', '--verbose', (o) => o.verbose],
    ['matrix', '--verbose', (o) => o.verbose],
    ['test-guest', '-v', (o) => o.verbose],
    ['test-guest', '--long', (o) => o.long],
  ];
  for (const [command, flag, get] of flags) {
    it(`${command}: ${flag} turns its setting on`, () => {
      assert.equal(get(parseArgs([command, ...NEEDS[command], flag])), true);
    });
  }

  it('--opt=value keeps everything after the first "=" in the value', () => {
    assert.equal(parseArgs(['matrix', '--json=a=b.json']).json, 'a=b.json');
    assert.deepEqual(parseArgs(['matrix', '--cell=size=16K']).cells, ['size=16K']);
  });

  it('repeatable options keep every value in order; filters of one kind are alternatives', () => {
    const o = parseArgs([
      'matrix',
      '--kernel',
      '6.12.117+deb12-amd64',
      '--cell=vmalloc_user',
      '--kernel=6.1.0-56-amd64',
      '--cell',
      'pages_nocomp/fault_page',
      '--alloc',
      'kmalloc',
      '--alloc=pages_comp',
      '--method',
      'fault_page',
      '--method',
      'remap_pfn_range',
      '--scenario',
      'basic',
      '--scenario',
      'free-while-mapped',
      '--size',
      '4K',
      '--size',
      '64k',
      '--profile',
      'default',
      '--profile',
      'poison',
    ]);
    assert.deepEqual(o.kernels.releases, ['6.12.117+deb12-amd64', '6.1.0-56-amd64']);
    assert.deepEqual(o.cells, ['vmalloc_user', 'pages_nocomp/fault_page']);
    assert.deepEqual(o.allocs, ['kmalloc', 'pages_comp']);
    assert.deepEqual(o.methods, ['fault_page', 'remap_pfn_range']);
    assert.deepEqual(o.scenarios, ['basic', 'free-while-mapped']);
    assert.deepEqual(o.sizes, [4096, 65536]);
    assert.deepEqual(o.profiles, ['default', 'poison']);
  });

  it('a later single-valued option wins', () => {
    assert.equal(parseArgs(['matrix', '--hazards', 'no', '--hazards', 'only']).hazards, 'only');
    assert.deepEqual(parseArgs(['matrix', '--shard', '1/2', '--shard', '3/3']).shard, { index: 3, count: 3 });
  });

  describe('values checked against what exists', () => {
    it('--alloc, --method, --scenario and --profile take only values some cell has', () => {
      assert.equal(
        first(usageError(['matrix', '--alloc', 'kzalloc'])),
        '--alloc is one of kmalloc, vmalloc, vmalloc_user, pages_array, pages_comp, pages_split, pages_nocomp, dma_coherent, pci_bar, dma_device, shmem, dma_pages; got "kzalloc"',
      );
      assert.match(first(usageError(['matrix', '--method', 'mmap'])), /^--method is one of remap_pfn_range, .*; got "mmap"$/);
      assert.match(
        first(usageError(['matrix', '--scenario', 'read-first'])),
        /^--scenario is one of basic, write-first, .*; got "read-first"$/,
      );
      assert.match(first(usageError(['matrix', '--profile', 'debug'])), /^--profile is one of default, poison; got "debug"$/);
    });

    it('--hazards is yes, no or only; --accel is auto, tcg or kvm', () => {
      for (const h of ['yes', 'no', 'only'] as const) assert.equal(parseArgs(['matrix', '--hazards', h]).hazards, h);
      assert.equal(first(usageError(['matrix', '--hazards', 'maybe'])), '--hazards is one of yes, no, only; got "maybe"');
      for (const a of ['auto', 'tcg', 'kvm'] as const) assert.equal(parseArgs(['--accel', a, 'matrix']).accel, a);
      for (const bad of ['KVM', 'hvf', 'xen']) {
        assert.equal(first(usageError(['matrix', '--accel', bad])), `--accel is one of auto, tcg, kvm; got "${bad}"`);
      }
    });

    it('--size takes bytes or a K/M size; anything else is a usage error', () => {
      for (const bad of ['16Q', '0', '0K', 'K', '1.5K', '16 K', 'big']) {
        const err = usageError(['matrix', `--size=${bad}`]);
        assert.equal(first(err), `--size is a size such as 16K, 1M or 4096, got "${bad}"`);
      }
    });

    it('--shard is i/n with 1 <= i <= n', () => {
      for (const bad of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '1-2', '/2', '2/']) {
        assert.equal(first(usageError(['matrix', `--shard=${bad}`])), `--shard is i/n with 1 <= i <= n, got "${bad}"`);
      }
    });
  });

  it('--kernel-image with --kernel-build (and --kernel-modules) describe a self-built kernel', () => {
    assert.deepEqual(parseArgs(['matrix', '--kernel-image', '/k/bzImage', '--kernel-build=/k']).kernels, {
      releases: [],
      paths: [{ image: '/k/bzImage', buildDir: '/k' }],
    });
    assert.deepEqual(
      parseArgs(['matrix', '--kernel-modules', '/k/mods', '--kernel-build', '/k', '--kernel-image', '/k/bzImage']).kernels.paths,
      [{ image: '/k/bzImage', buildDir: '/k', modulesDir: '/k/mods' }],
    );
  });

  it('several self-built kernels can be given; each image pairs with the build dir of the same rank', () => {
    const o = parseArgs([
      'build-kmod',
      '--kernel-image',
      '/a/bzImage',
      '--kernel-build',
      '/a/build',
      '--kernel-build',
      '/b/build',
      '--kernel-image',
      '/b/bzImage',
      '--kernel-modules',
      '/a/mods',
    ]);
    assert.deepEqual(o.kernels.paths, [
      { image: '/a/bzImage', buildDir: '/a/build', modulesDir: '/a/mods' },
      { image: '/b/bzImage', buildDir: '/b/build' },
    ]);
  });

  it('an incomplete self-built kernel is a usage error', () => {
    assert.match(first(usageError(['matrix', '--kernel-image', '/k/bzImage'])), /needs both --kernel-image and --kernel-build/);
    assert.match(first(usageError(['matrix', '--kernel-build', '/k'])), /needs both --kernel-image and --kernel-build/);
    assert.match(first(usageError(['matrix', '--kernel-modules', '/k/mods'])), /--kernel-modules goes with --kernel-image/);
  });

  it('an empty value is a missing value, not "match everything"', () => {
    for (const opt of ['--kernel', '--cell', '--json', '--accel', '--alloc', '--size', '--out', '--shard']) {
      assert.equal(first(usageError(['matrix', `${opt}=`])), `${opt} needs a value`);
      assert.equal(first(usageError(['matrix', opt, ''])), `${opt} needs a value`);
    }
  });

  it('an option that needs a value fails without one, or when the next argument is an option', () => {
    for (const o of OPTIONS.filter((x) => x.value !== undefined)) {
      const command = at(o.commands, 0, `the first command of ${o.name}`);
      assert.equal(first(usageError([command, ...NEEDS[command], o.name])), `${o.name} needs a value`, o.name);
      assert.equal(first(usageError([o.name, '--verbose', command])), `${o.name} needs a value`, o.name);
    }
  });

  const limits: Array<[Command, string, number, (o: CliOptions) => number]> = [
    ['matrix', '--timeout', 86_400, (o) => o.timeoutSec],
    ['matrix', '--repeat', 1000, (o) => o.repeat],
    ['bench-boot', '--runs', 1000, (o) => o.runs ?? 0],
    ['bench', '--reps', 1000, (o) => o.reps ?? 0],
  ];
  for (const [command, opt, max, get] of limits) {
    it(`${opt} takes a whole number from 1 to ${max}`, () => {
      assert.equal(get(parseArgs([command, opt, '1'])), 1);
      assert.equal(get(parseArgs([command, `${opt}=${max}`])), max);
      for (const bad of ['0', '-1', 'abc', String(max + 1), '1.5', '1e3', ' 2', '0x10', '99999999999999999999']) {
        assert.equal(first(usageError([command, `${opt}=${bad}`])), `${opt} needs a whole number from 1 to ${max}, got "${bad}"`);
      }
      // As a separate argument "-1" is not an option, so it is taken as the value and rejected.
      assert.match(first(usageError([command, opt, '-1'])), /got "-1"/);
    });
  }

  describe('options belong to commands', () => {
    it('every option is accepted by each of its commands and refused by the others', () => {
      for (const o of OPTIONS) {
        for (const c of COMMANDS) {
          // A self-built kernel is always a pair (or a triple).
          const given = o.name.startsWith('--kernel-')
            ? ['--kernel-image=/k/bzImage', '--kernel-build=/k', ...(o.name === '--kernel-modules' ? ['--kernel-modules=/m'] : [])]
            : [o.value === undefined ? o.name : `${o.name}=${sampleValue(o.name)}`];
          const argv = [c, ...NEEDS[c], ...given];
          if (o.commands.includes(c)) {
            assert.doesNotThrow(() => parseArgs(argv), `${c} ${o.name}`);
          } else {
            const err = usageError(argv);
            const named = o.name.startsWith('--kernel-') ? '--kernel-image' : o.name;
            assert.match(first(err), new RegExp(`^${named} is not an option of ${c} \\(it goes with `), `${c} ${o.name}`);
            assert.ok(
              err.message.endsWith(`(run "mmaplab help${c === 'help' ? '' : ` ${c}`}" for ${c === 'help' ? 'usage' : 'its options'})`),
            );
          }
        }
      }
    });

    it('--kernel does not apply to kernels, classify, merge or report', () => {
      for (const c of ['kernels', 'classify', 'merge', 'report'] as const) {
        assert.match(first(usageError([c, ...NEEDS[c], '--kernel', 'x'])), /^--kernel is not an option of/);
      }
    });
  });

  describe('unknown options', () => {
    it('are usage errors naming the option, with the closest option of the command as a hint', () => {
      assert.equal(first(usageError(['matrix', '--kernels', 'x'])), 'unknown option --kernels (did you mean --kernel?)');
      assert.equal(first(usageError(['matrix', '--isolated'])), 'unknown option --isolated (did you mean --isolate?)');
      assert.equal(first(usageError(['matrix', '--nofail'])), 'unknown option --nofail (did you mean --no-fail?)');
      assert.equal(first(usageError(['-x'])), 'unknown option -x');
      assert.equal(first(usageError(['--qwerty=1'])), 'unknown option --qwerty');
    });

    it('point at the command that has a near option when this one has none', () => {
      assert.equal(
        first(usageError(['classify', '-', '--fail-on-finding'])),
        'unknown option --fail-on-finding (did you mean --fail-on-findings?)',
      );
      assert.equal(first(usageError(['kernels', '--rnus'])), 'unknown option --rnus (--runs is an option of bench-boot, bench)');
    });

    it('the hint names the help of the command given', () => {
      assert.ok(usageError(['matrix', '--bogus']).message.endsWith('\n(run "mmaplab help matrix" for its options)'));
      assert.ok(usageError(['--bogus']).message.endsWith('\n(run "mmaplab help" for usage)'));
      assert.ok(usageError(['--bogus', 'run', 'x']).message.endsWith('\n(run "mmaplab help run" for its options)'));
    });

    it('the old --allocator and --technique are usage errors naming --alloc and --method', () => {
      assert.equal(
        first(usageError(['matrix', '--allocator', 'kmalloc'])),
        "--allocator is now --alloc, in the uapi header's words (alloc and method)",
      );
      assert.equal(
        first(usageError(['matrix', '--technique=fault_page'])),
        "--technique is now --method, in the uapi header's words (alloc and method)",
      );
    });

    it('suggestOption finds close names only', () => {
      assert.equal(suggestOption('--metod', 'matrix'), '--method');
      assert.equal(suggestOption('--allocs', 'matrix'), '--alloc');
      assert.equal(suggestOption('--zzzzzzzz', 'matrix'), null);
      assert.equal(suggestOption('--runs', 'matrix'), null, 'an option of another command is not suggested for this one');
    });
  });

  it('a flag rejects a value given with "="', () => {
    assert.equal(first(usageError(['matrix', '--verbose=no'])), '--verbose takes no value');
    assert.equal(first(usageError(['matrix', '--isolate=1'])), '--isolate takes no value');
    assert.equal(first(usageError(['--help=matrix'])), '--help takes no value');
  });

  describe('words after the command', () => {
    it('run, classify and report take exactly one; merge one or more; the rest none', () => {
      assert.equal(first(usageError(['run'])), 'run needs a cell id, e.g. pages_nocomp/fault_page/16K/basic');
      assert.equal(first(usageError(['classify'])), 'classify needs a log file, or - for standard input');
      assert.equal(first(usageError(['report'])), 'report needs a report directory (with report.json)');
      assert.equal(first(usageError(['merge'])), 'merge needs one or more report.json files');
      assert.equal(first(usageError(['run', 'a', 'b'])), 'unexpected argument "b"');
      assert.equal(first(usageError(['report', 'a', 'b'])), 'unexpected argument "b"');
      assert.deepEqual(parseArgs(['merge', 'a.json', 'b.json', 'c.json']).args, ['a.json', 'b.json', 'c.json']);
      assert.equal(first(usageError(['matrix', 'kernels'])), 'unexpected argument "kernels"');
      assert.equal(first(usageError(['matrix', '6.1.0-56-amd64'])), 'unexpected argument "6.1.0-56-amd64"');
    });

    it('"-" is standard input for classify, not an option', () => {
      assert.deepEqual(parseArgs(['classify', '-']).args, ['-']);
    });

    it('words after "--" are never options', () => {
      assert.deepEqual(parseArgs(['classify', '--', '--odd-file-name']).args, ['--odd-file-name']);
    });

    it('options may stand between the words', () => {
      const o = parseArgs(['merge', 'a.json', '--out', 'o', 'b.json', '--no-fail']);
      assert.deepEqual(o.args, ['a.json', 'b.json']);
      assert.equal(o.out, 'o');
      assert.equal(o.noFail, true);
      assert.deepEqual(parseArgs(['run', '--kernel', 'k', 'kmalloc/fault_page/4K/basic']).args, ['kmalloc/fault_page/4K/basic']);
    });
  });

  it('an unknown command is a usage error listing the commands', () => {
    assert.equal(first(usageError(['matrx'])), `unknown command "matrx"; commands: ${COMMANDS.join(', ')}`);
  });

  it('parseArgs does not share state between calls', () => {
    parseArgs(['matrix', '--kernel', 'a', '--cell', 'b', '--alloc', 'kmalloc', '--size', '4K']);
    assert.deepEqual(parseArgs(['matrix']), { ...defaultOptions(), command: 'matrix' });
  });
});

describe('size and shard syntax', () => {
  it('parseSize: bytes, K and M (any case, with or without B/iB)', () => {
    const cases: Array<[string, number]> = [
      ['4096', 4096],
      ['512B', 512],
      ['4K', 4096],
      ['16k', 16384],
      ['16KB', 16384],
      ['16KiB', 16384],
      ['64K', 65536],
      ['1M', 1048576],
      ['2m', 2097152],
      ['2MiB', 2097152],
    ];
    for (const [text, n] of cases) assert.equal(parseSize(text), n, text);
    for (const bad of ['', '0', '0K', 'K', '1G', '1.5M', '-1', ' 4K', '4K ', '4 K', '4KK', '0x10']) {
      assert.equal(parseSize(bad), null, JSON.stringify(bad));
    }
  });

  describe('fuzz', () => {
    it('defaults: no seed (from the clock), no operation or time limit given', () => {
      const o = parseArgs(['fuzz']);
      assert.deepEqual([o.command, o.seed, o.fuzzOps, o.fuzzSeconds], ['fuzz', null, null, null]);
    });

    it('takes --ops, --seconds and --seed together, and the VM options', () => {
      const o = parseArgs(['fuzz', '--ops', '100000', '--seconds', '600', '--seed', '0', '--accel', 'tcg', '-v']);
      assert.deepEqual([o.fuzzOps, o.fuzzSeconds, o.seed, o.accel, o.verbose], [100000, 600, 0, 'tcg', true]);
    });

    it('a seed is a whole number below 2^32', () => {
      for (const bad of ['4294967296', '-1', '1.5', 'abc', '0x10', '']) {
        assert.match(first(usageError(['fuzz', '--seed', bad])), /--seed (needs a whole number from 0 to 4294967295|needs a value)/, bad);
      }
    });

    it('--ops and --seconds are whole numbers from 1', () => {
      assert.match(first(usageError(['fuzz', '--ops', '0'])), /^--ops needs a whole number from 1/);
      assert.match(first(usageError(['fuzz', '--seconds', '2.5'])), /^--seconds needs a whole number from 1/);
    });

    it('its options belong to it alone, and it takes no words', () => {
      assert.match(first(usageError(['matrix', '--seed', '3'])), /^--seed is not an option of matrix \(it goes with fuzz\)$/);
      assert.match(first(usageError(['run', 'x', '--ops', '3'])), /^--ops is not an option of run/);
      assert.match(first(usageError(['fuzz', '--cell', 'x'])), /^--cell is not an option of fuzz/);
      assert.equal(first(usageError(['fuzz', 'extra'])), 'unexpected argument "extra"');
    });
  });

  it('parseShard: i/n with 1 <= i <= n', () => {
    assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
    assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
    for (const bad of ['0/1', '2/1', '1/0', '1', '', 'x/y', '1/2/3', '+1/2', '1/10001']) {
      assert.equal(parseShard(bad), null, bad);
    }
  });
});

function sampleValue(name: string): string {
  const samples: Record<string, string> = {
    '--accel': 'tcg',
    '--alloc': 'kmalloc',
    '--method': 'fault_page',
    '--scenario': 'basic',
    '--use': 'vmsplice',
    '--uses': 'only',
    '--use-pairs': 'all',
    '--size': '16K',
    '--device': '/dev/mydrv',
    '--param': 'buffers=2',
    '--minor': '1',
    '--gdb': '1234',
    '--hazards': 'no',
    '--target': 'host',
    '--profile': 'default',
    '--repeat': '2',
    '--jobs': '2',
    '--files': 'no',
    '--shard': '1/2',
    '--runs': '2',
    '--reps': '3',
    '--harness': 'no',
    '--timeout': '60',
    '--ops': '10',
    '--seconds': '5',
    '--seed': '7',
  };
  return samples[name] ?? 'x';
}
