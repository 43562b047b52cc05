/**
 * The dma-buf twins: every safe basic cell and the scenario pairs'
 * scenarios mapped through a dma-buf of the buffer, their predictions (the
 * twin's, but a range past the end, which the dma-buf core refuses), and
 * the device API's guards.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE, PAIR_SCENARIOS, SAFE_PAIRS, SCENARIO_PAIRS, SIZES } from '../../lib/experiments/catalogue';
import { expectationFor, withoutDmabuf } from '../../lib/experiments/expectations';
import { DmaBuf } from '../../lib/device';
import { isGridCell } from '../../lib/report/view';
import { formatOpList, generateOps } from '../../lib/fuzz/ops';
import { parseOps } from '../../lib/fuzz/ops-schema';
import { CLAIMS } from '../../lib/experiments/claims';
import { prediction } from './prediction';
import { run } from './report-fixture';

const twins = CATALOGUE.filter((c) => c.via === 'dmabuf');

describe('dma-buf twins (a buffer mapped through a dma-buf of it)', function () {
  it('has a twin of every safe pair at its sizes and of every scenario of the scenario pairs, and no other', function () {
    const want = new Set<string>();
    for (const [alloc, method] of SAFE_PAIRS) for (const size of SIZES[alloc]) want.add(`${alloc}/${method}/${size / 1024}K/basic/dmabuf`);
    for (const [alloc, method] of SCENARIO_PAIRS) for (const s of PAIR_SCENARIOS) want.add(`${alloc}/${method}/16K/${s}/dmabuf`);
    assert.deepEqual(twins.map((c) => c.id).sort(), [...want].sort());
    for (const c of twins) {
      assert.ok(
        CATALOGUE.some((p) => p.id === withoutDmabuf(c).id),
        `${c.id} has its plain twin`,
      );
      assert.equal(c.hazard, false, c.id);
      assert.equal(isGridCell(c), false, 'dma-buf cells stay out of the grid');
      assert.match(c.title, /through a dma-buf of the buffer/);
    }
  });

  it('a twin is predicted as its plain twin on both series, past the end excepted', function () {
    for (const c of twins) {
      for (const series of ['6.1', '6.12']) {
        const a = expectationFor(c, series);
        const b = expectationFor(withoutDmabuf(c), series);
        assert.ok(a && b, c.id);
        if (c.scenario === 'past-end') {
          assert.equal(a.name, 'dmabuf-core-checks-the-size');
          continue;
        }
        assert.deepEqual([a.verdict, a.detail, a.also], [b.verdict, b.detail, b.also], `${c.id} on ${series}`);
        assert.match(a.name, /^dmabuf-maps-as-the-device \(/);
      }
    }
    assert.equal(prediction('pages_array/vm_insert_pages/16K/past-end/dmabuf', '6.12'), 'refused (EINVAL)');
    assert.equal(
      prediction('pages_comp/remap_pfn_range/16K/private-write/dmabuf', '6.1'),
      prediction('pages_comp/remap_pfn_range/16K/private-write', '6.1'),
    );
  });

  it('the fuzzer exports, queries, syncs (valid flags and not), maps and closes dma-bufs, and sends DMABUF requests to refuse', function () {
    const ops = generateOps(11, 20_000);
    const actions = new Set(ops.flatMap((o) => (o.op === 'dmabuf' ? [o.action] : [])));
    assert.deepEqual([...actions].sort(), ['bad-op', 'bad-reserved', 'export', 'query']);
    const flags = ops.flatMap((o) => (o.op === 'dmabuf-sync' ? [o.flags] : []));
    assert.ok(
      flags.some((f) => f >= 1 && f <= 7 && (f & 3) !== 0),
      'valid START and END flags',
    );
    assert.ok(
      flags.some((f) => (f & 3) === 0 || f > 7),
      'flags the dma-buf core must refuse',
    );
    assert.ok(ops.some((o) => o.op === 'mmap-dmabuf') && ops.some((o) => o.op === 'dmabuf-close'));
    const mine = ops.filter((o) => o.op.startsWith('dmabuf') || o.op === 'mmap-dmabuf');
    assert.deepEqual(parseOps(formatOpList(mine)), mine, 'and they read back from JSON');
  });

  it('the VM_PFNMAP claim takes the page-based twins: a working mapping fails it, a refusal the device gets too says nothing', function () {
    const claim = CLAIMS.find((c) => c.id === 'dmabuf-needs-pfnmap');
    assert.ok(claim);
    const ids = twins.filter((c) => claim.cells(c)).map((c) => c.id);
    assert.ok(ids.includes('pages_array/vm_insert_pages/16K/basic/dmabuf'));
    assert.ok(ids.includes('vmalloc_user/remap_vmalloc_range/16K/basic/dmabuf'));
    assert.ok(!ids.some((id) => id.includes('/remap_pfn_range/') || id.includes('/vmf_insert_pfn/')), 'pfn methods are not its cells');
    assert.ok(!CATALOGUE.some((c) => c.via === undefined && claim.cells(c)), 'nor are cells mapped through the device');
    const cell = (id: string) => {
      const c = twins.find((t) => t.id === id);
      assert.ok(c, id);
      return c;
    };
    const kernel = '6.12.118+deb12-amd64';
    assert.equal(claim.holds(run(kernel, cell('pages_array/vm_insert_pages/16K/basic/dmabuf'), 'ok')), false);
    assert.equal(claim.holds(run(kernel, cell('pages_array/vm_insert_pages/16K/basic/dmabuf'), 'kernel-complaint')), true);
    assert.equal(claim.holds(run(kernel, cell('kmalloc/vm_insert_page/4K/basic/dmabuf'), 'refused', { detail: 'EINVAL' })), null);
  });

  it('a closed DmaBuf says so instead of using a stale descriptor; close() twice is harmless', function () {
    const buf = new DmaBuf(-1, () => {
      throw new Error('not mapped');
    });
    assert.equal(buf.closed, true);
    assert.throws(() => buf.fd, { code: 'ERR_DEVICE_CLOSED' });
    buf.close();
  });

  it('sync access other than read, write or rw is an argument error, before any system call', function () {
    const buf = new DmaBuf(-1, () => {
      throw new Error('not mapped');
    });
    assert.throws(() => buf.beginCpuAccess('all' as 'rw'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => buf.endCpuAccess('rw'), { code: 'ERR_DEVICE_CLOSED' });
  });
});
