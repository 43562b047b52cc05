/**
 * Every hazard cell, on each default kernel, with allow_hazards=1: each must
 * meet its prediction, or match its observation record (then its title says
 * that it contradicts the prediction, as recorded). Cells that damage the
 * kernel end their VM; the rest continue in a fresh one. Each cell becomes a
 * test with its evidence in the message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runsDir } from '../../lib/paths';
import Mocha from 'mocha';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { compare, expectationFor } from '../../lib/experiments/expectations';
import { agreementText, expectedLabel } from '../../lib/report/view';
import type { CellResult } from '../../lib/experiments/types';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { installedKernel } from '../installed-kernel';
import { ensureModule } from '../../lib/vm/kmod';
import { runCells } from '../../lib/runner/cell-vms';
import { DEFAULT_VM } from '../../lib/vm/session';

export const HAZARD_CELLS = CATALOGUE.filter((c) => c.hazard);

function evidenceOf(r: CellResult): string {
  const lines = [`observed ${r.verdict} (${r.detail}): ${r.headline}`];
  for (const f of r.evidence.findings.slice(0, 5)) lines.push(`  finding ${f.kind}: ${f.line}${f.reason ? ` (${f.reason})` : ''}`);
  if (r.evidence.taintGained.length > 0) lines.push(`  taint gained: ${r.evidence.taintGained.join('')}`);
  for (const l of (r.evidence.console ?? r.evidence.kmsg).slice(0, 12)) lines.push(`  | ${l}`);
  return lines.join('\n');
}

for (const { series } of REQUIRED_SERIES) {
  const installed = installedKernel(series);
  describe(`hazards reproduce their documented failures on ${installed.title} (QEMU)`, function () {
    this.timeout(1_200_000);
    let results: CellResult[] = [];

    before(async function () {
      const kernel = installed.get();
      const module = { path: ensureModule(kernel).path, params: { allow_hazards: '1' } };
      results = (await runCells(kernel, HAZARD_CELLS, module, DEFAULT_VM)).results;
      // Kept for reports: the evidence of every hazard cell of this run.
      fs.mkdirSync(runsDir(), { recursive: true });
      fs.writeFileSync(path.join(runsDir(), `hazards-${kernel.release}.json`), JSON.stringify(results, null, 1));
      const suite = this.test?.parent as Mocha.Suite;
      for (const r of results) {
        const e = expectationFor(r.cell, series);
        const want = e ? expectedLabel({ rule: e.name, ...e }) : 'no expectation';
        const agreement = compare(r.cell, series, r.verdict, r.detail);
        const seen = `${r.verdict}${r.detail ? ` (${r.detail})` : ''}`;
        suite.addTest(
          new Mocha.Test(`[${r.kernel}] ${r.cell.id}: predicted ${want}; observed ${seen}: ${agreementText(agreement)}`, function () {
            assert.ok(e, 'every hazard has an expectation row');
            assert.ok(
              agreement === 'agrees' || agreement === 'as-recorded',
              `${evidenceOf(r)}\npredicted ${want}: ${e.reason}${(e.observed ?? []).map((o) => `\nrecorded: ${o.verdict} on ${o.series}`).join('')}`,
            );
            if (r.cell.method === 'remap_pfn_range_first_pfn' && r.verdict === 'ok') {
              assert.equal(r.evidence.observation?.pfnsConsecutive, true, 'an ok first-pfn remap is explained by consecutive pfns');
            }
            if (r.verdict === 'kernel-complaint' || r.verdict === 'oops') {
              assert.ok(r.evidence.findings.length > 0 || (r.evidence.console ?? []).length > 0, 'the evidence is captured');
            }
          }),
        );
      }
    });

    it(`every hazard cell produced a result on ${installed.title}`, function () {
      assert.deepEqual(results.map((r) => r.cell.id).sort(), HAZARD_CELLS.map((c) => c.id).sort());
    });
  });
}
