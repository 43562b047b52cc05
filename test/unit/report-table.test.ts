/**
 * lib/report/table: the terminal table (verdict vs expectation, an evidence
 * line under anything not ok) and the tally over repeated runs.
 */
import { strict as assert } from 'node:assert';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import type { CellResult, CellSpec, Verdict } from '../../lib/experiments/types';
import { renderTable, renderTally, tableRows, tally } from '../../lib/report/table';
import { at } from '../../lib/util/at';

function spec(id: string): CellSpec {
  const c = CATALOGUE.find((x) => x.id === id);
  assert.ok(c, `${id} is in the catalogue`);
  return c;
}

const VMALLOC = spec('vmalloc_user/remap_vmalloc_range/16K/basic');
const NOCOMP = spec('pages_nocomp/fault_page/16K/basic');

const OK_HEADLINE = 'data correct both ways, no kernel complaint, no new taint';
const BAD_PAGE_HEADLINE = 'BUG: Bad page state in process rmmod  pfn:10a3b1 (nonzero _refcount)';

function result(kernel: string, cell: CellSpec, verdict: Verdict, detail = '', headline = OK_HEADLINE): CellResult {
  return {
    kernel,
    cell,
    verdict,
    detail,
    headline,
    evidence: { kmsg: [], findings: [], taintGained: [], observation: null },
    durationMs: 1234,
  };
}

const RESULTS: CellResult[] = [
  result('6.1.0-56-amd64', VMALLOC, 'ok'),
  result('6.1.0-56-amd64', NOCOMP, 'kernel-complaint', 'bad-page-state', BAD_PAGE_HEADLINE),
  result(
    '6.12.117+deb12-amd64',
    VMALLOC,
    'wrong-data',
    'kernel->user',
    'kernel->user mismatch at offset 0: expected 0x00000001, found 0x00000000',
  ),
];

describe('report table', () => {
  it('tableRows shows the verdict with its detail, the expectation and whether they agree', () => {
    assert.deepEqual(tableRows(RESULTS), [
      { kernel: '6.1.0-56-amd64', cell: VMALLOC.id, verdict: 'ok', expected: 'ok', agreement: 'agrees' },
      {
        kernel: '6.1.0-56-amd64',
        cell: NOCOMP.id,
        verdict: 'kernel-complaint (bad-page-state)',
        expected: 'kernel-complaint (bad-page-state)',
        agreement: 'agrees',
      },
      {
        kernel: '6.12.117+deb12-amd64',
        cell: VMALLOC.id,
        verdict: 'wrong-data (kernel->user)',
        expected: 'ok',
        agreement: 'differs',
      },
    ]);
  });

  it('an ok verdict shows a detail only when it has one (what a use found)', () => {
    assert.equal(tableRows([result('6.1.0-56-amd64', VMALLOC, 'ok', '')])[0]?.verdict, 'ok');
    assert.equal(tableRows([result('6.1.0-56-amd64', VMALLOC, 'ok', 'resident-none')])[0]?.verdict, 'ok (resident-none)');
  });

  it('renderTable has a header, a rule and one line per result, with an evidence line only under non-ok', () => {
    const lines = renderTable(RESULTS).split('\n');
    assert.match(at(lines, 0, 'the header'), /^kernel +cell +verdict +predicted +vs prediction$/);
    assert.match(at(lines, 1, 'the rule'), /^-+ +-+ +-+ +-+ +-+$/);
    const body = lines.slice(2);
    assert.equal(body.length, RESULTS.length + 2, 'two non-ok results, two evidence lines');
    assert.match(at(body, 0, 'the first result'), /^6\.1\.0-56-amd64 +vmalloc_user\/remap_vmalloc_range\/16K\/basic +ok +ok +agrees$/);
    assert.match(
      at(body, 1, 'the second result'),
      /^6\.1\.0-56-amd64 +pages_nocomp\/fault_page\/16K\/basic +kernel-complaint \(bad-page-state\) +kernel-complaint \(bad-page-state\) +agrees$/,
    );
    assert.equal(body[2], `    evidence: ${BAD_PAGE_HEADLINE}`);
    assert.match(at(body, 3, 'the third result'), /wrong-data \(kernel->user\) +ok +differs$/);
    assert.equal(body[4], '    evidence: kernel->user mismatch at offset 0: expected 0x00000001, found 0x00000000');
    assert.ok(!renderTable(RESULTS).includes(OK_HEADLINE), 'ok results have no evidence line');
  });

  it('renderTable aligns the columns and leaves no trailing spaces', () => {
    const lines = renderTable(RESULTS)
      .split('\n')
      .filter((l) => !l.startsWith('    evidence: '));
    const header = at(lines, 0, 'the header');
    for (const col of ['cell', 'verdict', 'predicted', 'vs prediction']) {
      const start = header.indexOf(col);
      for (const line of lines.slice(2)) {
        assert.equal(line[start - 1], ' ', `column ${col} starts at ${start} in: ${line}`);
        assert.notEqual(line[start], ' ', `column ${col} starts at ${start} in: ${line}`);
      }
    }
    for (const line of renderTable(RESULTS).split('\n')) assert.equal(line, line.trimEnd());
  });

  it('renderTable of no results is the header and the rule', () => {
    assert.deepEqual(renderTable([]).split('\n'), [
      'kernel  cell  verdict  predicted  vs prediction',
      '------  ----  -------  ---------  -------------',
    ]);
  });
});

