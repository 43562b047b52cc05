/**
 * Turn a window of kmsg records into findings, and findings into a summary.
 * Pure functions over plain data; the signature table is in signatures.ts.
 */

import { at } from '../util/at';
import { FACILITY_KERNEL, KmsgRecord } from './record';
import {
  CONTEXT_DISTANCE,
  CONTEXT_LINES,
  ContextSpec,
  FRAME_LINE,
  FRAME_REACH,
  FindingKind,
  SEVERITY_ORDER,
  SIGNATURES,
  Severity,
  SignatureSpec,
  TITLE_RULE,
  UNRECOGNISED_FRAME,
} from './signatures';

/** A record quoted as evidence. */
export interface EvidenceLine {
  seq: number;
  line: string;
}

/** One kernel complaint found in a window. Plain, JSON-serialisable. */
export interface Finding {
  kind: FindingKind;
  /** Canonical signature text (SignatureSpec.signature), e.g. "BUG: Bad page state". */
  signature: string;
  severity: Severity;
  /** The matching record. */
  seq: number;
  timestampUs: number;
  /** The matching record's message. */
  line: string;
  /** Task named by the line itself, or by the "CPU: ... Comm:" line of its stack dump. */
  process?: string;
  pid?: number;
  /** "page dumped because: <reason>" of a Bad page state/map report. */
  reason?: string;
  /** Named captures of the signature and of its attached context lines (strings as printed). */
  captures: Record<string, string>;
  /** Context records attached to this finding (reason, #PF, RIP, CPU lines). */
  context: EvidenceLine[];
}

interface Tracked {
  finding: Finding;
  spec: SignatureSpec;
  /** Index of the record in the window. */
  index: number;
  /** Names of the context specs already attached. */
  attached: Set<string>;
}

interface Pending {
  spec: ContextSpec;
  groups: Record<string, string>;
  evidence: EvidenceLine;
  index: number;
}

function definedGroups(m: RegExpExecArray): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.groups ?? {})) {
    if (value !== undefined && value !== '') out[name] = value.trim();
  }
  return out;
}

function newFinding(spec: SignatureSpec, record: KmsgRecord, groups: Record<string, string>): Finding {
  const finding: Finding = {
    kind: spec.kind,
    signature: spec.signature,
    severity: spec.severity,
    seq: record.seq,
    timestampUs: record.timestampUs,
    line: record.message,
    captures: { ...groups },
    context: [],
  };
  if (groups['process'] !== undefined) finding.process = groups['process'];
  if (groups['pid'] !== undefined) finding.pid = Number(groups['pid']);
  return finding;
}

function attach(target: Tracked, spec: ContextSpec, groups: Record<string, string>, evidence: EvidenceLine): void {
  const f = target.finding;
  for (const [name, value] of Object.entries(groups)) {
    if (!(name in f.captures)) f.captures[name] = value;
  }
  if (groups['reason'] !== undefined && f.reason === undefined) f.reason = groups['reason'];
  if (groups['comm'] !== undefined && f.process === undefined) f.process = groups['comm'];
  if (groups['pid'] !== undefined && f.pid === undefined) f.pid = Number(groups['pid']);
  f.context.push(evidence);
  target.attached.add(spec.name);
}

function isTarget(t: Tracked, spec: ContextSpec): boolean {
  if (!t.spec.stackDump) return false;
  return spec.attachTo === null || spec.attachTo.includes(t.finding.kind);
}

interface Hit {
  spec: SignatureSpec;
  groups: Record<string, string>;
}

function matchSpec(spec: SignatureSpec, record: KmsgRecord): Hit | null {
  if (spec.kernelOnly === true && record.facility !== FACILITY_KERNEL) return null;
  if (spec.unless?.test(record.message)) return null;
  const m = spec.pattern.exec(record.message);
  return m ? { spec, groups: definedGroups(m) } : null;
}

