/**
 * From the runner's CellResults to report.json, and back from disk.
 *
 * Results are grouped per (kernel, cell): repetitions of a cell become one
 * ReportCell with every run and the distribution of their verdicts. Runs
 * that disagree always show (`varies`, the distribution); the cell is
 * 'flaky' unless every outcome seen is one its prediction accepts (a hazard
 * that corrupts memory may hit different things each time) or its
 * observation record holds. The report never hides non-determinism behind
 * the first run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { compare, expectationFor } from '../experiments/expectations';
import type { CellResult } from '../experiments/types';
import { REPO_ROOT } from '../paths';
import { MmaplabError } from '../util/errors';
import { readPackageJson } from '../util/package-json';
import { renameLegacyKeys } from '../util/legacy-keys';
import { checkShape } from '../util/schema';
import { seriesOf } from '../vm/kernels';
import {
  type MatrixReport,
  MatrixReportSchema,
  REPORT_SCHEMA,
  REPORT_VERSION,
  type ReportCell,
  type ReportEnvironment,
  type ReportExpectation,
  type ReportKernel,
} from './schema';

/** "verdict detail" (or just the verdict): how runs are compared. */
export function outcomeKey(r: Pick<CellResult, 'verdict' | 'detail'>): string {
  return r.detail === '' ? r.verdict : `${r.verdict} ${r.detail}`;
}

/** The environment of a run on this machine. */
export function currentEnvironment(target: 'qemu' | 'host', qemu: string | null): ReportEnvironment {
  let version = '0.0.0';
  try {
    version = readPackageJson(path.join(REPO_ROOT, 'package.json'), 'EMALFORMED').version ?? version;
  } catch {
    // a report without the package version is still a report
  }
  return {
    generated: new Date().toISOString(),
    target,
    mmaplab: version,
    node: process.version,
    host: { os: os.type(), release: os.release(), arch: os.arch(), cpus: os.cpus().length },
    qemu,
  };
}

/** Groups results per kernel and cell (first appearance order) and judges each group. */
export function buildReport(results: readonly CellResult[], kernels: ReportKernel[], environment: ReportEnvironment): MatrixReport {
  const groups = new Map<string, [CellResult, ...CellResult[]]>();
  for (const r of results) {
    const key = `${r.kernel}\u0000${r.cell.id}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const cells: ReportCell[] = [];
  for (const runs of groups.values()) cells.push(reportCell(runs));
  return { schema: REPORT_SCHEMA, version: REPORT_VERSION, environment, kernels, cells };
}

/** The distribution of a cell's runs and how they stand against its expectation. */
export function summarizeRuns(runs: readonly CellResult[]): Pick<ReportCell, 'agreement' | 'varies' | 'distribution'> {
  const distribution: Record<string, number> = {};
  for (const r of runs) distribution[outcomeKey(r)] = (distribution[outcomeKey(r)] ?? 0) + 1;
  const varies = Object.keys(distribution).length > 1;
  const each = runs.map((r) => compare(r.cell, seriesOf(r.kernel), r.verdict, r.detail));
  let agreement: ReportCell['agreement'];
  if (each.length > 0 && each.every((a) => a === 'agrees')) agreement = 'agrees';
  else if (each.length > 0 && each.every((a) => a === 'agrees' || a === 'as-recorded')) agreement = 'as-recorded';
  else if (varies) agreement = 'flaky';
  else agreement = each[0] ?? 'no-expectation';
  return { agreement, varies, distribution };
}

function reportCell(runs: [CellResult, ...CellResult[]]): ReportCell {
  const [first] = runs;
  const series = seriesOf(first.kernel);
  const e = expectationFor(first.cell, series);
  let expectation: ReportExpectation | null = null;
  if (e) {
    expectation = { rule: e.name, verdict: e.verdict, reason: e.reason };
    if (e.detail !== undefined) expectation.detail = e.detail;
    if (e.also !== undefined) expectation.also = e.also;
    if (e.observed !== undefined) expectation.observed = e.observed;
  }
  return {
    kernel: first.kernel,
    series,
    cell: first.cell,
    verdict: first.verdict,
    detail: first.detail,
    headline: first.headline,
    expectation,
    runs,
    ...summarizeRuns(runs),
  };
}

/**
 * Reads and checks a report.json (or a gzipped one, report.json.gz);
 * MmaplabError 'EREPORT' when it is not one this version reads, naming the
 * first bad place ('FILE: cells[12].verdict: expected ..., got ...'). The
 * report is returned as the file holds it.
 */
export function readReport(file: string): MatrixReport {
  let data: unknown;
  try {
    const bytes = fs.readFileSync(file);
    data = JSON.parse((file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString('utf8'));
  } catch (err) {
    throw new MmaplabError('EREPORT', `cannot read ${file}: ${(err as Error).message}`);
  }
  const r = data as Partial<MatrixReport> | null;
  if (r === null || typeof r !== 'object' || r.schema !== REPORT_SCHEMA) {
    throw new MmaplabError('EREPORT', `${file} is not an mmaplab report (no "schema": "${REPORT_SCHEMA}")`);
  }
  if (r.version !== REPORT_VERSION) {
    throw new MmaplabError('EREPORT', `${file} has report version ${String(r.version)}; this mmaplab reads version ${REPORT_VERSION}`);
  }
  return checkShape(MatrixReportSchema, renameLegacyKeys(data), file, 'EREPORT');
}