describe('report tally', () => {
  it('five clean runs of one cell are "5/5 ok"', () => {
    const runs = Array.from({ length: 5 }, () => result('6.1.0-56-amd64', VMALLOC, 'ok'));
    assert.deepEqual(tally(runs), [{ cell: VMALLOC.id, kernel: '6.1.0-56-amd64', counts: { ok: 5 }, runs: 5 }]);
    assert.equal(renderTally(runs), `6.1.0-56-amd64  ${VMALLOC.id}: 5/5 ok`);
  });

  it('mixed outcomes are counted per verdict and detail, in order of first appearance', () => {
    const runs = [
      result('6.1.0-56-amd64', NOCOMP, 'kernel-complaint', 'bad-page-state', BAD_PAGE_HEADLINE),
      result('6.1.0-56-amd64', NOCOMP, 'ok'),
      result('6.1.0-56-amd64', NOCOMP, 'kernel-complaint', 'bad-page-state', BAD_PAGE_HEADLINE),
      result('6.1.0-56-amd64', NOCOMP, 'kernel-complaint', 'warning', 'WARNING: ...'),
      result('6.1.0-56-amd64', NOCOMP, 'kernel-complaint', 'bad-page-state', BAD_PAGE_HEADLINE),
    ];
    assert.equal(
      renderTally(runs),
      `6.1.0-56-amd64  ${NOCOMP.id}: 3/5 kernel-complaint (bad-page-state), 1/5 ok, 1/5 kernel-complaint (warning)`,
    );
  });

  it('each kernel and cell pair gets its own line, in order of first appearance', () => {
    const runs = [
      result('6.1.0-56-amd64', VMALLOC, 'ok'),
      result('6.12.117+deb12-amd64', VMALLOC, 'ok'),
      result('6.1.0-56-amd64', NOCOMP, 'hang', 'no-observation', 'the probe never reported'),
      result('6.1.0-56-amd64', VMALLOC, 'ok'),
      result('6.12.117+deb12-amd64', VMALLOC, 'ok'),
    ];
    assert.deepEqual(renderTally(runs).split('\n'), [
      `6.1.0-56-amd64  ${VMALLOC.id}: 2/2 ok`,
      `6.12.117+deb12-amd64  ${VMALLOC.id}: 2/2 ok`,
      `6.1.0-56-amd64  ${NOCOMP.id}: 1/1 hang (no-observation)`,
    ]);
  });

  it('renderTally of no results is empty', () => {
    assert.equal(renderTally([]), '');
  });
});
