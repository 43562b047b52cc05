/**
 * lib/report/tap: TAP version 14, read back line by line: the plan matches
 * the test points, points are numbered in order, every point has a closed
 * YAML block whose values are valid (JSON-compatible) double-quoted scalars.
 */
import { strict as assert } from 'node:assert';
import { renderTap } from '../../lib/report/tap';
import { HOSTILE_KMSG, K510, K61, K612, surpriseReport } from './report-fixture';
import { at } from '../../lib/util/at';

interface Point {
  ok: boolean;
  n: number;
  description: string;
  yaml: Record<string, string>;
  /** "TODO reason" or "SKIP reason" when the point has a directive. */
  directive?: string;
}

/** A strict reader for the subset of TAP 14 the report uses; throws on anything else. */
function readTap(text: string): { plan: number; points: Point[] } {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines[0], 'TAP version 14');
  const [, planned] = /^1\.\.(\d+)$/.exec(lines[1] ?? '') ?? [];
  assert.ok(planned !== undefined, `plan line: ${lines[1]}`);
  const points: Point[] = [];
  let i = 2;
  while (i < lines.length) {
    // An unescaped " # " starts a directive (descriptions escape their own '#').
    const [, ok, n, description, directive, reason] =
      /^(ok|not ok) (\d+) - ((?:[^#\\]|\\.)*?)(?: # (TODO|SKIP) (.*))?$/.exec(at(lines, i, 'a test point')) ?? [];
    assert.ok(description !== undefined, `line ${i + 1} is a test point: ${lines[i]}`);
    const point: Point = { ok: ok === 'ok', n: Number(n), description, yaml: {} };
    if (directive !== undefined) point.directive = `${directive} ${reason ?? ''}`;
    i++;
    assert.equal(lines[i], '  ---', `line ${i + 1} opens the YAML block`);
    for (i++; lines[i] !== '  ...'; i++) {
      assert.ok(i < lines.length, 'YAML block closed');
      const [, key, value] = /^ {2}([a-z]+): (".*")$/.exec(at(lines, i, 'a YAML line')) ?? [];
      assert.ok(key !== undefined && value !== undefined, `line ${i + 1} is a YAML key with a quoted value: ${lines[i]}`);
      point.yaml[key] = JSON.parse(value) as string;
    }
    i++;
    points.push(point);
  }
  return { plan: Number(planned), points };
}

describe('report.tap (lib/report/tap.ts)', function () {
  const r = surpriseReport();
  const tap = readTap(renderTap(r));

  it('the plan count matches the test points, numbered 1..N, one per kernel x cell', function () {
    assert.equal(tap.plan, r.cells.length);
    assert.equal(tap.points.length, tap.plan);
    tap.points.forEach((p, i) => assert.equal(p.n, i + 1));
  });

  it('"ok" only when the cell agrees; descriptions say kernel, cell and verdict', function () {
    const byDesc = (prefix: string): Point => {
      const p = tap.points.find((x) => x.description.startsWith(prefix));
      assert.ok(p, prefix);
      return p;
    };
    const agrees = byDesc(`${K61} pages_nocomp/fault_page/16K/basic: `);
    assert.equal(agrees.ok, true);
    assert.equal(agrees.description, `${K61} pages_nocomp/fault_page/16K/basic: kernel-complaint (bad-page-state)`);
    assert.equal(byDesc(`${K612} pages_nocomp/fault_page/16K/basic: `).ok, false, 'flaky');
    assert.equal(byDesc(`${K510} pages_comp/vm_insert_folio/16K/basic: `).ok, false, 'no expectation');
    assert.equal(byDesc(`${K510} kmalloc/fault_page/4K/basic: `).ok, false, 'differs, nothing recorded on 5.10');
    assert.equal(byDesc(`${K612} pages_comp/vm_insert_page/16K/fork-child: `).ok, true, 'a scenario unknown to this mmaplab');
    assert.equal(byDesc(`${K612} pages_array/vm_insert_page/16K/basic: `).ok, false, 'harness error');
    assert.equal(tap.points.filter((p) => !p.ok).length, 6);
    assert.deepEqual(
      tap.points.filter((p) => p.directive !== undefined).map((p) => [p.description, p.ok, p.directive]),
      [[`${K612} kmalloc/fault_page/4K/basic: ok`, false, 'TODO contradicts its prediction, as recorded (observation record)']],
      'only the cell that matches its observation record is a TODO: a known failure of its prediction',
    );
  });

  it('the YAML block has predicted, observed, agreement, reason and headline; hostile text round-trips', function () {
    const differs = tap.points.find((p) => p.description.startsWith(`${K61} vmalloc_user/remap_vmalloc_range/16K/basic`));
    assert.ok(differs);
    assert.deepEqual(Object.keys(differs.yaml), ['predicted', 'observed', 'agreement', 'reason', 'headline']);
    assert.equal(differs.yaml['predicted'], 'ok');
    assert.equal(differs.yaml['observed'], 'wrong-data (kernel->user)');
    assert.equal(differs.yaml['agreement'], 'differs');
    assert.equal(differs.yaml['headline'], HOSTILE_KMSG.replace('\uD800', ''), 'only the lone surrogate is lost');
    const flaky = tap.points.find((p) => p.description.startsWith(`${K612} pages_nocomp/fault_page/16K/basic`));
    assert.equal(flaky?.yaml['runs'], '2x kernel-complaint bad-page-state, 1x ok');
    const recorded = tap.points.find((p) => p.description.startsWith(`${K612} kmalloc/fault_page/4K/basic`));
    assert.match(recorded?.yaml['recorded'] ?? '', /^ok on 6\.12: seen on 6\.12 on most runs/);
  });

  it('a "#" in a description is escaped so it cannot start a directive', function () {
    const odd = surpriseReport();
    const first = odd.cells[0];
    assert.ok(first);
    first.detail = 'x # SKIP y';
    first.verdict = 'refused';
    const line = at(renderTap(odd).split('\n'), 2, 'the first test point');
    assert.match(line, /refused \(x \\# SKIP y\)$/);
  });
});
