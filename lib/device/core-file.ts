/**
 * Core dumps: make a forked child of this process dump core, and read the
 * ELF core file's loadable segments. The child holds every mapping of this
 * process, so the core shows what the kernel puts in a dump of each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from './native';

/** One PT_LOAD of a core file: where the segment was mapped, and how much of it the file holds. */
export interface CoreSegment {
  vaddr: number;
  memsz: number;
  filesz: number;
  offset: number;
}

const PT_LOAD = 1;

/** The PT_LOAD segments of an ELF64 little-endian core file. */
export function coreSegments(core: Buffer): CoreSegment[] {
  if (core.length < 64 || core.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (core[4] !== 2 || core[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  if (core.readUInt16LE(16) !== 4) throw new Error('not a core file (e_type is not ET_CORE)');
  const phoff = Number(core.readBigUInt64LE(32));
  const phentsize = core.readUInt16LE(54);
  const phnum = core.readUInt16LE(56);
  const out: CoreSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > core.length) throw new Error('program headers run past the end of the file');
    if (core.readUInt32LE(at) !== PT_LOAD) continue;
    out.push({
      offset: Number(core.readBigUInt64LE(at + 8)),
      vaddr: Number(core.readBigUInt64LE(at + 16)),
      filesz: Number(core.readBigUInt64LE(at + 32)),
      memsz: Number(core.readBigUInt64LE(at + 40)),
    });
  }
  return out;
}

/** The kernel's core_pattern sysctl. */
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';

/**
 * A forked child dumps core with `filter` as its coredump_filter, into a
 * file of its own (kernel.core_pattern is set for the call and put back);
 * the core file's contents, or null when the child dumped none.
 */
export function dumpCore(filter: number): Buffer | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-core-'));
  const old = fs.readFileSync(CORE_PATTERN, 'utf8');
  try {
    fs.writeFileSync(CORE_PATTERN, path.join(dir, 'core.%p'));
    const r = native().coreDumpChild(filter);
    if (!r.coreDumped) return null;
    return fs.readFileSync(path.join(dir, `core.${r.pid}`));
  } finally {
    fs.writeFileSync(CORE_PATTERN, old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
