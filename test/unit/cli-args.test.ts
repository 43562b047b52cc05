/**
 * lib/cli/args: every option in both spellings, the defaults, and the usage
 * errors (code EUSAGE) for everything the parser must not guess about.
 */
import { strict as assert } from 'node:assert';
import { MmaplabError } from '../../lib/util/errors';
import { COMMANDS, USAGE, parseArgs, type CliOptions } from '../../lib/cli/args';

function usageError(argv: readonly string[]): MmaplabError {
  try {
    parseArgs(argv);
  } catch (err) {
    assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
    assert.equal(err.code, 'EUSAGE');
    assert.ok(err.message.endsWith('\n(run "mmaplab help" for usage)'), err.message);
    return err;
  }
  assert.fail(`parseArgs(${JSON.stringify(argv)}) should have failed`);
}

const DEFAULTS: CliOptions = {
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

describe('command line', () => {
  it('no arguments means help, with every default', () => {
    assert.deepEqual(parseArgs([]), DEFAULTS);
  });

  it('a command alone keeps every default', () => {
    assert.deepEqual(parseArgs(['matrix']), { ...DEFAULTS, command: 'matrix' });
  });

  for (const command of COMMANDS) {
    it(`"${command}" is a command`, () => {
      assert.equal(parseArgs([command]).command, command);
    });
  }

  it('--help and -h ask for help', () => {
    assert.equal(parseArgs(['--help']).command, 'help');
    assert.equal(parseArgs(['-h']).command, 'help');
    assert.equal(parseArgs(['matrix', '--help']).command, 'help');
  });

  it('the command may come after the options', () => {
    const o = parseArgs(['--accel', 'kvm', '--cell', 'vmalloc', 'matrix']);
    assert.equal(o.command, 'matrix');
    assert.equal(o.accel, 'kvm');
  });

  const valued: Array<[string, string, (o: CliOptions) => unknown, unknown]> = [
    ['--kernel', '6.1.0-56-amd64', (o) => o.kernels.releases, ['6.1.0-56-amd64']],
    ['--accel', 'auto', (o) => o.accel, 'auto'],
    ['--cell', 'pages_nocomp', (o) => o.cells, ['pages_nocomp']],
    ['--timeout', '45', (o) => o.timeoutSec, 45],
    ['--repeat', '3', (o) => o.repeat, 3],
    ['--runs', '9', (o) => o.runs, 9],
    ['--json', 'out/results.json', (o) => o.json, 'out/results.json'],
  ];
  for (const [opt, value, get, expected] of valued) {
    it(`${opt} ${value} and ${opt}=${value} mean the same`, () => {
      assert.deepEqual(get(parseArgs(['matrix', opt, value])), expected);
      assert.deepEqual(get(parseArgs(['matrix', `${opt}=${value}`])), expected);
    });
  }

  it('--opt=value keeps everything after the first "=" in the value', () => {
    assert.equal(parseArgs(['--json=a=b.json']).json, 'a=b.json');
    assert.deepEqual(parseArgs(['--cell=size=16K']).cells, ['size=16K']);
  });

  it('--verbose and -v turn on verbose output', () => {
    assert.equal(parseArgs(['matrix', '--verbose']).verbose, true);
    assert.equal(parseArgs(['matrix', '-v']).verbose, true);
  });

  it('--kernel and --cell are repeatable and keep their order', () => {
    const o = parseArgs([
      'matrix',
      '--kernel',
      '6.12.117+deb12-amd64',
      '--cell=vmalloc_user',
      '--kernel=6.1.0-56-amd64',
      '--cell',
      'pages_nocomp/fault_page',
    ]);
    assert.deepEqual(o.kernels.releases, ['6.12.117+deb12-amd64', '6.1.0-56-amd64']);
    assert.deepEqual(o.cells, ['vmalloc_user', 'pages_nocomp/fault_page']);
  });

  it('--kernel-image with --kernel-build (and --kernel-modules) describe a self-built kernel', () => {
    assert.deepEqual(parseArgs(['matrix', '--kernel-image', '/k/bzImage', '--kernel-build=/k']).kernels, {
      releases: [],
      paths: [{ image: '/k/bzImage', buildDir: '/k' }],
    });
    assert.deepEqual(
      parseArgs(['matrix', '--kernel-modules', '/k/mods', '--kernel-build', '/k', '--kernel-image', '/k/bzImage'])
        .kernels.paths,
      [{ image: '/k/bzImage', buildDir: '/k', modulesDir: '/k/mods' }],
    );
    const both = parseArgs(['matrix', '--kernel', '6.1.0-56-amd64', '--kernel-image', '/k/bzImage', '--kernel-build', '/k']);
    assert.deepEqual(both.kernels.releases, ['6.1.0-56-amd64']);
    assert.equal(both.kernels.paths.length, 1);
  });

  it('--kernel-image without --kernel-build, or the reverse, is a usage error', () => {
    assert.match(usageError(['matrix', '--kernel-image', '/k/bzImage']).message, /needs both --kernel-image and --kernel-build/);
    assert.match(usageError(['matrix', '--kernel-build', '/k']).message, /needs both --kernel-image and --kernel-build/);
  });

  it('--kernel-modules alone is a usage error', () => {
    assert.match(usageError(['matrix', '--kernel-modules', '/k/mods']).message, /--kernel-modules goes with --kernel-image/);
  });

  it('--accel accepts auto, tcg and kvm only', () => {
    for (const a of ['auto', 'tcg', 'kvm'] as const) assert.equal(parseArgs(['--accel', a]).accel, a);
    for (const bad of ['KVM', 'hvf', 'xen']) {
      assert.match(usageError(['--accel', bad]).message, new RegExp(`--accel is auto, tcg or kvm, got "${bad}"`));
    }
    assert.match(usageError(['--accel=whpx']).message, /got "whpx"/);
  });

  it('an empty value (--kernel=, --cell=, --json=) is a missing value, not "match everything"', () => {
    for (const opt of ['--kernel', '--cell', '--json', '--accel']) {
      assert.equal(usageError([`${opt}=`]).message.split('\n')[0], `${opt} needs a value`);
      assert.equal(usageError([opt, '']).message.split('\n')[0], `${opt} needs a value`);
    }
  });

  it('a dash word after a value option is the next option, so the value is missing', () => {
    assert.equal(usageError(['--kernel', '-v']).message.split('\n')[0], '--kernel needs a value');
  });

  it('--help shows help wherever it stands', () => {
    assert.equal(parseArgs(['--help', 'matrix']).command, 'help');
    assert.equal(parseArgs(['matrix', '--help']).command, 'help');
  });

  it('several self-built kernels can be given; each image pairs with the build dir of the same rank', () => {
    const o = parseArgs([
      '--kernel-image', '/a/bzImage', '--kernel-build', '/a/build',
      '--kernel-build', '/b/build', '--kernel-image', '/b/bzImage', '--kernel-modules', '/a/mods',
    ]);
    assert.deepEqual(o.kernels.paths, [
      { image: '/a/bzImage', buildDir: '/a/build', modulesDir: '/a/mods' },
      { image: '/b/bzImage', buildDir: '/b/build' },
    ]);
  });

  const limits: Array<[string, number, (o: CliOptions) => number]> = [
    ['--timeout', 86_400, (o) => o.timeoutSec],
    ['--repeat', 1000, (o) => o.repeat],
    ['--runs', 1000, (o) => o.runs],
  ];
  for (const [opt, max, get] of limits) {
    it(`${opt} takes a whole number from 1 to ${max}`, () => {
      assert.equal(get(parseArgs([opt, '1'])), 1);
      assert.equal(get(parseArgs([`${opt}=${max}`])), max);
      for (const bad of ['0', '-1', 'abc', String(max + 1), '1.5', '1e3', ' 2', '0x10', '99999999999999999999']) {
        const err = usageError([`${opt}=${bad}`]);
        assert.equal(err.message.split('\n')[0], `${opt} needs a whole number from 1 to ${max}, got "${bad}"`);
      }
      // As a separate argument "-1" is not an option, so it is taken as the value and rejected.
      assert.match(usageError([opt, '-1']).message, /got "-1"/);
      assert.equal(usageError([`${opt}=`]).message.split('\n')[0], `${opt} needs a value`);
    });
  }

  it('an option that needs a value fails without one, or when the next argument is an option', () => {
    const valueOptions = ['--kernel', '--kernel-image', '--kernel-build', '--kernel-modules', '--accel'];
    valueOptions.push('--cell', '--timeout', '--repeat', '--runs', '--json');
    for (const opt of valueOptions) {
      assert.equal(usageError(['matrix', opt]).message.split('\n')[0], `${opt} needs a value`);
      assert.equal(usageError([opt, '--verbose', 'matrix']).message.split('\n')[0], `${opt} needs a value`);
    }
  });

  it('an unknown option is a usage error naming it', () => {
    assert.match(usageError(['matrix', '--kernels', 'x']).message, /^unknown option --kernels\n/);
    assert.match(usageError(['-x']).message, /^unknown option -x\n/);
    assert.match(usageError(['--nope=1']).message, /^unknown option --nope\n/);
  });

  it('an option that takes no value rejects one given with "="', () => {
    assert.match(usageError(['matrix', '--verbose=no']).message, /^--verbose takes no value\n/);
    assert.match(usageError(['--help=matrix']).message, /^--help takes no value\n/);
  });

  it('an unknown command is a usage error listing the commands', () => {
    const err = usageError(['matrx']);
    assert.match(err.message, /^unknown command "matrx"; commands: matrix, test-guest, bench-boot, kernels, build-kmod, help\n/);
  });

  it('a second command is a usage error', () => {
    assert.match(usageError(['matrix', 'kernels']).message, /^unexpected argument "kernels"\n/);
    assert.match(usageError(['matrix', '6.1.0-56-amd64']).message, /^unexpected argument "6\.1\.0-56-amd64"\n/);
  });

  it('parseArgs does not share state between calls', () => {
    parseArgs(['matrix', '--kernel', 'a', '--cell', 'b']);
    assert.deepEqual(parseArgs(['matrix']), { ...DEFAULTS, command: 'matrix' });
  });

  it('USAGE documents every command and every option the parser accepts', () => {
    for (const c of COMMANDS) assert.match(USAGE, new RegExp(`^  ${c} `, 'm'), c);
    for (const opt of [
      '--kernel KVER',
      '--kernel-image PATH',
      '--kernel-build DIR',
      '--kernel-modules DIR',
      '--accel auto|tcg|kvm',
      '--cell PATTERN',
      '--repeat N',
      '--runs N',
      '--timeout SECONDS',
      '--json FILE',
      '--verbose, -v',
    ]) {
      assert.ok(USAGE.includes(`  ${opt} `), opt);
    }
  });
});
