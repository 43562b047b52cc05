/**
 * Numbers of the benchmark section as text, shared by the HTML and Markdown
 * renderers so both show the same figures. Plain text: the callers escape.
 */
import type { Stat } from '../bench/types';
import { TARGETS, type TargetCheck, type TargetId } from '../bench/ratios';
import { at } from '../util/at';

/** Missing figures print as this (as in the files section). */
export const NONE = '-';

/** Three significant digits or so, never exponent notation. */
function sig(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

interface Unit {
  scale: number;
  name: string;
}

const TIME_UNITS: readonly Unit[] = [
  { scale: 1e9, name: 's' },
  { scale: 1e6, name: 'ms' },
  { scale: 1e3, name: 'µs' },
  { scale: 1, name: 'ns' },
];

const RATE_UNITS: readonly Unit[] = [
  { scale: 1e9, name: 'GB/s' },
  { scale: 1e6, name: 'MB/s' },
  { scale: 1e3, name: 'kB/s' },
  { scale: 1, name: 'B/s' },
];

function unitFor(units: readonly Unit[], v: number): Unit {
  return units.find((u) => Math.abs(v) >= u.scale) ?? at(units, units.length - 1, 'the smallest unit');
}

function inUnit(v: number, u: Unit): string {
  return `${sig(v / u.scale)} ${u.name}`;
}

/** A time in ns: '850 ns', '12.3 µs', '1.20 ms'. */
export function ns(v: number | null | undefined): string {
  return v === null || v === undefined ? NONE : inUnit(v, unitFor(TIME_UNITS, v));
}

/** A time in ms, shown in s from 10 s on and in min from 2 min on (boots, matrix runs). */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return NONE;
  if (v >= 120_000) return `${sig(v / 60_000)} min`;
  return v >= 10_000 ? `${sig(v / 1000)} s` : `${sig(v)} ms`;
}

/** '1.23×'; Infinity (nothing in the denominator) as '∞×'. */
export function times(v: number | null | undefined): string {
  if (v === null || v === undefined) return NONE;
  return v === Infinity ? '∞×' : `${sig(v)}×`;
}

export function count(v: number | null | undefined): string {
  return v === null || v === undefined ? NONE : Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/**
 * 'median [min–max]', min and max in the median's unit so the three read
 * together. kind picks the units: 'ns' (times in ns), 'ms', 'rate' (B/s).
 */
export function statText(s: Stat | null | undefined, kind: 'ns' | 'ms' | 'rate'): string {
  if (s === null || s === undefined) return NONE;
  if (kind === 'ms') return `${ms(s.median)} [${ms(s.min)}–${ms(s.max)}]`;
  const u = unitFor(kind === 'ns' ? TIME_UNITS : RATE_UNITS, s.median);
  return `${inUnit(s.median, u)} [${sig(s.min / u.scale)}–${sig(s.max / u.scale)}]`;
}

/** A target check's figure in its unit, or why there is none. */
export function targetValue(c: TargetCheck): string {
  if (c.value === null) return c.reason ?? 'not measured';
  return TARGETS[c.id].unit === 'ms' ? ms(c.value) : times(c.value);
}

/** The threshold as people read it: '≥ 0.95×', '≤ 2.5 s', '≤ 5 min'. */
export function targetThreshold(id: TargetId): string {
  const t = TARGETS[id];
  const v = t.unit === 'ms' ? (t.threshold >= 60_000 ? `${t.threshold / 60_000} min` : `${t.threshold / 1000} s`) : `${t.threshold}×`;
  return `${t.kind === 'min' ? '≥' : '≤'} ${v}`;
}
