/**
 * Headless Chromium for the tests that render a report page (report.html of
 * a matrix run, report.html of a bench run): the browser's version, one run
 * of it on a URL, and the screenshots it takes (size, and pixels decoded so
 * a test can look for the colours it drew).
 *
 * Chromium is a host package (scripts/setup-host.sh): when it is missing
 * chromiumVersion() throws with the install hint, so those tests fail, never skip.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const CHROMIUM = 'chromium';
const INSTALL_HINT =
  "headless Chromium renders report.html in this test: install Debian's package with " +
  '"sudo apt-get install chromium" (or run "sudo sh scripts/setup-host.sh", which installs every host package)';

export function chromiumVersion(): string {
  try {
    return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      `${missing ? `"${CHROMIUM}" is not installed` : `"${CHROMIUM} --version" failed: ${(err as Error).message}`}: ${INSTALL_HINT}`,
    );
  }
}

/** Runs headless Chromium on a URL; returns stdout and how long it took. */
export function chromium(profile: string, args: string[], url: string): { out: string; ms: number } {
  const start = process.hrtime.bigint();
  const out = execFileSync(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, ...args, url], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 90_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { out, ms: Number((process.hrtime.bigint() - start) / 1_000_000n) };
}

/** A page loaded once for a suite: the DOM its scripts left, and the browser profile later runs on it share. */
export interface LoadedPage {
  dom: string;
  profile: string;
}

/**
 * Prints the browser's version, loads `url` in a fresh profile and returns
 * the DOM (--dump-dom) with the profile; `closePage` removes the profile.
 */
export function loadPage(url: string): LoadedPage {
  process.stdout.write(`      ${chromiumVersion()}\n`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-chromium-'));
  const dump = chromium(profile, ['--dump-dom'], url);
  process.stdout.write(`      --dump-dom took ${dump.ms} ms\n`);
  return { dom: dump.out, profile };
}

export function closePage(page: LoadedPage | undefined): void {
  if (page !== undefined) fs.rmSync(page.profile, { recursive: true, force: true });
}

export function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

export interface Pixels {
  width: number;
  height: number;
  /** RGB triplets, row after row (any alpha dropped). */
  rgb: Buffer;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes the PNGs Chromium writes: 8-bit RGB or RGBA, not interlaced
 * (anything else fails the assertion, so the test says so instead of
 * counting garbage).
 */
export function pngPixels(file: string): Pixels {
  const b = fs.readFileSync(file);
  const { width, height } = pngSize(file);
  const [depth, colour, , , interlace] = [...b.subarray(24, 29)];
  assert.ok(depth === 8 && (colour === 2 || colour === 6) && interlace === 0, `${file}: 8-bit RGB(A), not interlaced`);
  const channels = colour === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let at = 8; at < b.length;) {
    const len = b.readUInt32BE(at);
    const type = b.subarray(at + 4, at + 8).toString('latin1');
    if (type === 'IDAT') idat.push(b.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const cur = Buffer.alloc(stride);
  const prev = Buffer.alloc(stride);
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    const filter = raw.readUInt8(row);
    for (let x = 0; x < stride; x++) {
      const v = raw.readUInt8(row + 1 + x);
      const left = x >= channels ? cur.readUInt8(x - channels) : 0;
      const up = prev.readUInt8(x);
      const upLeft = x >= channels ? prev.readUInt8(x - channels) : 0;
      const pred = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      assert.ok(pred !== undefined, `${file}: PNG filter ${filter} at row ${y}`);
      cur[x] = (v + pred) & 0xff;
    }
    for (let x = 0; x < width; x++) cur.copy(rgb, (y * width + x) * 3, x * channels, x * channels + 3);
    cur.copy(prev);
  }
  return { width, height, rgb };
}

/** How many pixels are exactly this '#rrggbb' colour. */
export function countColour(p: Pixels, hex: string): number {
  const want = Buffer.from(hex.replace(/^#/, ''), 'hex');
  let n = 0;
  for (let i = 0; i < p.rgb.length; i += 3) {
    if (p.rgb[i] === want[0] && p.rgb[i + 1] === want[1] && p.rgb[i + 2] === want[2]) n++;
  }
  return n;
}
