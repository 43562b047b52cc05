/**
 * Horizontal grouped bar charts as inline SVG: a page shows them with no
 * script and no external asset, and they print. Labels run down the left
 * (method names are long), one bar per series in each group, a min–max
 * whisker over each bar, dashed reference lines (a baseline, a target)
 * across the plot, and the value written after each bar so the chart can
 * be read without the axis. Every text goes through escape.html.
 */
import { html } from './escape';

export interface ChartSeries {
  name: string;
  /** A CSS colour literal such as '#1565c0' (ours, never report text). */
  color: string;
}

export interface ChartBar {
  value: number;
  /** The whisker: the smallest and largest of the repetitions. */
  min?: number;
  max?: number;
  /** Written after the bar. */
  text: string;
}

export interface ChartGroup {
  label: string;
  /** One per series, in series order; null where that series has no figure. */
  bars: ReadonlyArray<ChartBar | null>;
}

export interface ChartMarker {
  value: number;
  /** Shown in the legend, next to a dashed swatch. */
  label: string;
  color: string;
}

export interface BarChart {
  title: string;
  series: readonly ChartSeries[];
  groups: readonly ChartGroup[];
  markers?: readonly ChartMarker[];
  /** Axis tick text for a value in the chart's unit. */
  tick: (v: number) => string;
}

const WIDTH = 640;
const FONT = 11;
const BAR_H = 11;
const BAR_GAP = 2;
const GROUP_GAP = 9;
const LEGEND_ROW = 16;
const AXIS_H = 22;
const PAD = 6;

/** Roughly how wide a label is at FONT px (DejaVu Sans averages ~0.6 em); only used to size the label column. */
function textWidth(s: string): number {
  return s.length * FONT * 0.6;
}

/** A round step (1, 2 or 5 × 10^k) that cuts [0, max] into about `parts` pieces. */
export function niceStep(max: number, parts = 4): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const raw = max / parts;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function n(v: number): string {
  // SVG coordinates: short, and no exponent notation for tiny values.
  return String(Math.round(v * 10) / 10);
}

const LABEL_MAX = 250;

/** A label cut to the label column, ending in '…' when cut (the tables below a chart give it whole). */
function fit(label: string): string {
  const chars = Math.floor((LABEL_MAX - 10) / (FONT * 0.6));
  return label.length <= chars ? label : `${label.slice(0, chars - 1)}…`;
}

function finite(b: ChartBar | null): b is ChartBar {
  return b !== null && Number.isFinite(b.value) && b.value >= 0;
}

interface Layout {
  labelW: number;
  plotX: number;
  top: number;
  scale: number;
}

function legend(c: BarChart, width: number): { svg: string; rows: number } {
  const items = [
    ...c.series.map((s) => ({ label: s.name, color: s.color, dashed: false })),
    ...(c.markers ?? []).map((m) => ({ label: m.label, color: m.color, dashed: true })),
  ];
  let x = PAD;
  let row = 0;
  const parts: string[] = [];
  for (const it of items) {
    const w = 18 + textWidth(it.label) + 14;
    if (x + w > width - PAD && x > PAD) {
      row++;
      x = PAD;
    }
    const y = PAD + row * LEGEND_ROW;
    parts.push(
      it.dashed
        ? `<line x1="${n(x)}" y1="${n(y + 6)}" x2="${n(x + 14)}" y2="${n(y + 6)}" stroke="${it.color}" stroke-width="2" stroke-dasharray="4 2"/>`
        : `<rect x="${n(x)}" y="${n(y + 1)}" width="14" height="10" fill="${it.color}"/>`,
      `<text x="${n(x + 18)}" y="${n(y + 10)}">${html(it.label)}</text>`,
    );
    x += w;
  }
  return { svg: parts.join(''), rows: items.length === 0 ? 0 : row + 1 };
}

function layout(c: BarChart): Layout {
  const labelW = Math.min(LABEL_MAX, Math.max(80, ...c.groups.map((g) => textWidth(g.label) + 10)));
  const bars = c.groups.flatMap((g) => g.bars.filter(finite));
  // Room right of the plot for the longest value text.
  const valueW = Math.max(40, ...bars.map((b) => textWidth(b.text) + 10));
  const plotX = labelW + PAD;
  const plotW = WIDTH - plotX - valueW;
  const max = Math.max(0, ...bars.map((b) => Math.max(b.value, b.max ?? 0)), ...(c.markers ?? []).map((m) => m.value));
  // A little headroom, rounded to a fine step so the plot is not half empty.
  const fine = niceStep(max, 10);
  const top = max > 0 ? Math.ceil((max * 1.02) / fine) * fine : 1;
  return { labelW, plotX, top, scale: plotW / top };
}

