/**
 * `mmaplab check` without a VM: its options, the verdicts a scenario
 * accepts, the explanations (every cell they cite exists in the catalogue),
 * the results read back from a VM that died, and the rendered reports.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../../lib/cli/args';
import { checkOptionsFrom, renderKernelCheck, vmsLine } from '../../lib/cli/check';
import { describeDelta, LEAK_CYCLES, leakDelta, leakProblems } from '../../lib/check/leak';
import { leakBoundKb } from '../../lib/harden/leak';
import { checkLabel, renderCheckHtml, renderCheckJunit, renderCheckMarkdown, renderCheckTap } from '../../lib/check/report';
import { explain, LEADS } from '../../lib/check/explain';
import { isHookFile, readHook, runHook } from '../../lib/check/hook';
import { checkHostPreflight } from '../../lib/check/host';
import { describeStep, parseSetup } from '../../lib/check/setup';
import { readUsesOrder, readUsesProgress, writeUsesProgress } from '../../lib/check/sink';
import { REPO_ROOT } from '../../lib/paths';
import { moduleNameOf, resultsFromRun } from '../../lib/check/run';
import { CHECK_SCENARIOS, CHECK_USES, type CheckResult, checkItems, isFinding, SCENARIO_SPECS, specOf, useOf } from '../../lib/check/types';
import { isDevicePattern, matchingNodes } from '../../lib/check/guest';
import { findCells } from '../../lib/experiments/catalogue';
import { CLAIMS } from '../../lib/experiments/claims';
import { MmaplabError } from '../../lib/util/errors';
import type { VmRun } from '../../lib/vm/session';
import { at } from '../../lib/util/at';

function result(over: Partial<CheckResult> & Pick<CheckResult, 'scenario' | 'verdict'>): CheckResult {
  return { detail: '', findings: [], taintGained: [], kmsg: [], durationMs: 1, ...over };
}

function usage(argv: string[]): string {
  try {
    checkOptionsFrom(parseArgs(argv));
  } catch (err) {
    assert.ok(err instanceof MmaplabError && err.code === 'EUSAGE', String(err));
    return at(err.message.split('\n'), 0, 'the first line');
  }
  assert.fail(`${argv.join(' ')} should be a usage error`);
}

describe('mmaplab check', () => {
  it('takes --kmod or --ko (one of them), --device under /dev, one page-multiple --size, and NAME=VALUE parameters', () => {
    const o = checkOptionsFrom(
      parseArgs(['check', '--kmod', 'examples/good-vmalloc', '--device', '/dev/mmap_good', '--param', 'n=2', '--param', 'mode=x=y']),
    );
    assert.deepEqual(o, {
      module: { kmod: 'examples/good-vmalloc' },
      params: { n: '2', mode: 'x=y' },
      device: '/dev/mmap_good',
      size: 16384,
      setup: [],
      hook: null,
      chrdev: null,
      minor: 0,
      profile: 'default',
      uses: true,
    });
    assert.equal(checkOptionsFrom(parseArgs(['check', '--kmod', 'a', '--device', '/dev/x', '--profile', 'poison'])).profile, 'poison');
    assert.equal(checkOptionsFrom(parseArgs(['check', '--kmod', 'a', '--device', '/dev/x', '--uses', 'no'])).uses, false);
    assert.match(usage(['check', '--kmod', 'a', '--device', '/dev/x', '--uses', 'only']), /--uses yes \(default\) or no/);
    assert.match(usage(['check', '--kmod', 'a', '--device', '/dev/x', '--profile', 'poison', '--profile', 'default']), /one profile/);
    assert.match(usage(['check', '--device', '/dev/x']), /--kmod DIR .* or --ko PATH/);
    assert.match(usage(['check', '--kmod', 'a', '--ko', 'b.ko', '--device', '/dev/x']), /one of the two/);
    assert.match(usage(['check', '--kmod', 'a']), /needs --device/);
    assert.match(usage(['check', '--kmod', 'a', '--device', '/dev/x', '--size', '6000']), /not a multiple of the page size/);
    assert.match(usage(['check', '--kmod', 'a', '--device', '/dev/x', '--size', '4K', '--size', '8K']), /one --size/);
    assert.match(usage(['check', '--ko', 'a.ko', '--device', '/dev/x']), /one --kernel/);
    // on a lab machine the .ko is for the running kernel: no --kernel needed
    assert.deepEqual(checkOptionsFrom(parseArgs(['check', '--target', 'host', '--ko', 'a.ko', '--device', '/dev/x'])).module, {
      ko: 'a.ko',
    });
    assert.throws(() => parseArgs(['check', '--device', 'mydrv']), /--device is a node under \/dev/);
    assert.throws(() => parseArgs(['check', '--param', 'novalue']), /--param is NAME=VALUE/);
  });

  it('a setup file: ioctl steps (number or string request, hex argument or none) and write steps, in order; anything else names the step', () => {
    const steps = parseSetup(
      JSON.stringify({ steps: [{ ioctl: '0x40086d01', arg: '0040000000000000' }, { ioctl: 27905 }, { write: '68656C6C6F' }] }),
      's.json',
    );
    assert.deepEqual(steps, [{ ioctl: 0x40086d01, arg: '0040000000000000' }, { ioctl: 27905, arg: null }, { write: '68656c6c6f' }]);
    assert.deepEqual(steps.map(describeStep), ['ioctl 0x40086d01 with 8 bytes', 'ioctl 0x6d01', 'write 5 bytes']);
    const fails = (text: string, says: string | RegExp): void =>
      assert.throws(
        () => parseSetup(text, 's.json'),
        (e: unknown) =>
          e instanceof MmaplabError &&
          e.code === 'EUSAGE' &&
          (typeof says === 'string' ? e.message === `--setup s.json: ${says}` : says.test(e.message)),
      );
    const request = 'expected a request number below 2^32 (a number, or "0x..." or decimal in a string)';
    const hex = 'expected bytes in hex, two digits a byte, at least one byte';
    fails('{', /^--setup s\.json is not JSON: /);
    fails('{"steps": 3}', 'steps: expected array, got number 3');
    fails('{"steps": [{"ioctl": "0x1"}, {"ioctl": "zz"}]}', `steps[1].ioctl: ${request}, got string "zz"`);
    fails('{"steps": [{"ioctl": 1, "arg": "abc"}]}', `steps[0].arg: ${hex}, got string "abc"`);
    fails('{"steps": [{"write": ""}]}', `steps[0].write: ${hex}, got string ""`);
    fails('{"steps": [{"ioctl": 1, "size": 8}]}', 'steps[0].size: expected no such field, got number 8');
    fails('{"steps": [{"read": 8}]}', `steps[0].ioctl: ${request}, got nothing`);
    fails('{"steps": [{"ioctl": 4294967296}]}', `steps[0].ioctl: ${request}, got number 4294967296`);
    fails('{"steps": [{"write": "ab", "ioctl": 1}]}', 'steps[0].ioctl: expected no such field, got number 1');
  });

  it("the uses' order and progress files are read back as written; a malformed one is ECHECK naming the place", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-uses-files-'));
    try {
      const progress = path.join(dir, 'progress.json');
      const p = { inFlight: 'use:mlock' as const, since: 12, taint: 0, done: ['use:pipe-read' as const], stopped: false };
      writeUsesProgress(progress, p);
      assert.deepEqual(readUsesProgress(progress), p);
      fs.writeFileSync(progress, JSON.stringify({ ...p, done: ['use:mlock', 7] }));
      assert.throws(
        () => readUsesProgress(progress),
        (e: unknown) =>
          e instanceof MmaplabError &&
          e.code === 'ECHECK' &&
          e.message ===
            `${progress}: done[1]: expected one of "use:pipe-read", "use:pipe-write", "use:socket-read", "use:socket-write", "use:process-vm-read", "use:process-vm-write", "use:proc-mem-read", "use:proc-mem-write", ... (${CHECK_USES.length} in all), got number 7`,
      );
      const order = path.join(dir, 'order.json');
      const target = { device: '/dev/x', size: 8192, moduleName: 'x', setup: [{ write: 'zz' }], hook: null, chrdev: null, minor: 0 };
      fs.writeFileSync(order, JSON.stringify({ target, uses: ['use:mlock'], eventsFile: 'e', progressFile: progress, marks: false }));
      assert.throws(
        () => readUsesOrder(order),
        (e: unknown) =>
          e instanceof MmaplabError &&
          e.code === 'ECHECK' &&
          e.message === `${order}: target.setup[0].write: expected bytes in lower-case hex, at least one byte, got string "zz"`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the example setup file parses', () => {
    const file = path.join(REPO_ROOT, 'examples', 'ldd-chrdev', 'setup.json');
    assert.deepEqual(parseSetup(fs.readFileSync(file, 'utf8'), file), [{ ioctl: 0x40086d01, arg: '0040000000000000' }]);
  });

  it('a --device pattern: *, ? and [..] in the name match nodes of its directory, numbered ones in natural order', () => {
    assert.equal(isDevicePattern('/dev/mydrv*'), true);
    assert.equal(isDevicePattern('/dev/mydrv[0-3]'), true);
    assert.equal(isDevicePattern('/dev/mydrv0'), false);
    const names = ['mydrv10', 'mydrv2', 'mydrv1', 'mydrv.x', 'other0', 'mydrv'];
    assert.deepEqual(matchingNodes('/dev/mydrv*', names), ['/dev/mydrv', '/dev/mydrv.x', '/dev/mydrv1', '/dev/mydrv2', '/dev/mydrv10']);
    assert.deepEqual(matchingNodes('/dev/mydrv?', names), ['/dev/mydrv1', '/dev/mydrv2']);
    assert.deepEqual(matchingNodes('/dev/mydrv[12]0', names), ['/dev/mydrv10']);
    assert.deepEqual(matchingNodes('/dev/my.rv*', ['myxrv1', 'my.rv1']), ['/dev/my.rv1'], 'a dot is a dot');
    assert.deepEqual(matchingNodes('/dev/mydrv[!0]', ['mydrv0', 'mydrv1', 'mydrv!']), ['/dev/mydrv!', '/dev/mydrv1'], '[!..] negates');
    assert.deepEqual(matchingNodes('/dev/mydrv[^0]', ['mydrv0', 'mydrv1']), ['/dev/mydrv1'], '[^..] negates');
    assert.deepEqual(matchingNodes('/dev/my[drv', ['my[drv', 'mydrv']), ['/dev/my[drv'], 'an unclosed [ is itself');
    assert.deepEqual(matchingNodes('/dev/a[]]b', ['a]b', 'ab']), ['/dev/a]b'], '] first in a set is a member');
  });

  it("rmmod's name for a module file", () => {
    assert.equal(moduleNameOf('/c/user-kmod/x/mmap-good.ko'), 'mmap_good');
  });

  it('a finding is a verdict the scenario does not accept; not-run is none', () => {
    assert.equal(isFinding(result({ scenario: 'past-end', verdict: 'refused' })), false);
    assert.equal(isFinding(result({ scenario: 'past-end', verdict: 'signal', detail: 'a child reading page 0 got SIGBUS' })), false);
    // where the title names the errno or signal, another one is a finding
    assert.equal(isFinding(result({ scenario: 'past-end', verdict: 'signal', detail: 'a child reading page 0 got SIGSEGV' })), true);
    assert.equal(isFinding(result({ scenario: 'gup-pin', verdict: 'refused', detail: 'vmsplice(2) of the mapping: EFAULT' })), false);
    assert.equal(isFinding(result({ scenario: 'gup-pin', verdict: 'refused', detail: 'vmsplice(2) of the mapping: ENOMEM' })), true);
    assert.equal(isFinding(result({ scenario: 'dontneed-retouch', verdict: 'refused', detail: 'madvise(MADV_DONTNEED): EINVAL' })), false);
    assert.equal(isFinding(result({ scenario: 'dontneed-retouch', verdict: 'refused', detail: 'madvise(MADV_DONTNEED): EPERM' })), true);
    assert.equal(isFinding(result({ scenario: 'mremap-grow', verdict: 'refused', detail: 'mremap to 20480 B: EFAULT' })), false);
    assert.equal(isFinding(result({ scenario: 'mremap-grow', verdict: 'refused', detail: 'mremap to 20480 B: ENOMEM' })), true);
    assert.equal(
      isFinding(result({ scenario: 'private', verdict: 'refused', detail: 'mmap 16384 B private: EACCES' })),
      false,
      'private names no errno',
    );
    assert.equal(isFinding(result({ scenario: 'past-end', verdict: 'ok' })), true);
    assert.equal(isFinding(result({ scenario: 'map-write-read', verdict: 'refused' })), true);
    assert.equal(isFinding(result({ scenario: 'unload', verdict: 'kernel-complaint' })), true);
    assert.equal(isFinding(result({ scenario: 'unload', verdict: 'not-run' })), false);
    for (const s of CHECK_SCENARIOS) {
      assert.ok(!SCENARIO_SPECS[s].acceptable.includes('kernel-complaint'), `${s}: a complaint is always a finding`);
    }
    // a use may be refused or signalled (that depends on the method); wrong data, a complaint, a dead VM may not
    for (const verdict of ['ok', 'refused', 'signal', 'not-run'] as const)
      assert.equal(isFinding(result({ scenario: 'use:process-vm-read', verdict })), false, verdict);
    for (const verdict of ['data-mismatch', 'kernel-complaint', 'vm-died'] as const)
      assert.equal(isFinding(result({ scenario: 'use:process-vm-read', verdict })), true, verdict);
  });

  it("the leak measures: a window over the bound on any of free memory, Slab, VmallocUsed; net of this process's RSS growth", () => {
    const at = (freeKb: number, slabKb: number, vmallocKb: number, rssAnonKb: number) => ({ freeKb, slabKb, vmallocKb, rssAnonKb });
    const d = leakDelta(at(500_000, 40_000, 10_000, 60_000), at(490_000, 44_900, 10_000, 68_000));
    assert.deepEqual(d, { freeKb: 2000, slabKb: 4900, vmallocKb: 0 }, "the 8000 kB this process grew is not the kernel's");
    assert.equal(leakBoundKb(LEAK_CYCLES), 2072);
    assert.ok(LEAK_CYCLES * 4 > leakBoundKb(LEAK_CYCLES), 'a page per cycle is over the bound');
    assert.deepEqual(leakProblems(d, 2072), ['Slab grew by 4900 kB']);
    assert.deepEqual(leakProblems({ freeKb: 3000, slabKb: -10, vmallocKb: 2100 }, 2072), [
      'free memory dropped by 3000 kB',
      'VmallocUsed grew by 2100 kB',
    ]);
    assert.deepEqual(leakProblems({ freeKb: 2072, slabKb: 2072, vmallocKb: 2072 }, 2072), [], 'at the bound is within it');
    assert.equal(describeDelta(d), 'free -2000 kB, Slab +4900 kB, VmallocUsed +0 kB');
    assert.equal(isFinding(result({ scenario: 'map-unmap-leak', verdict: 'leak' })), true);
    assert.match(explain(result({ scenario: 'map-unmap-leak', verdict: 'leak' }))?.instead ?? '', /free in release what open allocated/);
  });

  it('a setup hook: .js as it is, .ts transpiled, syntax checked on the host; run with the descriptor and a device API', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-hook-test-'));
    try {
      assert.equal(isHookFile('a/setup.js'), true);
      assert.equal(isHookFile('a/setup.ts'), true);
      assert.equal(isHookFile('a/setup.json'), false);
      const ts = path.join(dir, 'setup.ts');
      fs.writeFileSync(
        ts,
        'export default function setup(fd: number, dev: { write(d: string): number; ioctl(r: number, a?: Uint8Array): Uint8Array | null }): void {\n  dev.write(`fd ${fd} `);\n  const a = dev.ioctl(0x1234, new Uint8Array([1, 2]));\n  dev.write(String(a?.[0]));\n}\n',
      );
      const hook = readHook(ts);
      assert.doesNotMatch(hook.source, /: number/, 'the types are gone');
      const out = path.join(dir, 'out');
      const fd = fs.openSync(out, 'w+');
      const calls: string[] = [];
      try {
        runHook(hook, fd, '/dev/x', {
          ioctl: (f, request, arg) => {
            calls.push(`ioctl ${f} 0x${request.toString(16)} ${arg.length}`);
            arg[0] = 9;
            return 0;
          },
          ioctlNoArg: () => 0,
        });
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(fs.readFileSync(out, 'utf8'), `fd ${fd} 9`);
      assert.deepEqual(calls, [`ioctl ${fd} 0x1234 2`]);
      const broken = path.join(dir, 'broken.js');
      fs.writeFileSync(broken, 'module.exports = (fd, dev) => { dev.ioctl(1;\n');
      assert.throws(
        () => readHook(broken),
        (e: unknown) => e instanceof MmaplabError && e.code === 'EUSAGE' && /broken\.js: not valid JavaScript/.test(e.message),
      );
      assert.throws(() => readHook(path.join(dir, 'none.js')), /cannot read it/);
      const none = path.join(dir, 'none-exported.js');
      fs.writeFileSync(none, 'const x = 1;\n');
      assert.throws(() => runHook(readHook(none), 0, '/dev/x', { ioctl: () => 0, ioctlNoArg: () => 0 }), /exports no function/);
      const later = path.join(dir, 'async.js');
      fs.writeFileSync(later, 'module.exports = async () => {};\n');
      assert.throws(() => runHook(readHook(later), 0, '/dev/x', { ioctl: () => 0, ioctlNoArg: () => 0 }), /a setup hook is synchronous/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--target host: only with --allow-hazards, as root, with module loading enabled; --kernel and VM-only flags refused', () => {
    const root = { uid: 0, modulesDisabled: false };
    assert.throws(
      () => checkHostPreflight(false, root),
      (e: unknown) => e instanceof MmaplabError && e.code === 'EHAZARD' && /--allow-hazards/.test(e.message),
    );
    assert.throws(
      () => checkHostPreflight(true, { uid: 1000, modulesDisabled: false }),
      (e: unknown) => e instanceof MmaplabError && e.code === 'ENOTROOT',
    );
    assert.throws(
      () => checkHostPreflight(true, { uid: 0, modulesDisabled: true }),
      (e: unknown) => e instanceof MmaplabError && e.code === 'EMODLOAD',
    );
    assert.doesNotThrow(() => checkHostPreflight(true, root));
    assert.equal(vmsLine([]), 'no VM (--target host)');
  });

  it('the uses run after the mapping scenarios and before the lifetime ones, which unload the module', () => {
    const items = checkItems(true);
    assert.equal(items.length, CHECK_SCENARIOS.length + CHECK_USES.length);
    assert.deepEqual(items.slice(-3), ['close-before-unmap', 'unload-while-mapped', 'unload']);
    assert.equal(items.indexOf('use:pipe-read'), items.indexOf('map-unmap-leak') + 1);
    assert.deepEqual(checkItems(false), [...CHECK_SCENARIOS]);
    assert.equal(useOf('use:thp-always'), 'thp-always');
    assert.equal(useOf('past-end'), null);
    assert.equal(specOf('use:vmsplice').title, 'vmsplice(2) of the mapping into a pipe, read back');
  });

  it('every cell an explanation cites is in the catalogue, and every claim is a claim row', () => {
    const claimIds = new Set(CLAIMS.map((c) => c.id));
    for (const lead of LEADS) {
      for (const see of lead.see) {
        if (see.startsWith('claim ')) assert.ok(claimIds.has(see.slice(6)), see);
        else
          assert.ok(
            findCells([see]).some((c) => c.id === see),
            `${see} is not a cell id`,
          );
      }
    }
  });

  it('explains PG_reserved left set at free, and nothing that is not a finding', () => {
    const freed = result({
      scenario: 'unload',
      verdict: 'kernel-complaint',
      findings: [
        { kind: 'bad-page-state', line: 'BUG: Bad page state in process rmmod  pfn:05a51', reason: 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set' },
      ],
    });
    assert.match(explain(freed)?.rule ?? '', /PG_reserved/);
    assert.match(explain(freed)?.instead ?? '', /ClearPageReserved/);
    assert.equal(explain(result({ scenario: 'past-end', verdict: 'refused' })), null);
    assert.match(explain(result({ scenario: 'past-end', verdict: 'ok' }))?.rule ?? '', /maps more than its buffer/);
    assert.match(explain(result({ scenario: 'unload-while-mapped', verdict: 'unload-allowed' }))?.instead ?? '', /THIS_MODULE/);
  });

  it('a VM that died in a scenario: that scenario is vm-died with the console evidence; the ones it never started are not its', () => {
    const run = {
      runDir: '/runs/r',
      boot: {
        end: 'exited',
        consoleTail: [
          '[   12.5] BUG: unable to handle page fault for address: ffff888000000000',
          '[   12.5] Oops: 0000 [#1] PREEMPT SMP NOPTI',
        ],
      },
      events: [
        { type: 'check-start', scenario: 'map-write-read' },
        { type: 'check-result', result: result({ scenario: 'map-write-read', verdict: 'ok' }) },
        { type: 'check-start', scenario: 'second-mapping' },
      ],
      agentStatus: null,
    } as unknown as VmRun;
    const got = resultsFromRun(run);
    assert.deepEqual(
      got.map((r) => [r.scenario, r.verdict]),
      [
        ['map-write-read', 'ok'],
        ['second-mapping', 'vm-died'],
      ],
    );
    assert.match(got[1]?.detail ?? '', /page fault|oops/i);
  });

  it('a VM that died: the oops is read from the whole console file (CRLF lines), not only the tail', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-check-'));
    try {
      const consoleFile = path.join(dir, 'console.log');
      const body = ['MMAPLAB-AGENT-READY 4.5', '[    5.552685] BUG: kernel NULL pointer dereference, address: 0000000000000000'];
      for (let i = 0; i < 60; i++) body.push(`[    5.6${String(i).padStart(5, '0')}]  ? some_frame+0x${i.toString(16)}/0x40`);
      fs.writeFileSync(consoleFile, body.join('\r\n') + '\r\n');
      const run = {
        runDir: dir,
        boot: { end: 'timeout', consoleFile, consoleTail: body.slice(-30) },
        events: [{ type: 'check-start', scenario: 'private' }],
        agentStatus: null,
      } as unknown as VmRun;
      const [died] = resultsFromRun(run);
      assert.equal(died?.verdict, 'vm-died');
      assert.match(died?.detail ?? '', /^null-deref: BUG: kernel NULL pointer dereference/);
      assert.match(died?.kmsg[0] ?? '', /BUG: kernel NULL pointer dereference/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders a table per kernel and a markdown grid with the findings explained', () => {
    const results = CHECK_SCENARIOS.map((scenario) =>
      scenario === 'unload'
        ? result({
            scenario,
            verdict: 'kernel-complaint',
            detail: 'bad-page-state: BUG: Bad page state in process rmmod',
            findings: [{ kind: 'bad-page-state', line: 'BUG: Bad page state', reason: 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set' }],
            kmsg: ['BUG: Bad page state in process rmmod  pfn:05a51'],
          })
        : scenario === 'past-end'
          ? result({ scenario, verdict: 'refused', detail: 'mmap 20480 B shared: EINVAL' })
          : scenario === 'mremap-grow'
            ? result({ scenario, verdict: 'refused', detail: 'mremap to 20480 B: EFAULT' })
            : result({ scenario, verdict: 'ok' }),
    );
    const k = {
      kernel: '6.1.0-57-amd64',
      device: '/dev/mmap_reserved',
      nodes: [],
      modulePath: '/c/mmap_reserved.ko',
      buildWarnings: [],
      results,
      vms: [{ runDir: '/runs/r', start: 'restored' as const }],
      notes: [],
    };
    const text = renderKernelCheck(k);
    assert.match(text, /FINDING {2}unload +kernel-complaint/);
    assert.match(text, /1 finding\(s\); 1 VM \(restored\), run directory \/runs\/r$/m);
    assert.match(text, /instead: .*ClearPageReserved/);
    const md = renderCheckMarkdown([k], {
      module: { kmod: 'examples/bad-reserved' },
      params: {},
      device: '/dev/mmap_reserved',
      size: 16384,
    });
    assert.match(md, /\| unload: .* \| \*\*kernel-complaint\*\* \|/);
    assert.match(md, /## 6\.1\.0-57-amd64: unload: kernel-complaint/);
    const junit = renderCheckJunit([k]);
    const n = CHECK_SCENARIOS.length;
    assert.match(
      junit,
      new RegExp(`<testsuite name="mmaplab check on 6\\.1\\.0-57-amd64" tests="${n}" failures="1" errors="0" skipped="0">`),
    );
    assert.match(
      junit,
      /<failure type="kernel-complaint" message="bad-page-state: BUG: Bad page state in process rmmod">[^<]*ClearPageReserved/,
    );
    const tap = renderCheckTap([k]);
    assert.match(tap, new RegExp(`^TAP version 13\\n1\\.\\.${n}\\n`));
    assert.match(tap, new RegExp(`\\nnot ok ${n} - 6\\.1\\.0-57-amd64 unload: kernel-complaint\\n {2}---\\n`));
    assert.equal(tap.match(/^ok /gm)?.length, n - 1);
    const page = renderCheckHtml([k], { module: { kmod: 'examples/bad-reserved' }, params: {}, device: '/dev/mmap_reserved', size: 16384 });
    assert.match(page, /<td class="finding" title="bad-page-state: BUG: Bad page state in process rmmod">kernel-complaint<\/td>/);
    assert.ok(!/<script/.test(page), 'no script');
  });

  it('the VMs line says how many VMs, how they started, and where they ran', () => {
    assert.equal(vmsLine([{ runDir: '/a', start: 'restored' }]), '1 VM (restored), run directory /a');
    assert.equal(
      vmsLine([
        { runDir: '/a', start: 'cold' },
        { runDir: '/b', start: 'cold' },
      ]),
      '2 VMs (booted cold), run directories /a /b',
    );
    assert.equal(
      vmsLine([
        { runDir: '/a', start: 'restored' },
        { runDir: '/b', start: 'cold' },
        { runDir: '/c', start: 'restored' },
      ]),
      '3 VMs (2 restored, 1 booted cold), run directories /a /b /c',
    );
  });

  it('the checks of several nodes (a --device pattern) are told apart by their node in every report; one node, by its kernel alone', () => {
    const check = (device: string, verdict: CheckResult['verdict']) => ({
      kernel: '6.12',
      device,
      nodes: ['/dev/x0', '/dev/x1'],
      modulePath: '/m.ko',
      buildWarnings: [],
      results: [result({ scenario: 'map-write-read', verdict, detail: verdict === 'ok' ? 'fine' : 'byte 0 holds 0x0, not 0x1' })],
      vms: [{ runDir: '/r', start: 'restored' as const }],
      notes: [],
    });
    const x0 = check('/dev/x0', 'ok');
    const both = [x0, check('/dev/x1', 'data-mismatch')];
    const o = { module: { kmod: 'd' }, params: {}, device: '/dev/x*', size: 16384 };
    assert.equal(checkLabel(x0, both), '6.12 /dev/x0');
    assert.equal(checkLabel(x0, [x0]), '6.12');
    assert.match(renderCheckMarkdown(both, o), /\| scenario \| 6\.12 \/dev\/x0 \| 6\.12 \/dev\/x1 \|/);
    assert.match(renderCheckMarkdown(both, o), /## 6\.12 \/dev\/x1: map-write-read: data-mismatch/);
    assert.match(renderCheckTap(both), /^not ok 2 - 6\.12 \/dev\/x1 map-write-read: data-mismatch$/m);
    assert.match(renderCheckJunit(both), /<testsuite name="mmaplab check on 6\.12 \/dev\/x1" tests="1" failures="1"/);
    assert.match(renderCheckHtml(both, o), /<th>6\.12 \/dev\/x0<\/th><th>6\.12 \/dev\/x1<\/th>/);
  });

  it('a scenario that did not run is skipped in junit and tap, never a pass', () => {
    const k = {
      kernel: '6.12',
      device: '/dev/m',
      nodes: [],
      modulePath: '/m.ko',
      buildWarnings: [],
      results: [result({ scenario: 'partial-munmap', verdict: 'not-run', detail: 'the buffer is under three pages' })],
      vms: [{ runDir: '/r', start: 'cold' as const }],
      notes: [],
    };
    assert.match(renderCheckJunit([k]), /skipped="1"[\s\S]*<skipped message="the buffer is under three pages"\/>/);
    assert.match(renderCheckTap([k]), /^ok 1 - 6\.12 partial-munmap: not-run # SKIP the buffer is under three pages$/m);
  });
});
