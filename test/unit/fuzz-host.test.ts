/**
 * lib/cli/fuzz on the host with a stand-in for the VM: a complaint is
 * confirmed by a replay of the window it was seen in (or more of the log),
 * minimised by replays of candidate subsequences, and reported with the
 * seed, the kernel log and the minimal sequence; a complaint no replay
 * reproduces says so. Also the matching of a replay's complaint.
 */
import { strict as assert } from 'node:assert';
import { type FuzzRunOptions, type FuzzVmRunner, fuzzKernel, renderKernelReport, sameComplaint } from '../../lib/cli/fuzz';
import { type FuzzOp, generateOps } from '../../lib/fuzz/ops';
import type { FuzzComplaint, FuzzJobOptions, FuzzResult } from '../../lib/fuzz/types';
import type { Kernel } from '../../lib/vm/kernels';
import { DEFAULT_VM } from '../../lib/vm/session';
import { at } from '../../lib/util/at';

const KERNEL: Kernel = {
  release: '6.1.0-test-amd64',
  image: '/nonexistent',
  buildDir: '/nonexistent',
  modulesDir: null,
  series: '6.1',
  origin: 'path',
};
const SEED = 1234;
const RUN_OPS = 1000;

function complaint(atOp: number, sinceOp: number, over: Partial<FuzzComplaint> = {}): FuzzComplaint {
  return {
    kind: 'kernel',
    atOp,
    sinceOp,
    atEnd: false,
    headline: 'warning: WARNING: CPU: 1 PID: 99 at mm/memory.c:1 zap_pte_range',
    kinds: ['warning'],
    findings: ['warning: WARNING: CPU: 1 PID: 99 at mm/memory.c:1 zap_pte_range'],
    kmsg: ['WARNING: CPU: 1 PID: 99 at mm/memory.c:1 zap_pte_range'],
    taintGained: ['W'],
    ...over,
  };
}

function result(options: FuzzJobOptions, opsRun: number, c: FuzzComplaint | null, outcomes: string[] | null): FuzzResult {
  return {
    seed: options.seed,
    replay: options.replay !== null,
    opsRun,
    elapsedMs: 1000,
    counts: { ok: opsRun },
    complaint: c,
    outcomes,
    error: null,
  };
}

const LOG = generateOps(SEED, RUN_OPS);
const key = (op: FuzzOp | undefined): string => JSON.stringify(op);

/** The first position at or after `i` whose operation occurs once in the log (so it names one). */
function unique(i: number): number {
  for (let j = i; j < LOG.length; j++) {
    if (LOG.filter((o) => key(o) === key(LOG[j])).length === 1) return j;
  }
  throw new Error(`no unique operation after ${i}`);
}

/**
 * A kernel that complains after the operations at `needles` (positions in
 * the run's log, each unique in it) have all run, in order, and that
 * reports per operation on replays as the guest does (checked after every
 * one). Operations are compared by value: the host regenerates the log.
 */
function standIn(needles: number[], calls: FuzzJobOptions[]): FuzzVmRunner {
  const wanted = needles.map((i) => key(LOG[i]));
  return async (_k, _vm, _module, options) => {
    calls.push(options);
    if (options.replay === null) {
      const last = at(needles, needles.length - 1, 'the last needle');
      const batchStart = Math.floor(last / 200) * 200;
      return { result: result(options, RUN_OPS, complaint(RUN_OPS - 1, batchStart), null), runDir: '/tmp/x' };
    }
    const ops = options.replay;
    let next = 0;
    for (let i = 0; i < ops.length; i++) {
      if (key(ops[i]) === wanted[next]) next++;
      if (next === wanted.length) {
        const outcomes = ops.slice(0, i + 1).map(() => 'ok');
        return { result: result(options, i + 1, complaint(i, i), outcomes), runDir: '/tmp/x' };
      }
    }
    return {
      result: result(
        options,
        ops.length,
        null,
        ops.map(() => 'ok'),
      ),
      runDir: '/tmp/x',
    };
  };
}

const run = (runVm: FuzzVmRunner, extra: Partial<FuzzRunOptions> = {}) =>
  fuzzKernel(KERNEL, DEFAULT_VM, '/nonexistent/mmaplab.ko', { seed: SEED, ops: RUN_OPS, seconds: null, runVm, ...extra });