/** The bars and whiskers, and separately the texts, so that the marker lines can go between the two. */
function groupRows(c: BarChart, l: Layout, y0: number): { shapes: string; texts: string; height: number } {
  const shapes: string[] = [];
  const texts: string[] = [];
  let y = y0;
  for (const g of c.groups) {
    const h = c.series.length * (BAR_H + BAR_GAP) - BAR_GAP;
    texts.push(`<text x="${n(l.labelW)}" y="${n(y + h / 2 + 4)}" text-anchor="end">${html(fit(g.label))}</text>`);
    c.series.forEach((s, i) => {
      const b = g.bars[i] ?? null;
      const by = y + i * (BAR_H + BAR_GAP);
      if (!finite(b)) {
        texts.push(`<text x="${n(l.plotX + 3)}" y="${n(by + BAR_H - 2)}" class="na">${html(`${s.name}: no figure`)}</text>`);
        return;
      }
      const w = Math.max(1, b.value * l.scale);
      shapes.push(`<rect class="bar" x="${n(l.plotX)}" y="${n(by)}" width="${n(w)}" height="${BAR_H}" fill="${s.color}"/>`);
      let end = l.plotX + w;
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const x1 = l.plotX + b.min * l.scale;
        const x2 = l.plotX + b.max * l.scale;
        const cy = by + BAR_H / 2;
        shapes.push(
          `<path d="M${n(x1)} ${n(cy)}H${n(x2)}M${n(x1)} ${n(by + 2)}V${n(by + BAR_H - 2)}M${n(x2)} ${n(by + 2)}V${n(by + BAR_H - 2)}" stroke="#263238" stroke-width="1" fill="none"/>`,
        );
        end = Math.max(end, x2);
      }
      // A white halo keeps the figure readable where a marker line crosses it.
      texts.push(
        `<text x="${n(end + 4)}" y="${n(by + BAR_H - 2)}" stroke="#fff" stroke-width="3" paint-order="stroke">${html(b.text)}</text>`,
      );
    });
    y += h + GROUP_GAP;
  }
  return { shapes: shapes.join(''), texts: texts.join(''), height: y - y0 };
}

function axis(c: BarChart, l: Layout, y0: number, y1: number): string {
  const step = niceStep(l.top);
  const parts: string[] = [`<line x1="${n(l.plotX)}" y1="${n(y0)}" x2="${n(l.plotX)}" y2="${n(y1)}" stroke="#90a4ae"/>`];
  for (let v = 0; v <= l.top + step / 1000; v += step) {
    const x = l.plotX + v * l.scale;
    parts.push(
      `<line x1="${n(x)}" y1="${n(y1)}" x2="${n(x)}" y2="${n(y1 + 4)}" stroke="#90a4ae"/>`,
      `<line x1="${n(x)}" y1="${n(y0)}" x2="${n(x)}" y2="${n(y1)}" stroke="#eceff1"/>`,
      `<text x="${n(x)}" y="${n(y1 + 15)}" text-anchor="middle" class="tick">${html(c.tick(v))}</text>`,
    );
  }
  return parts.join('');
}

function markers(c: BarChart, l: Layout, y0: number, y1: number): string {
  return (c.markers ?? [])
    .filter((m) => Number.isFinite(m.value) && m.value >= 0)
    .map((m) => {
      const x = l.plotX + m.value * l.scale;
      return `<line class="marker" x1="${n(x)}" y1="${n(y0 - 3)}" x2="${n(x)}" y2="${n(y1)}" stroke="${m.color}" stroke-width="2" stroke-dasharray="4 2"/>`;
    })
    .join('');
}

/**
 * The chart as an <svg> element with a <title>; an empty chart says so
 * instead of drawing nothing. No xmlns: inline SVG in HTML does not need
 * one, and the page then holds no URL at all.
 */
export function barChartSvg(c: BarChart): string {
  const leg = legend(c, WIDTH);
  const l = layout(c);
  const plotTop = PAD + leg.rows * LEGEND_ROW + 8;
  const rows = groupRows(c, l, plotTop);
  const plotBottom = plotTop + Math.max(rows.height - GROUP_GAP, BAR_H);
  const height = plotBottom + AXIS_H;
  const body =
    c.groups.length === 0
      ? `<text x="${PAD}" y="${n(plotTop + 12)}" class="na">no figures to chart</text>`
      : axis(c, l, plotTop - 4, plotBottom + 2) + rows.shapes + markers(c, l, plotTop, plotBottom + 2) + rows.texts;
  return (
    `<svg class="chart" role="img" width="${WIDTH}" height="${n(height)}" ` +
    `viewBox="0 0 ${WIDTH} ${n(height)}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${FONT}" fill="#1d2327">` +
    `<title>${html(c.title)}</title>${leg.svg}${body}</svg>`
  );
}
