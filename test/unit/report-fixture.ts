/**
 * Synthetic matrix reports for the report and claims tests (and the
 * Chromium render test): deterministic, no VM. `expectedRun` gives a cell the
 * outcome its expectation row predicts; tests then override what they need.
 */
import { answerFileClaims } from '../../lib/experiments/file-claims';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';
import {
  emptyObservation,
  type CellEvidence,
  type CellResult,
  type CellSpec,
  type ProbeStep,
  type Verdict,
} from '../../lib/experiments/types';
import { buildReport } from '../../lib/report/build';
import type { MatrixReport, ReportEnvironment, ReportKernel } from '../../lib/report/schema';

export const K61 = '6.1.0-56-amd64';
export const K612 = '6.12.117+deb12-amd64';
/** A series no run has recorded observations for. */
export const K510 = '5.10.0-30-amd64';

export const KERNELS: ReportKernel[] = [
  { release: K61, series: '6.1', accel: 'tcg', boots: 12 },
  { release: K612, series: '6.12', accel: 'tcg', boots: 12 },
];

export const ENVIRONMENT: ReportEnvironment = {
  generated: '2026-11-24T17:00:00.000Z',
  target: 'qemu',
  mmaplab: '0.1.0',
  node: 'v20.20.2',
  host: { os: 'Linux', release: '6.1.0-56-amd64', arch: 'x64', cpus: 2 },
  qemu: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u19)',
};

/** A kmsg line that tries everything: markup, a script end, quotes, entities, control characters, a CDATA end. */
export const HOSTILE_KMSG =
  'BUG: Bad page state </script><img src=x onerror="alert(1)"> & \'single\' "double" &amp; ' +
  '\u0001\u001b[31m\u0000 \uFFFE\uD800 ]]> <!-- --> x<y>z';

/** The hostile line as it must read after stripping what XML 1.0 cannot hold. */
// eslint-disable-next-line no-control-regex -- the control characters XML 1.0 cannot hold are what it strips
export const HOSTILE_KMSG_XML_SAFE = HOSTILE_KMSG.replace(/[\u0001\u001b\u0000\uFFFE\uD800]/g, '');

export function spec(id: string): CellSpec {
  const c = CATALOGUE.find((x) => x.id === id);
  if (!c) throw new Error(`${id} is not in the catalogue`);
  return c;
}

const HEADLINES: Record<Verdict, string> = {
  ok: 'data correct both ways, no kernel complaint, no new taint',
  refused: 'mmap refused: EINVAL: invalid argument, mmap (vm_insert_page: kernel refused page 0 (pfn 0x62cb): -22)',
  'wrong-data': 'kernel->user mismatch at offset 4096: expected 0x5a5a0400, found 0x00000000',
  'user-signal': 'probe killed by SIGBUS',
  'kernel-complaint': 'BUG: Bad page state in process node  pfn:09955 (nonzero mapcount)',
  oops: 'BUG: unable to handle page fault for address: 00000000000371c8',
  panic: 'Kernel panic - not syncing: Fatal exception',
  hang: 'the probe never reported',
  error: 'probe failed: cannot open /dev/mmaplab',
};

const DEFAULT_DETAIL: Partial<Record<Verdict, string>> = {
  'wrong-data': 'kernel->user',
  'user-signal': 'SIGBUS',
  'kernel-complaint': 'bad-page-state',
  oops: 'page-fault-oops',
  panic: 'panic',
  hang: 'no-observation',
  error: 'probe-error',
};

export interface RunOptions {
  detail?: string;
  headline?: string;
  kmsg?: string[];
  pfnsConsecutive?: boolean | null;
}

export function run(kernel: string, cell: CellSpec, verdict: Verdict, o: RunOptions = {}): CellResult {
  const steps: ProbeStep[] = ['open', 'configure', 'mmap'];
  const observation = verdict === 'hang' ? null : { ...emptyObservation(), steps };
  if (observation) {
    observation.pfnsConsecutive = o.pfnsConsecutive === undefined ? false : o.pfnsConsecutive;
    observation.stats = { faults: 4, mapPagesCalls: 0, pagesMapped: 4, vmaOpens: 1, vmaCloses: 1 };
  }
  const headline = o.headline ?? HEADLINES[verdict];
  const evidence: CellEvidence = {
    kmsg: o.kmsg ?? [`mmaplab: node[154]: configuration for ${cell.id}`, ...(verdict === 'ok' ? [] : [headline])],
    findings:
      verdict === 'kernel-complaint' || verdict === 'oops' || verdict === 'panic'
        ? [
            {
              kind: o.detail ?? DEFAULT_DETAIL[verdict] ?? '',
              severity: verdict === 'kernel-complaint' ? 'complaint' : verdict,
              line: headline,
            },
          ]
        : [],
    taintGained: verdict === 'kernel-complaint' ? ['B'] : [],
    observation,
  };
  return { kernel, cell, verdict, detail: o.detail ?? DEFAULT_DETAIL[verdict] ?? '', headline, evidence, durationMs: 850 };
}

