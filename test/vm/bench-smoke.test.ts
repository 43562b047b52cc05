/**
 * `mmaplab bench --quick` end to end on both default kernels: it boots them,
 * measures, and writes a bench.json the schema accepts and a report.html with
 * the benchmark section. Only the shape and the counts are checked; the
 * figures are what the run measured, and no time is asserted.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readBenchReport } from '../../lib/bench/schema';
import { RESTORE_FIGURES } from '../../lib/bench/types';
import { support } from '../../lib/device/support';
import type { CellMethodName } from '../../lib/experiments/types';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { installedKernel } from '../installed-kernel';
import { REPO_ROOT } from '../../lib/paths';
import { chromium, chromiumVersion } from './chromium';

const installed = REQUIRED_SERIES.map(({ series }) => ({ series, ...installedKernel(series) }));

describe(`mmaplab bench --quick --kernel SERIES (QEMU, ${installed.map((k) => k.title).join(' and ')})`, function () {
  this.timeout(15 * 60_000);

  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-bench-'));
  let status: number | null = null;
  let stderr = '';

  before(function () {
    const args = [path.join(REPO_ROOT, 'dist', 'lib', 'cli.js'), 'bench', '--quick', '--out', out];
    // By series, as a user or the shipped workflow selects them.
    for (const k of installed) args.push('--kernel', k.series);
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    status = r.status;
    stderr = r.stderr;
  });

  it('exits 0 and writes bench.json, bench.md and report.html', () => {
    assert.equal(status, 0, stderr.slice(-3000));
    for (const f of ['bench.json', 'bench.md', 'report.html']) {
      assert.ok(fs.existsSync(path.join(out, f)), `${f} was written`);
    }
  });

  it('bench.json has every kernel with baselines, every safe page-backed pair, and the harness', () => {
    const report = readBenchReport(path.join(out, 'bench.json'));
    assert.deepEqual(
      report.kernels.map((k) => k.kernel),
      installed.map((k) => k.get().release),
    );
    assert.equal(report.environment.accel, 'tcg');
    for (const k of report.kernels) {
      const methods = new Set(k.mapCost.map((r) => r.method));
      assert.ok(methods.has('anon') && methods.has('anon_populate'), `${k.kernel}: both baselines`);
      const measured = k.mapCost.filter((r) => r.refused === undefined);
      for (const r of measured) {
        assert.ok(r.mmapNs && r.mmapNs.n === 1, `${k.kernel} ${r.alloc}/${r.method}: one repetition`);
        assert.ok((r.readBytesPerSec?.median ?? 0) > 0, `${k.kernel} ${r.alloc}/${r.method}: a read rate`);
      }
      for (const r of k.mapCost.filter((x) => x.refused !== undefined)) {
        assert.ok((r.refused as string).length > 0, 'a refusal says why');
      }
      for (const r of k.mapCost) {
        if (r.alloc !== null) assert.equal(support(r.alloc, r.method as CellMethodName), 'safe', 'only safe pairs are measured');
      }
      assert.ok(k.addonOverhead.length > 0, `${k.kernel}: addon overhead rows`);
      assert.ok(k.harness !== null, `${k.kernel}: harness measured`);
      assert.equal(k.harness?.agentReadyVmlinuxMs.n, 1);
      assert.equal(k.harness?.agentReadyBzimageMs.n, 1);
      const restore = k.harness?.restore;
      assert.deepEqual(restore?.failures, [], `${k.kernel}: every save and restore gave its figures`);
      for (const f of RESTORE_FIGURES) assert.equal(restore?.[f]?.n, 1, `${k.kernel}: ${f} measured once`);
    }
  });

  it('report.html carries the benchmark section, and headless Chromium parses the charts as written', () => {
    const file = path.join(out, 'report.html');
    const html = fs.readFileSync(file, 'utf8');
    const svgs = (html.match(/<svg\b/g) ?? []).length;
    assert.ok(svgs > 0, 'the page has charts');
    for (const k of installed) assert.ok(html.includes(k.get().release), `${k.title} in the report`);
    chromiumVersion();
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-chromium-'));
    try {
      const dom = chromium(profile, ['--dump-dom'], `file://${file}`).out;
      assert.equal((dom.match(/<svg\b/g) ?? []).length, svgs, 'every chart of this run survives the browser');
      for (const k of installed) assert.ok(dom.includes(k.get().release), `${k.title} in the rendered page`);
    } finally {
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });
});