/** The entries of one pass (the fallbacks, or all others) that match a record. */
function matchSignatures(record: KmsgRecord, fallback: boolean): Hit[] {
  const hits: Hit[] = [];
  for (const spec of SIGNATURES) {
    if ((spec.fallback ?? false) !== fallback) continue;
    const hit = matchSpec(spec, record);
    if (hit) hits.push(hit);
  }
  // One finding per kind per record: "Oops: Oops: 0002 [#1]" is one oops.
  return hits.filter((h, i) => hits.findIndex((o) => o.spec.kind === h.spec.kind) === i);
}

function isFrameLine(r: KmsgRecord | undefined): boolean {
  return r !== undefined && FRAME_LINE.test(r.message);
}

/**
 * Indexes of the records that open a report frame: the line after a '=' frame line
 * that does not close an earlier one of the same length. A frame whose title is
 * underlined with '-' (lockdep, SLUB) is never closed, so it is not kept open.
 */
function frameTitles(records: readonly KmsgRecord[]): Set<number> {
  const titles = new Set<number>();
  const open = new Map<number, number>();
  records.forEach((r, i) => {
    if (!isFrameLine(r)) return;
    const width = r.message.trim().length;
    const opener = open.get(width);
    if (opener !== undefined && i - opener <= FRAME_REACH) {
      open.delete(width);
      return;
    }
    const title = records[i + 1];
    if (title === undefined || isFrameLine(title) || TITLE_RULE.test(title.message) || title.message.trim() === '') return;
    titles.add(i + 1);
    if (!records.slice(i + 2, i + 4).some((n) => TITLE_RULE.test(n.message))) open.set(width, i);
  });
  return titles;
}

/**
 * Attach a context line to the findings before it (or keep it for the next
 * finding it completes). False when the record is no context line, or one with
 * no report of its kinds in reach: then the fallback entries get it.
 */
function takeContext(record: KmsgRecord, index: number, tracked: readonly Tracked[], pending: Map<string, Pending>): boolean {
  for (const spec of CONTEXT_LINES) {
    const m = spec.pattern.exec(record.message);
    if (!m) continue;
    const groups = definedGroups(m);
    const evidence: EvidenceLine = { seq: record.seq, line: record.message };
    let taken = false;
    let inReach = false;
    for (let i = tracked.length - 1; i >= 0; i--) {
      const t = at(tracked, i, 'a tracked finding');
      if (index - t.index > CONTEXT_DISTANCE) break;
      if (!isTarget(t, spec)) continue;
      inReach = true;
      if (!t.attached.has(spec.name)) {
        attach(t, spec, groups, evidence);
        taken = true;
      }
      if (spec.mode === 'nearest') break;
    }
    if (taken) return true;
    if (spec.pendingFor === undefined) return inReach;
    pending.set(spec.name, { spec, groups, evidence, index });
    return true;
  }
  return false;
}

/**
 * Classify a window's records (in sequence order) into findings, in record
 * order and, within a record, in table order. A record that is a finding is
 * never also a context line; a context line is never a fallback finding.
 */
export function classify(records: readonly KmsgRecord[]): Finding[] {
  const tracked: Tracked[] = [];
  const pending = new Map<string, Pending>();
  const titles = frameTitles(records);

  const track = (hits: readonly Hit[], record: KmsgRecord, index: number): void => {
    for (const { spec, groups } of hits) {
      const t: Tracked = { finding: newFinding(spec, record, groups), spec, index, attached: new Set() };
      for (const [name, p] of pending) {
        if (index - p.index <= CONTEXT_DISTANCE && (p.spec.pendingFor ?? []).includes(spec.kind)) {
          attach(t, p.spec, p.groups, p.evidence);
          pending.delete(name);
        }
      }
      tracked.push(t);
    }
  };

  // Recognised reports first, then the lines that complete them; what is left
  // with a banner's shape (or opens a report frame) is an unrecognised report.
  records.forEach((record, index) => {
    const hits = matchSignatures(record, false);
    if (hits.length > 0) {
      track(hits, record, index);
      return;
    }
    if (takeContext(record, index, tracked, pending)) return;
    const fallbacks = matchSignatures(record, true);
    const frame = fallbacks.length === 0 && titles.has(index) ? matchSpec(UNRECOGNISED_FRAME, record) : null;
    track(frame !== null ? [frame] : fallbacks, record, index);
  });

  return tracked.map((t) => t.finding);
}