describe('fuzz on the host (a stand-in VM)', () => {
  it('a clean run is reported clean, with its rate, and nothing is replayed', async () => {
    const calls: FuzzJobOptions[] = [];
    const report = await run(async (_k, _vm, _m, options) => {
      calls.push(options);
      return { result: result(options, RUN_OPS, null, null), runDir: '/tmp/x' };
    });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.replay, null);
    assert.equal(calls[0]?.checkEvery, 200);
    assert.equal(report.minimal, null);
    assert.equal(report.opsPerSecond, 1000);
    assert.match(
      renderKernelReport(report),
      /^6\.1\.0-test-amd64: 1000 operations in 1\.0 s \(1000\.0\/s\): clean\n {2}outcomes: ok 1000$/,
    );
  });

  it('minimises a complaint to the operations it needs, replaying the window first', async () => {
    const calls: FuzzJobOptions[] = [];
    const [a, b] = [unique(850), unique(990)];
    const report = await run(standIn([a, b], calls), { maxReplays: 200 });
    assert.equal(calls[1]?.replay?.length, RUN_OPS - 800, 'the first replay is the window the complaint was seen in');
    assert.ok(calls.slice(1).every((c) => c.checkEvery === 1 && c.drain === false && c.replay !== null));
    const m = report.minimal;
    assert.ok(m !== null);
    assert.equal(m.reproduced, true);
    assert.equal(m.complete, true);
    assert.deepEqual(m.ops, [LOG[a], LOG[b]]);
    assert.deepEqual(m.outcomes, ['ok', 'ok']);
    assert.equal(m.replays, calls.length - 1);
    const text = renderKernelReport(report);
    assert.match(text, /COMPLAINT \(kernel\)/);
    assert.match(text, /seed 1234; seen after operation 999 \(window from operation 800\); taint gained W/);
    assert.match(text, /minimal sequence: 2 operation\(s\), reproduced in fresh VMs \(\d+ replays, 1-minimal\)/);
  });

  it('spends at most the replay budget (30 by default) and says when it stopped early', async () => {
    const calls: FuzzJobOptions[] = [];
    const needles = [unique(3), unique(410), unique(620), unique(900)];
    const report = await run(standIn(needles, calls));
    assert.ok(calls.length - 1 <= 30, `${calls.length - 1} replays`);
    const m = report.minimal;
    assert.ok(m !== null && m.reproduced);
    assert.ok(m.ops.length < RUN_OPS, 'shorter than the log');
    for (const i of needles)
      assert.ok(
        m.ops.some((o) => key(o) === key(LOG[i])),
        `keeps operation ${i}`,
      );
    if (!m.complete) assert.match(renderKernelReport(report), /replay budget reached/);
  });

  it('a complaint no replay reproduces is reported as such, with the whole log', async () => {
    const calls: FuzzJobOptions[] = [];
    const runVm: FuzzVmRunner = async (_k, _vm, _m, options) => {
      calls.push(options);
      const c = options.replay === null ? complaint(RUN_OPS - 1, 800) : null;
      return { result: result(options, options.replay?.length ?? RUN_OPS, c, null), runDir: '/tmp/x' };
    };
    const report = await run(runVm);
    // The window, then the whole log (1000 operations: the 2000-operation suffix is the log itself).
    assert.deepEqual(
      calls.slice(1).map((c) => c.replay?.length),
      [200, 1000],
    );
    assert.equal(report.minimal?.reproduced, false);
    assert.equal(report.minimal?.ops.length, RUN_OPS);
    assert.match(renderKernelReport(report), /not reproduced by a replay in a fresh VM \(2 replay\(s\)\)/);
  });

  it('no replays at all with maxReplays 0', async () => {
    const calls: FuzzJobOptions[] = [];
    const report = await run(standIn([5], calls), { maxReplays: 0 });
    assert.equal(calls.length, 1);
    assert.equal(report.minimal?.reproduced, false);
  });

  describe('sameComplaint', () => {
    it('matches by finding kind, else by taint, else by what happened', () => {
      const want = complaint(1, 0);
      assert.equal(sameComplaint(want, null), false);
      assert.equal(sameComplaint(want, complaint(5, 5)), true);
      assert.equal(sameComplaint(want, complaint(5, 5, { kinds: ['bad-page-state'] })), false);
      const taintOnly = complaint(1, 0, { kinds: [], findings: [] });
      assert.equal(sameComplaint(taintOnly, complaint(2, 2, { kinds: [], taintGained: ['W'] })), true);
      assert.equal(sameComplaint(taintOnly, complaint(2, 2, { kinds: [], taintGained: ['B'] })), false);
      const violation = complaint(1, 0, { kind: 'violation', kinds: [], taintGained: [] });
      assert.equal(sameComplaint(violation, complaint(1, 1, { kind: 'violation', kinds: [], taintGained: [] })), true);
      assert.equal(sameComplaint(violation, complaint(1, 1)), false);
      const died = complaint(1, 0, { kind: 'died', kinds: [], taintGained: [] });
      assert.equal(sameComplaint(died, complaint(1, 1, { kind: 'died', kinds: [], taintGained: [] })), true);
      assert.equal(sameComplaint(died, complaint(1, 1, { kind: 'hang', kinds: [], taintGained: [] })), false);
    });
  });
});
