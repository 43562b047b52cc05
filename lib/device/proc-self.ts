/**
 * What the kernel shows a process about its own mappings: the smaps entry
 * of one VMA and the pagemap entries of a range. Plain file reads of
 * /proc/self, parsed; no addon.
 */
import fs from 'node:fs';
import { nativeConstants } from './native';

/** The smaps entry of the VMA that starts at an address. */
export interface SmapsEntry {
  /** "7f..-7f.. rw-s 00000000 00:05 123 /dev/mmaplab" */
  header: string;
  rssKb: number;
  lockedKb: number;
  /** FilePmdMapped: what of it is mapped with PMD (huge) entries, kB. */
  filePmdKb: number;
  /** VmFlags mnemonics: rd, wr, sh, io, pf, de, dd, mm, lo... */
  flags: string[];
}

/** The smaps entry of the VMA starting at `address`, or null when none starts there. */
export function smapsAt(address: number, text: string = fs.readFileSync('/proc/self/smaps', 'utf8')): SmapsEntry | null {
  const start = address.toString(16);
  const lines = text.split('\n');
  const at = lines.findIndex((l) => {
    const range = l.split(' ', 1)[0] ?? '';
    const dash = range.indexOf('-');
    return dash > 0 && /^[0-9a-f]+-[0-9a-f]+$/.test(range) && range.slice(0, dash).replace(/^0+(?=.)/, '') === start;
  });
  if (at < 0) return null;
  const entry: SmapsEntry = { header: lines[at] ?? '', rssKb: 0, lockedKb: 0, filePmdKb: 0, flags: [] };
  for (const line of lines.slice(at + 1)) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) break;
    const m = /^(\w+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'Rss') entry.rssKb = Number.parseInt(value, 10);
    else if (key === 'Locked') entry.lockedKb = Number.parseInt(value, 10);
    else if (key === 'FilePmdMapped') entry.filePmdKb = Number.parseInt(value, 10);
    else if (key === 'VmFlags') entry.flags = value.trim().split(/\s+/);
  }
  return entry;
}

/** One page's pagemap entry. */
export interface PagemapEntry {
  present: boolean;
  swapped: boolean;
  softDirty: boolean;
  /** Bits 0-54 when present (0 for a reader without CAP_SYS_ADMIN). */
  pfn: bigint;
}

const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;
const SOFT_DIRTY = 1n << 55n;
const PFN_MASK = (1n << 55n) - 1n;

/** Decodes one 64-bit pagemap word. */
export function decodePagemap(word: bigint): PagemapEntry {
  const present = (word & PRESENT) !== 0n;
  return { present, swapped: (word & SWAPPED) !== 0n, softDirty: (word & SOFT_DIRTY) !== 0n, pfn: present ? word & PFN_MASK : 0n };
}

/** The pagemap entries of `pages` pages from `address` (page-aligned). */
export function pagemapOf(address: number, pages: number): PagemapEntry[] {
  const page = nativeConstants().PAGE_SIZE;
  const buf = Buffer.alloc(pages * 8);
  const fd = fs.openSync('/proc/self/pagemap', 'r');
  try {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(fd, buf, done, buf.length - done, (address / page) * 8 + done);
      if (n === 0) break;
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const out: PagemapEntry[] = [];
  for (let i = 0; i < pages; i++) out.push(decodePagemap(buf.readBigUInt64LE(i * 8)));
  return out;
}

/** The transparent huge page switch (sysfs). */
export type ThpMode = 'always' | 'madvise' | 'never';

const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';

/** The bracketed choice of a sysfs switch ("always [madvise] never" -> "madvise"). */
export function selectedChoice(text: string): string | null {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? null;
}

/** The THP switch now, or null when this kernel has none. */
export function thpMode(): ThpMode | null {
  let text: string;
  try {
    text = fs.readFileSync(THP_ENABLED, 'utf8');
  } catch {
    return null;
  }
  const mode = selectedChoice(text);
  return mode === 'always' || mode === 'madvise' || mode === 'never' ? mode : null;
}

/** Sets the THP switch (root only). */
export function setThpMode(mode: ThpMode): void {
  fs.writeFileSync(THP_ENABLED, mode);
}

/** Clears the soft-dirty bits of every page and VMA of this process (clear_refs 4). */
export function clearSoftDirty(): void {
  fs.writeFileSync('/proc/self/clear_refs', '4');
}