/** The outcome the cell's expectation row predicts on this kernel (ok where there is none). */
export function expectedRun(kernel: string, cell: CellSpec): CellResult {
  const series = KERNELS.find((k) => k.release === kernel)?.series ?? '6.1';
  const e = expectationFor(cell, series);
  if (!e) return run(kernel, cell, 'ok');
  return run(kernel, cell, e.verdict, e.detail !== undefined ? { detail: e.detail } : {});
}

export function report(results: readonly CellResult[], kernels: ReportKernel[] = KERNELS): MatrixReport {
  return buildReport(results, kernels, ENVIRONMENT);
}

/** Every catalogue cell on both kernels, each with its expected outcome; `override` replaces some runs. */
export function expectedResults(override: (r: CellResult) => CellResult[] | null = () => null): CellResult[] {
  const out: CellResult[] = [];
  for (const k of KERNELS) {
    for (const c of CATALOGUE) {
      const r = expectedRun(k.release, c);
      out.push(...(override(r) ?? [r]));
    }
  }
  return out;
}

/** A cell of a method this mmaplab does not know (a newer catalogue's): no rule predicts it. */
export function futureMethodCell(): CellSpec {
  const base = spec('pages_comp/vm_insert_page/16K/basic');
  return { ...base, id: 'pages_comp/vm_insert_folio/16K/basic', method: 'vm_insert_folio' as CellSpec['method'], title: 'a future method' };
}

/** A cell of a scenario this mmaplab does not know (a newer catalogue's). */
export function unknownScenarioCell(): CellSpec {
  const base = spec('pages_comp/vm_insert_page/16K/basic');
  return {
    ...base,
    id: 'pages_comp/vm_insert_page/16K/fork-child',
    scenario: 'fork-child' as CellSpec['scenario'],
    title: 'a future scenario',
  };
}

/**
 * The full catalogue on both kernels, as expected, plus one cell of each
 * kind of surprise: differs (with the hostile kmsg line), flaky (three
 * runs), a harness error, as recorded (the slab fault hazard ok on 6.12,
 * as its observation record shows), differs where no observation was
 * recorded (the same hazard ok on a 5.10 kernel, which ran nothing else),
 * and no expectation (a method this mmaplab does not know, on 5.10); and
 * a cell of a scenario this mmaplab does not know.
 */
export function surpriseReport(): MatrixReport {
  const results = expectedResults((r) => {
    if (r.kernel === K61 && r.cell.id === 'vmalloc_user/remap_vmalloc_range/16K/basic') {
      return [run(K61, r.cell, 'wrong-data', { headline: HOSTILE_KMSG, kmsg: [HOSTILE_KMSG, 'second line'] })];
    }
    if (r.kernel === K612 && r.cell.id === 'pages_nocomp/fault_page/16K/basic') {
      return [r, run(K612, r.cell, 'ok'), r];
    }
    if (r.kernel === K612 && r.cell.id === 'pages_array/vm_insert_page/16K/basic') {
      return [run(K612, r.cell, 'error')];
    }
    if (r.kernel === K612 && r.cell.id === 'kmalloc/fault_page/4K/basic') {
      return [run(K612, r.cell, 'ok')];
    }
    return null;
  });
  results.push(run(K612, unknownScenarioCell(), 'ok'));
  results.push(run(K510, spec('kmalloc/fault_page/4K/basic'), 'ok'));
  results.push(run(K510, futureMethodCell(), 'ok'));
  return report(results, [...KERNELS, { release: K510, series: '5.10', accel: 'tcg', boots: 1 }]);
}

/** A files section: page cache delivering at fsync but not at munmap, with hostile text in a note. */
export function filesSection(): NonNullable<MatrixReport['files']> {
  const base = {
    pages: 16,
    intact: true,
    readWriteCalls: 0,
    batches: 1,
    mkwriteFaults: 16,
    pagesWritten: 16,
    error: null,
  };
  const kernels = KERNELS.map((k) => ({
    kernel: k.release,
    results: [
      {
        ...base,
        method: 'page_cache' as const,
        trigger: 'msync-sync' as const,
        arrived: 16,
        firstMs: 1.25,
        lastMs: 2.5,
        paths: { fsync: 16 },
        note: null,
      },
      {
        ...base,
        method: 'page_cache' as const,
        trigger: 'munmap' as const,
        arrived: 0,
        firstMs: null,
        lastMs: null,
        paths: {},
        batches: 0,
        pagesWritten: 0,
        note: '<b>|pipe|</b>',
      },
    ],
  }));
  return { kernels, claims: kernels.flatMap((k) => answerFileClaims(k.kernel, k.results)) };
}
