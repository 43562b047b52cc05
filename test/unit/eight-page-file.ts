/**
 * Shared by the unit tests of the mapping calls on ordinary files: a fresh
 * file of eight pages whose page i starts with the byte i + 1, opened
 * O_RDWR through the addon before each test and removed after it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Mapping } from '../../lib/device';
import { native, nativeConstants } from '../../lib/device/native';

export interface EightPageFile {
  dir: string;
  file: string;
  page: number;
  fd: number;
}

/** Registers the beforeEach/afterEach hooks in the calling describe(); `onEach` receives each test's file. */
export function useEightPageFile(tmpPrefix: string, onEach: (f: EightPageFile) => void): void {
  let current: EightPageFile | undefined;
  beforeEach(() => {
    const page = nativeConstants().PAGE_SIZE;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    const file = path.join(dir, 'data');
    const init = new Uint8Array(8 * page);
    for (let i = 0; i < 8; i++) init[i * page] = i + 1;
    fs.writeFileSync(file, init);
    current = { dir, file, page, fd: native().open(file, nativeConstants().sys.O_RDWR) };
    onEach(current);
  });
  afterEach(() => {
    if (current === undefined) return;
    native().close(current.fd);
    fs.rmSync(current.dir, { recursive: true, force: true });
    current = undefined;
  });
}

/** The first byte of every page of `m`: which file pages it shows. */
export function firstBytes(m: Mapping): number[] {
  const page = nativeConstants().PAGE_SIZE;
  const b = new Uint8Array(m.buffer);
  const out: number[] = [];
  for (let off = 0; off < b.length; off += page) out.push(b[off] ?? -1);
  return out;
}