/** classify() under the name the runner uses: the findings of one cell's window. */
export const classifyWindow: (records: readonly KmsgRecord[]) => Finding[] = classify;

/** Negative if a is less severe than b, 0 if equal, positive if more severe. */
export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b);
}

export interface WindowSummary {
  /** The worst severity found, or 'clean' when there are no findings. */
  severity: Severity | 'clean';
  /** The first finding of the worst severity (what the verdict is about). */
  headline: Finding | null;
  /** The first finding of the window (what probably started it). */
  cause: Finding | null;
  counts: Partial<Record<FindingKind, number>>;
  /** Distinct oops numbers ([#N]) in the window. */
  oopses: number;
  /** Finding lines and their context lines, in sequence order, without duplicates. */
  evidence: EvidenceLine[];
  /** Evidence lines left out because of maxEvidence. */
  evidenceOmitted: number;
}

export interface SummaryOptions {
  /** Cap on evidence lines (the headline's lines are always kept); default 200. */
  maxEvidence?: number;
}

function linesOf(f: Finding): EvidenceLine[] {
  return [{ seq: f.seq, line: f.line }, ...f.context];
}

export function summarize(findings: readonly Finding[], options: SummaryOptions = {}): WindowSummary {
  const maxEvidence = options.maxEvidence ?? 200;
  // Stable: keeps table order within a record.
  const ordered = [...findings].sort((a, b) => a.seq - b.seq);

  let headline: Finding | null = null;
  for (const f of ordered) {
    if (headline === null || compareSeverity(f.severity, headline.severity) > 0) headline = f;
  }

  const counts: Partial<Record<FindingKind, number>> = {};
  const oopsNumbers = new Set<string>();
  for (const f of ordered) {
    counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    if (f.kind === 'oops' && f.captures['oops'] !== undefined) oopsNumbers.add(f.captures['oops']);
  }

  const bySeq = new Map<number, EvidenceLine>();
  for (const f of ordered) for (const e of linesOf(f)) bySeq.set(e.seq, e);
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  let evidence = all;
  if (all.length > maxEvidence) {
    const keep = new Set((headline === null ? [] : linesOf(headline)).map((e) => e.seq));
    for (const e of all) {
      if (keep.size >= maxEvidence) break;
      keep.add(e.seq);
    }
    evidence = all.filter((e) => keep.has(e.seq));
  }

  return {
    severity: headline === null ? 'clean' : headline.severity,
    headline,
    cause: ordered[0] ?? null,
    counts,
    oopses: oopsNumbers.size,
    evidence,
    evidenceOmitted: all.length - evidence.length,
  };
}

/** One line for people: the kernel's line, plus what the report around it added. */
export function describeFinding(f: Finding): string {
  const extra: string[] = [];
  if (f.reason !== undefined) extra.push(`because: ${f.reason}`);
  if (f.process !== undefined && !f.line.includes(f.process)) extra.push(`task ${f.process}`);
  if (f.captures['rip'] !== undefined) extra.push(`at ${f.captures['rip']}`);
  return extra.length === 0 ? `${f.kind}: ${f.line}` : `${f.kind}: ${f.line} (${extra.join('; ')})`;
}

/** Classify and summarise in one step. */
export function analyzeWindow(
  records: readonly KmsgRecord[],
  options: SummaryOptions = {},
): { findings: Finding[]; summary: WindowSummary } {
  const findings = classify(records);
  return { findings, summary: summarize(findings, options) };
}
