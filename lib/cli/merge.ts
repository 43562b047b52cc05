/**
 * `mmaplab merge a.json b.json ...`: the report.json files of shards (or of
 * separate runs) as one report. Cells are concatenated in input order and
 * kernels joined; the first input's environment is kept, with every input
 * listed under environment.merged.
 *
 * The same kernel + cell in two inputs is taken as repeats of that cell: one
 * ReportCell with the runs of both, its distribution summed and 'flaky' when
 * the runs disagree. It is refused when the inputs define the cell
 * differently or judged it against different expectations (the catalogue or
 * the table changed between them), or when one and the same run is in both
 * (the same report given twice).
 */
import * as path from 'node:path';
import { readReport, summarizeRuns } from '../report/build';
import type { NotApplicable } from '../experiments/applicable';
import {
  REPORT_SCHEMA,
  REPORT_VERSION,
  type MatrixReport,
  type MergedInput,
  type ReportCell,
  type ReportEnvironment,
  type ReportKernel,
} from '../report/schema';
import { MmaplabError } from '../util/errors';
import { usageError, type CliOptions } from './args';
import { defaultOutDir, log } from './common';
import { agreementExit, agreementSummary } from './exit';
import type { KernelFiles } from '../experiments/file-triggers';
import { filesSectionOf } from './files';
import { writeAll } from './reports';

export interface MergeInput {
  /** Where it came from, for messages and the merged note. */
  file: string;
  report: MatrixReport;
}

export type { MergedInput };

/** The environment of a merged report: the first input's, plus what was merged. */
export interface MergedEnvironment extends ReportEnvironment {
  merged: MergedInput[];
}

/** JSON with object keys sorted: equality that does not depend on key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function conflict(message: string): MmaplabError {
  return new MmaplabError('EMERGE', message);
}

function combine(a: ReportCell, aFile: string, b: ReportCell, bFile: string): ReportCell {
  const what = `${a.cell.id} on ${a.kernel}`;
  if (canonical(a.cell) !== canonical(b.cell)) {
    throw conflict(`${what}: ${aFile} and ${bFile} define the cell differently (the catalogue changed between the runs?)`);
  }
  if (canonical(a.expectation) !== canonical(b.expectation)) {
    throw conflict(`${what}: ${aFile} and ${bFile} judge it against different expectations`);
  }
  const seen = new Set(a.runs.map(canonical));
  if (b.runs.some((r) => seen.has(canonical(r)))) {
    throw conflict(`${what}: the same run is in ${aFile} and ${bFile} (the same report given twice?)`);
  }
  const runs = [...a.runs, ...b.runs];
  return { ...a, runs, ...summarizeRuns(runs) };
}

export function mergeReports(inputs: readonly MergeInput[]): MatrixReport {
  const first = inputs[0];
  if (first === undefined) throw usageError('merge needs one or more report.json files', 'merge');
  const kernels = new Map<string, ReportKernel>();
  const cells = new Map<string, { cell: ReportCell; file: string }>();
  for (const { file, report } of inputs) {
    for (const k of report.kernels) {
      const had = kernels.get(k.release);
      if (!had) {
        kernels.set(k.release, { ...k });
        continue;
      }
      had.boots += k.boots;
      if (had.restored !== undefined || k.restored !== undefined) had.restored = (had.restored ?? 0) + (k.restored ?? 0);
      const why = [...new Set([...(had.coldFallbacks ?? []), ...(k.coldFallbacks ?? [])])];
      if (why.length > 0) had.coldFallbacks = why;
      const left = mergeNotApplicable(had.notApplicable ?? [], k.notApplicable ?? []);
      if (left.length > 0) had.notApplicable = left;
      const accels = new Set([...had.accel.split(','), k.accel]);
      had.accel = [...accels].join(',');
    }
    for (const c of report.cells) {
      const key = `${c.kernel}\u0000${c.cell.id}`;
      const had = cells.get(key);
      cells.set(key, had ? { cell: combine(had.cell, had.file, c, file), file: had.file } : { cell: c, file });
    }
  }
  const environment: MergedEnvironment = {
    ...first.report.environment,
    merged: inputs.map(({ file, report }) => ({
      file,
      generated: report.environment.generated,
      cells: report.cells.length,
      kernels: report.kernels.map((k) => k.release),
    })),
  };
  // File measurements: every kernel's, from the first input that has them.
  const fileKernels = new Map<string, KernelFiles>();
  for (const { report } of inputs) {
    for (const k of report.files?.kernels ?? []) if (!fileKernels.has(k.kernel)) fileKernels.set(k.kernel, k);
  }
  // A cell one input ran is not "not applicable" because another left it out.
  for (const k of kernels.values()) {
    if (k.notApplicable === undefined) continue;
    const left = k.notApplicable
      .map((n) => {
        const ids = n.cells.filter((id) => !cells.has(`${k.release}\u0000${id}`));
        return { ...n, cells: ids, uses: n.uses.filter((u) => ids.some((id) => id.split('/').includes(`use:${u}`))) };
      })
      .filter((n) => n.cells.length > 0);
    if (left.length > 0) k.notApplicable = left;
    else delete k.notApplicable;
  }
  return {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    environment,
    kernels: [...kernels.values()],
    cells: [...cells.values()].map((x) => x.cell),
    ...(fileKernels.size > 0 ? { files: filesSectionOf([...fileKernels.values()]) } : {}),
    ...stoppedOf(inputs),
  };
}

/** A merge of reports of which some stopped early stopped early too: every reason and not-run line, by input. */
function stoppedOf(inputs: readonly MergeInput[]): Pick<MatrixReport, 'stopped'> {
  const stopped = inputs.filter((i) => i.report.stopped !== undefined);
  if (stopped.length === 0) return {};
  return {
    stopped: {
      reason: stopped.map((i) => `${i.file}: ${i.report.stopped?.reason ?? ''}`).join('; '),
      notRun: stopped.flatMap((i) => i.report.stopped?.notRun ?? []),
    },
  };
}

export function mergeCommand(opts: CliOptions): number {
  const seen = new Set<string>();
  for (const f of opts.args) {
    const abs = path.resolve(f);
    if (seen.has(abs)) throw usageError(`${f} is given twice`, 'merge');
    seen.add(abs);
  }
  const merged = mergeReports(opts.args.map((file) => ({ file, report: readReport(file) })));
  const outDir = opts.out ?? defaultOutDir('merge');
  const files = writeAll(outDir, merged);
  process.stdout.write(`merged ${opts.args.length} report(s): ${agreementSummary(merged)} on ${merged.kernels.length} kernel(s)\n`);
  log(`reports in ${outDir}: ${files.map((f) => path.basename(f)).join(', ')}`);
  return agreementExit(merged, opts.noFail);
}

/** Per option, the cells and uses left out in any of the reports (shards select different cells). */
function mergeNotApplicable(a: readonly NotApplicable[], b: readonly NotApplicable[]): NotApplicable[] {
  const by = new Map<string, NotApplicable>();
  for (const n of [...a, ...b]) {
    const had = by.get(n.requires);
    by.set(
      n.requires,
      had
        ? { requires: n.requires, uses: [...new Set([...had.uses, ...n.uses])], cells: [...new Set([...had.cells, ...n.cells])] }
        : { requires: n.requires, uses: [...n.uses], cells: [...n.cells] },
    );
  }
  return [...by.values()];
}
