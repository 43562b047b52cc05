/**
 * The bench run's report.html in a real browser: Debian's headless Chromium
 * loads the page written for the bench fixture (deterministic, no VM).
 * --dump-dom shows that the browser parsed it into the structure written
 * (every chart an <svg> with its bars, the hostile refusal as text), and a
 * screenshot, kept at runs/bench-screenshot.png, shows the charts drawn: the
 * bar colours are on the picture. The page has no script at all (checked
 * here and in test/unit/bench-report.test.ts), so that is the page as a
 * browser with scripts off shows it too. (Chromium's
 * --blink-settings=scriptEnabled=false would say so directly, but headless
 * Chromium then writes no screenshot.)
 *
 * Chromium is a host package (scripts/setup-host.sh): when it is missing
 * this test fails, it never skips (./chromium.ts).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchReport } from '../../lib/bench/types';
import { runsDir } from '../../lib/paths';
import { COLORS } from '../../lib/report/bench-charts';
import { writeBenchOutputs } from '../../lib/report/bench-write';
import { html } from '../../lib/report/escape';
import { HOSTILE_REASON, K61, K612, benchFixture } from '../unit/bench-fixture';
import { chromium, closePage, loadPage, type LoadedPage, countColour, pngPixels, pngSize } from './chromium';

function count(s: string, re: RegExp): number {
  return (s.match(re) ?? []).length;
}

describe('bench report.html rendered by headless Chromium', function () {
  this.timeout(240_000);
  let report: BenchReport;
  let source: string;
  let url: string;
  let page: LoadedPage | undefined;
  let dom: string;

  before(function () {
    report = benchFixture();
    const files = writeBenchOutputs(report, path.join(runsDir(), 'bench-render'));
    source = fs.readFileSync(files.html, 'utf8');
    url = `file://${files.html}`;
    page = loadPage(url);
    dom = page.dom;
  });

  after(function () {
    closePage(page);
  });

  it('parses every chart as written: as many <svg>, bars, marker lines and captions as the page holds', function () {
    assert.match(dom, /<h1>mmaplab bench report<\/h1>/);
    const svgs = count(source, /<svg\b/g);
    assert.equal(svgs, 17);
    assert.equal(count(dom, /<svg\b/g), svgs, 'no <svg> lost or split by the parser');
    assert.equal(count(dom, /<\/svg>/g), svgs);
    const bars = count(source, /<rect class="bar"/g);
    assert.ok(bars > 100, `${bars} bars`);
    assert.equal(count(dom, /<rect class="bar"/g), bars, 'every bar inside its chart');
    assert.equal(count(dom, /class="marker"/g), count(source, /class="marker"/g));
    assert.equal(count(dom, /<figcaption>/g), svgs);
    for (const k of [K61, K612]) assert.ok(dom.includes(`<section class="bench-kernel" data-kernel="${html(k)}">`), k);
  });

  it('shows the TCG note and the hostile refusal as text only; no element came from report text', function () {
    assert.ok(dom.includes('<p class="tcg-note"><strong>Measured under TCG emulation'));
    assert.ok(dom.includes(`<td>${html(HOSTILE_REASON).replace(/&quot;/g, '"')}</td>`), 'the refusal, escaped, in its table');
    assert.doesNotMatch(dom, /<script|<b>more/i, 'no script element at all, and no markup from the refusal');
  });

  it('takes a 1400x2000 screenshot at runs/bench-screenshot.png, the charts drawn on it', function () {
    const shot = path.join(runsDir(), 'bench-screenshot.png');
    fs.rmSync(shot, { force: true });
    const { ms } = chromium((page as LoadedPage).profile, [`--screenshot=${shot}`, '--window-size=1400,2000'], url);
    process.stdout.write(`      --screenshot took ${ms} ms: ${shot}\n`);
    assert.deepEqual(pngSize(shot), { width: 1400, height: 2000 });
    const px = pngPixels(shot);
    // The first kernel's first-touch and throughput charts are in view: read and write bars, each well over 1000 pixels.
    for (const [name, colour] of [
      ['read bars', COLORS.read],
      ['write bars', COLORS.write],
      ['fault-around off bars', COLORS.off],
      ['batching bars', COLORS.mmap],
    ] as const) {
      const n = countColour(px, colour);
      process.stdout.write(`      ${name} ${colour}: ${n} px\n`);
      assert.ok(n > 1000, `${name} (${colour}) drawn: ${n} px`);
    }
    assert.ok(countColour(px, '#fff3e0') > 20_000, 'the TCG note box');
  });
});
