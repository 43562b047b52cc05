/**
 * One cell's result in full, for `mmaplab run`: everything the verdict was
 * made from, in the order a reader checks it. Pure: result in, text out.
 */
import { compare, expectationFor, type Outcome } from '../experiments/expectations';
import { stuckTaskLines, type CellResult, type Mismatch, type ProbeObservation } from '../experiments/types';
import { seriesOf } from '../vm/kernels';
import { formatDuration } from './progress';

function outcome(o: Outcome): string {
  return o.detail !== undefined ? `${o.verdict} (${o.detail})` : o.verdict;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function mismatch(m: Mismatch | null): string {
  return m === null ? 'ok' : `mismatch at offset ${m.offset}: expected ${hex(m.expected)}, found ${hex(m.found)}`;
}

/** Observation fields shown on their own lines; any other non-null field is listed after them. */
const SHOWN = new Set([
  'steps',
  'refused',
  'kernelToUser',
  'userToKernel',
  'afterFree',
  'signal',
  'error',
  'drainedCpu',
  'pfnsConsecutive',
  'stats',
  'deviceSide',
]);

function observationLines(o: ProbeObservation): string[] {
  const out = [`  steps:        ${o.steps.length > 0 ? o.steps.join(' > ') : '(none)'}`];
  if (o.refused !== null) {
    const r = o.refused;
    out.push(`  refused:      ${r.step}: ${r.code}: ${r.message}`);
    if (r.reason !== undefined || r.text !== undefined) {
      out.push(`                module says: ${[r.reason, r.text].filter((x) => x !== undefined).join(': ')}`);
    }
  }
  const ran = (step: string): boolean => (o.steps as readonly string[]).includes(step);
  if (ran('read') || o.kernelToUser !== null) out.push(`  kernel->user: ${mismatch(o.kernelToUser)}`);
  if (ran('verify') || o.userToKernel !== null) out.push(`  user->kernel: ${mismatch(o.userToKernel)}`);
  if (ran('reread') || o.afterFree !== null) out.push(`  after free:   ${mismatch(o.afterFree)}`);
  if (o.signal !== null) out.push(`  signal:       ${o.signal}`);
  if (o.error !== null) out.push(`  probe error:  ${o.error}`);
  if (o.stats !== null) {
    const s = o.stats;
    out.push(
      `  stats:        faults ${s.faults}, map_pages calls ${s.mapPagesCalls}, pages mapped ${s.pagesMapped}, ` +
        `vma opens ${s.vmaOpens}, closes ${s.vmaCloses}`,
    );
  }
  out.push(`  drained cpu:  ${o.drainedCpu === null ? 'none (a double free could go unnoticed)' : o.drainedCpu}`);
  if (o.pfnsConsecutive !== null) out.push(`  pfns consecutive: ${o.pfnsConsecutive ? 'yes' : 'no'}`);
  const side = o.deviceSide;
  if (side !== undefined) {
    const how = 'via' in side ? side.via : side.file;
    out.push(`  device saw:   ${side.checked ? `${mismatch(side.mismatch)} (${how})` : `not checked: ${side.why}`}`);
  }
  for (const [k, v] of Object.entries(o)) {
    if (SHOWN.has(k) || v === null || v === undefined) continue;
    out.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return out;
}

export function renderEvidence(r: CellResult): string {
  const series = seriesOf(r.kernel);
  const e = expectationFor(r.cell, series);
  const agreement = compare(r.cell, series, r.verdict, r.detail);
  const c = r.cell;
  const out = [
    `${c.id} on ${r.kernel}`,
    `  ${c.title}`,
    `  allocator ${c.alloc}, method ${c.method}, ${c.size} bytes, scenario ${c.scenario}, cache ${c.cache}` +
      `${c.faultAround ? ', fault-around' : ''}, profile ${c.profile}${c.hazard ? ', hazard (allow_hazards=1)' : ''}`,
    '',
    `verdict:    ${outcome({ verdict: r.verdict, detail: r.detail === '' ? undefined : r.detail })}`,
    `headline:   ${r.headline}`,
  ];
  if (e) {
    out.push(`predicted:  ${outcome(e)} (rule ${e.name}, series ${e.series})`);
    if (e.also !== undefined && e.also.length > 0) out.push(`  or also:  ${e.also.map(outcome).join(', ')}`);
    out.push(`  reason:   ${e.reason}`);
    for (const o of e.observed ?? [])
      out.push(`  observation record: ${outcome(o)} on ${o.series === '*' ? 'every series' : o.series}: ${o.note}`);
  } else {
    out.push('predicted:  - (no expectation row matches this cell)');
  }
  out.push(`agreement:  ${agreement}`, `duration:   ${formatDuration(r.durationMs)}`, '');
  const ev = r.evidence;
  if (ev.observation === null) out.push('probe: no observation (the probe never reported)');
  else out.push('probe:', ...observationLines(ev.observation));
  if (ev.stuck !== undefined) {
    out.push(
      `stuck probe: ${ev.stuck.where}${ev.stuck.step ? `, last step ${ev.stuck.step}` : ''}`,
      ...stuckTaskLines(ev.stuck.tasks).map((l) => `  ${l}`),
    );
  }
  if (ev.kmsgLost !== undefined) out.push(`kmsg records lost: ${ev.kmsgLost} (the ring buffer overran)`);
  out.push('');
  if (ev.findings.length === 0) out.push('findings: none');
  else {
    out.push(`findings (${ev.findings.length}):`);
    for (const f of ev.findings) {
      out.push(`  ${f.severity} ${f.kind}: ${f.line}`);
      if (f.reason !== undefined) out.push(`    because: ${f.reason}`);
    }
  }
  out.push(`taint gained: ${ev.taintGained.length > 0 ? ev.taintGained.join('') : 'none'}`, '');
  if (ev.kmsg.length === 0) out.push('kmsg window: empty');
  else out.push(`kmsg window (${ev.kmsg.length} line(s)):`, ...ev.kmsg.map((l) => `  ${l}`));
  if (ev.console !== undefined && ev.console.length > 0) {
    out.push('', `console tail (${ev.console.length} line(s), the VM died in this cell):`, ...ev.console.map((l) => `  ${l}`));
  }
  return out.join('\n');
}
