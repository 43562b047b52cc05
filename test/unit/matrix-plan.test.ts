/**
 * `mmaplab matrix` as a plan: the command line turned into steps (plain
 * data) before any VM starts: cells per round and kernel, one step per cell
 * with --isolate, the module's hazard parameter only where hazards run, the
 * files measured once per kernel after the cells, and by the first shard only.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { parseArgs } from '../../lib/cli/args';
import { matrixPlan } from '../../lib/cli/matrix';
import { selectCells } from '../../lib/cli/select';
import type { Kernel } from '../../lib/vm/kernels';
import { CELL_DEADLINE_SHARE_MS, cellsDeadlineMs } from '../../lib/runner/cell-vms';
import { at } from '../../lib/util/at';

const kernel = (release: string, series: string): Kernel => ({
  release,
  image: '',
  buildDir: '/nonexistent',
  modulesDir: null,
  series,
  origin: 'path',
});
const K61 = kernel('6.1.0-1-amd64', '6.1');
const K612 = kernel('6.12.1+deb12-amd64', '6.12');
const modules = new Map([
  [K61.release, '/ko/6.1/mmaplab.ko'],
  [K612.release, '/ko/6.12/mmaplab.ko'],
]);

async function planFor(argv: string[]) {
  const opts = parseArgs(['matrix', '--accel', 'tcg', ...argv]);
  const cells = selectCells(opts);
  return { cells, plan: await matrixPlan(opts, [K61, K612], cells, modules) };
}

const kinds = (steps: { job: { kind: string }; kernel: Kernel }[]): string[] => steps.map((s) => `${s.job.kind} ${s.kernel.series}`);

describe('matrix plan', () => {
  it('one cells step per kernel, then the files per kernel, each with its own module', async () => {
    const { cells, plan } = await planFor(['--alloc', 'kmalloc']);
    assert.deepEqual(kinds(plan.steps), ['cells 6.1', 'cells 6.12', 'files 6.1', 'files 6.12']);
    for (const step of plan.steps) {
      assert.equal(step.job.kind === 'idle' ? null : step.job.module.path, modules.get(step.kernel.release));
      if (step.job.kind === 'cells') {
        assert.deepEqual(step.job.cells, cells);
        assert.deepEqual(step.job.module.params, { allow_hazards: '1' }, 'kmalloc has hazard cells');
      }
    }
    assert.equal(plan.concurrency, 1);
    assert.match(plan.notes.get(at(plan.steps, 0, 'the first step')) ?? '', /^6\.1\.0-1-amd64: \d+ cell\(s\) under tcg$/);
  });

  it('no hazard parameter when no hazard runs; --files no leaves the files out', async () => {
    const { plan } = await planFor(['--alloc', 'kmalloc', '--hazards', 'no', '--files', 'no']);
    assert.deepEqual(kinds(plan.steps), ['cells 6.1', 'cells 6.12']);
    for (const step of plan.steps) assert.deepEqual(step.job.kind === 'cells' ? step.job.module.params : null, {});
  });

  it('--repeat: every round on every kernel, rounds in order; --jobs sets how many run at once', async () => {
    const { plan } = await planFor(['--cell', 'kmalloc/fault_page/4K/basic', '--repeat', '2', '--jobs', '2', '--files', 'no']);
    assert.deepEqual(kinds(plan.steps), ['cells 6.1', 'cells 6.12', 'cells 6.1', 'cells 6.12']);
    assert.equal(plan.concurrency, 2);
    assert.match(plan.notes.get(at(plan.steps, 2, 'the third step')) ?? '', /\(round 2\/2\)$/);
  });

  it('--isolate marks the cells steps, which then take a VM per cell', async () => {
    const { plan } = await planFor(['--alloc', 'vmalloc', '--isolate', '--files', 'no']);
    assert.ok(plan.steps.length === 2 && plan.steps.every((s) => s.isolate === true));
    assert.match(plan.notes.get(at(plan.steps, 0, 'the first step')) ?? '', /one boot each$/);
  });

  it('only the first shard measures the files', async () => {
    const first = await planFor(['--shard', '1/2']);
    const second = await planFor(['--shard', '2/2']);
    assert.deepEqual(kinds(first.plan.steps), ['cells 6.1', 'cells 6.12', 'files 6.1', 'files 6.12']);
    assert.deepEqual(kinds(second.plan.steps), ['cells 6.1', 'cells 6.12']);
    const ids = (p: typeof first.plan): string[] =>
      p.steps.flatMap((s) => (s.job.kind === 'cells' && s.kernel === K61 ? s.job.cells.map((c) => c.id) : []));
    const both = [...ids(first.plan), ...ids(second.plan)];
    assert.equal(new Set(both).size, both.length, 'the shards share no cell');
    assert.ok(both.length <= CATALOGUE.length);
  });
});

describe('cell VM deadline', () => {
  it('grows with the cells a VM runs, so the safe cells of the default matrix fit in one VM', () => {
    assert.equal(cellsDeadlineMs(300_000, 0), 300_000);
    assert.equal(cellsDeadlineMs(300_000, 10), 300_000 + 10 * CELL_DEADLINE_SHARE_MS);
    const safe = selectCells(parseArgs(['matrix', '--hazards', 'no', '--profile', 'default']));
    // More than three times the median safe cell (0.26 s) for each of them, on top of the deadline for the boot.
    assert.ok(cellsDeadlineMs(300_000, safe.length) - 300_000 >= safe.length * 3 * 260, `${safe.length} cells`);
    // And room for a debug kernel's cells: 1.2 s each was measured on 6.1 with KASAN and lockdep, on a loaded host.
    assert.ok(cellsDeadlineMs(300_000, safe.length) - 300_000 >= safe.length * 3 * 1200, `${safe.length} debug-kernel cells`);
  });
});
