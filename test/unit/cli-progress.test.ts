/** lib/cli/progress: what a matrix run shows while it runs, on a terminal and in a log. */
import { strict as assert } from 'node:assert';
import { Progress, formatDuration } from '../../lib/cli/progress';
import { makeCell } from '../../lib/experiments/catalogue';
import { emptyObservation, type CellResult, type Verdict } from '../../lib/experiments/types';

function result(id: [Parameters<typeof makeCell>[0], Parameters<typeof makeCell>[1]], verdict: Verdict, detail = ''): CellResult {
  return {
    kernel: '6.1.0-56-amd64',
    cell: makeCell(id[0], id[1], 16 * 1024),
    verdict,
    detail,
    headline: verdict,
    evidence: { kmsg: [], findings: [], taintGained: [], observation: emptyObservation() },
    durationMs: 4200,
  };
}

function sink(isTTY: boolean): { out: { write: (s: string) => void; isTTY: boolean; columns: number }; text: () => string } {
  let buf = '';
  return { out: { write: (s: string) => (buf += s), isTTY, columns: 200 }, text: () => buf };
}

describe('matrix progress', () => {
  it('formatDuration: seconds, minutes, hours', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(42_400), '42s');
    assert.equal(formatDuration(185_000), '3m05s');
    assert.equal(formatDuration(3_720_000), '1h02m');
    assert.equal(formatDuration(NaN), '?');
  });

  it('ETA is the mean wall time per finished cell times the cells left', () => {
    let now = 1000;
    const s = sink(false);
    const p = new Progress(4, s.out, () => now);
    assert.equal(p.etaMs(), null);
    now += 10_000;
    p.result(result(['vmalloc_user', 'remap_vmalloc_range'], 'ok'));
    assert.equal(p.etaMs(), 30_000);
    now += 20_000;
    p.result(result(['vmalloc', 'remap_vmalloc_range'], 'refused', 'EINVAL'));
    assert.equal(p.etaMs(), 30_000, '15 s per cell, 2 left');
  });

  it('off a terminal: one plain line per finished cell, nothing on start', () => {
    let now = 0;
    const s = sink(false);
    const p = new Progress(3, s.out, () => now);
    p.start('6.1.0-56-amd64', makeCell('pages_nocomp', 'fault_page', 16 * 1024));
    assert.equal(s.text(), '');
    now = 12_000;
    p.result(result(['pages_nocomp', 'fault_page'], 'kernel-complaint', 'bad-page-state'));
    now = 18_000;
    p.result(result(['vmalloc', 'remap_vmalloc_range'], 'refused', 'EINVAL'));
    const lines = s.text().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(
      lines[0],
      '[1/3] 6.1.0-56-amd64 pages_nocomp/fault_page/16K/basic: kernel-complaint (bad-page-state), agrees (4s); kernel-complaint 1; ETA 24s',
    );
    assert.equal(
      lines[1],
      '[2/3] 6.1.0-56-amd64 vmalloc/remap_vmalloc_range/16K/basic: refused (EINVAL), agrees (4s); kernel-complaint 1, refused 1; ETA 9s',
    );
    assert.ok(!s.text().includes('\r'));
  });

  it('counts results that do not agree with their expectation', () => {
    const s = sink(false);
    const p = new Progress(1, s.out, () => 0);
    p.result(result(['vmalloc_user', 'remap_vmalloc_range'], 'oops', 'page-fault-oops'));
    assert.match(s.text(), /oops \(page-fault-oops\), differs .*; oops 1; 1 not as predicted; ETA 0s\n$/);
  });

  it('on a terminal: one status line redrawn in place with the current kernel and cell', () => {
    let now = 0;
    const s = sink(true);
    const p = new Progress(2, s.out, () => now);
    p.start('6.12.117+deb12-amd64', makeCell('pages_comp', 'vmf_insert_pfn', 16 * 1024));
    assert.equal(s.text(), '\r\x1b[2K[0/2] 6.12.117+deb12-amd64 pages_comp/vmf_insert_pfn/16K/basic | no verdict yet | ETA ?');
    now = 5000;
    p.result(result(['pages_comp', 'vmf_insert_pfn'], 'ok'));
    assert.ok(s.text().endsWith('\r\x1b[2K[1/2] | ok 1 | ETA 5s'), JSON.stringify(s.text()));
    assert.ok(!s.text().includes('\n'));
  });

  it('on a terminal: a message clears the status line and redraws it after', () => {
    const s = sink(true);
    const p = new Progress(2, s.out, () => 0);
    p.start('k', makeCell('pages_comp', 'vmf_insert_pfn', 16 * 1024));
    const before = s.text().length;
    p.log('6.1.0-56-amd64: 2 boot(s)');
    const after = s.text().slice(before);
    assert.ok(after.startsWith('\r\x1b[2K6.1.0-56-amd64: 2 boot(s)\n\r\x1b[2K[0/2] k '), JSON.stringify(after));
    p.finish();
    assert.ok(s.text().endsWith('\r\x1b[2K'));
  });

  it('on a terminal: the status line is cut to the terminal width', () => {
    const s = sink(true);
    s.out.columns = 40;
    const p = new Progress(2, s.out, () => 0);
    p.start('6.12.117+deb12-amd64', makeCell('pages_comp', 'vmf_insert_pfn', 16 * 1024));
    const line = s.text().replace('\r\x1b[2K', '');
    assert.equal(line.length, 39);
    assert.ok(line.endsWith('…'));
  });
});
