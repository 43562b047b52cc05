/**
 * The fuzzer's fixed vocabulary: how many slots an operation may name and
 * what a placement or an advice may be. Apart from ./ops (the generator,
 * which loads the device's tables) so that checking an operation list
 * (./ops-schema, in the guest agent's job check) loads nothing more.
 */
import type { Advice } from '../device/mapping';

/** Sessions open at once, at most. */
export const SESSION_SLOTS = 3;
/** Live mappings at once, at most. */
export const MAP_SLOTS = 8;

export const ADVICES: readonly Advice[] = [
  'normal',
  'random',
  'sequential',
  'willneed',
  'dontneed',
  'dontfork',
  'dofork',
  'remove',
  'free',
  'cold',
  'pageout',
  'populate_read',
  'populate_write',
  'hugepage',
  'nohugepage',
];

/** The alignments a placed mmap asks for: a page, x86-64's PMD (2 MiB) and PUD (1 GiB) sizes. */
export const PLACE_ALIGNS: readonly number[] = [4096, 2 << 20, 1 << 30];
