/**
 * `mmaplab check`: the experiments run against a driver that is not
 * mmaplab's. The vocabulary shared by the guest (lib/check/guest.ts) and
 * the host (lib/check/run.ts).
 */
import { USE_TABLE, USES, type UseName } from '../experiments/uses';
import type { Finding } from '../kmsg';
import type { CheckFinding, CheckResult } from './schema';

/** The target, the results and the job travel as JSON: ./schema defines them. */
export type { CheckFinding, CheckJobOptions, CheckResult, CheckTarget } from './schema';

/** The experiments, in the order they run. */
export const CHECK_SCENARIOS = [
  'map-write-read',
  'second-mapping',
  'dontneed-retouch',
  'private',
  'offset-map',
  'partial-munmap',
  'kernel-copies',
  'read-write',
  'gup-pin',
  'mremap-grow',
  'past-end',
  'mmap-args',
  'map-unmap-leak',
  'close-before-unmap',
  'unload-while-mapped',
  'unload',
] as const;
export type CheckScenario = (typeof CHECK_SCENARIOS)[number];

/** The scenarios that end the buffer's life (the last unloads the module): they run after the uses. */
const LIFETIME: readonly CheckScenario[] = ['close-before-unmap', 'unload-while-mapped', 'unload'];

/** A use of the matrix's (lib/experiments/uses) run on the user's mapping. */
export type CheckUse = `use:${UseName}`;
/** A scenario or a use: one row of the check's results. */
export type CheckItem = CheckScenario | CheckUse;

export const CHECK_USES: readonly CheckUse[] = USES.map((u) => `use:${u}` as const);

/** The use a row runs, or null for a scenario. */
export function useOf(item: CheckItem): UseName | null {
  return item.startsWith('use:') ? (item.slice(4) as UseName) : null;
}

/** Whether a row runs a use rather than a scenario. */
export function isCheckUse(item: CheckItem): item is CheckUse {
  return useOf(item) !== null;
}

/**
 * Everything a check runs, in order: the scenarios up to the lifetime
 * ones, the uses (unless left out), then close-before-unmap and the two
 * rmmods.
 */
export function checkItems(withUses: boolean): CheckItem[] {
  const before = CHECK_SCENARIOS.filter((s) => !LIFETIME.includes(s));
  return [...before, ...(withUses ? CHECK_USES : []), ...LIFETIME];
}

/**
 * What a scenario showed: ok, refused (an errno from mmap or open), signal
 * (a touching child died of one), data-mismatch (a mapping did not hold what
 * was written), unload-allowed (rmmod succeeded while the buffer was mapped),
 * leak (map/unmap cycles left the kernel holding more memory, twice over),
 * kernel-complaint (the kernel log or taint says something broke), the VM
 * died in it (vm-died), or it could not run here (not-run: a buffer under
 * three pages for partial-munmap, a module already gone for unload).
 */
export const CHECK_VERDICTS = [
  'ok',
  'refused',
  'signal',
  'data-mismatch',
  'unload-allowed',
  'leak',
  'kernel-complaint',
  'vm-died',
  'not-run',
] as const;
export type CheckVerdict = (typeof CHECK_VERDICTS)[number];

/** A classifier finding as the report carries it. */
export function checkFindingOf(f: Finding): CheckFinding {
  return { kind: f.kind, line: f.line, ...(f.reason !== undefined ? { reason: f.reason } : {}) };
}

/** A row for a scenario or use that did not run, and why. */
export function notRunResult(item: CheckItem, detail: string): CheckResult {
  return { scenario: item, verdict: 'not-run', detail, findings: [], taintGained: [], kmsg: [], durationMs: 0 };
}

/** A line per scenario: what it does, and which verdicts a correct driver may give. */
export interface ScenarioSpec {
  title: string;
  acceptable: readonly CheckVerdict[];
  /**
   * For an acceptable verdict whose title names its errno or signal: the
   * detail must show that one (an EINVAL where the title says EFAULT, or a
   * SIGSEGV where it says SIGBUS, is a finding).
   */
  details?: Partial<Record<CheckVerdict, RegExp>>;
}

export const SCENARIO_SPECS: Readonly<Record<CheckScenario, ScenarioSpec>> = {
  'map-write-read': {
    title: 'a shared mapping of the whole buffer: forked children write a pattern and read it, the caller checks it',
    acceptable: ['ok'],
  },
  'second-mapping': {
    title: 'a second shared mapping of the same range sees what was written through the first',
    acceptable: ['ok'],
  },
  'dontneed-retouch': {
    title:
      'MADV_DONTNEED on the mapping, then a touch: a fault handler maps the data again (ok), a driver that maps ' +
      'everything at mmap time has nothing to serve the fault (SIGBUS), and a pfn mapping refuses the advice (EINVAL)',
    acceptable: ['ok', 'signal', 'refused'],
    details: { signal: / got SIGBUS$/, refused: /^madvise\(MADV_DONTNEED\): EINVAL$/ },
  },
  private: {
    title:
      'a private mapping shows the buffer, and a child writing it gets its own copy (copy-on-write): the buffer, read ' +
      'through a shared mapping, keeps what it held; or the private mapping is refused',
    acceptable: ['ok', 'refused'],
  },
  'offset-map': {
    title: 'a mapping at an offset of one page shows the buffer from its second page on (the driver honours vm_pgoff), ' + 'or is refused',
    acceptable: ['ok', 'refused'],
  },
  'partial-munmap': {
    title: 'unmapping the middle page leaves the rest mapped and holding the data',
    acceptable: ['ok'],
  },
  'kernel-copies': {
    title:
      'the kernel copies out of the mapping and into it (write(2) of it to a pipe, read(2) from the pipe into it): ' +
      'what it copied is what was written',
    acceptable: ['ok'],
  },
  'read-write': {
    title:
      'when the driver has read(2) or write(2) (detected: the VFS answers EINVAL for a driver without): read at ' +
      'offset 0 gives what the mapping holds, and what write puts there the mapping shows',
    acceptable: ['ok'],
  },
  'gup-pin': {
    title:
      "the kernel pins the mapping's pages (vmsplice(2) into a pipe, get_user_pages): ok for pages with a struct " +
      'page, EFAULT for a pfn mapping (VM_PFNMAP/VM_IO), which O_DIRECT and RDMA cannot use either',
    acceptable: ['ok', 'refused'],
    details: { refused: /^vmsplice\(2\) of the mapping: EFAULT$/ },
  },
  'mremap-grow': {
    title:
      'mremap(2) grows the mapping by a page: refused (VM_DONTEXPAND, as remap_pfn_range and remap_vmalloc_range set), ' +
      'or the new page faults (SIGBUS); a new page that reads fine is memory past the buffer',
    acceptable: ['refused', 'signal'],
    details: { refused: /^mremap to \d+ B: EFAULT$/, signal: / got SIGBUS$/ },
  },
  'past-end': {
    title: 'a mapping one page longer than the buffer: refused, or the page past the end faults (SIGBUS)',
    acceptable: ['refused', 'signal'],
    details: { signal: / got SIGBUS$/ },
  },
  'mmap-args': {
    title:
      'a short fuzz of mmap arguments (offsets inside, at and past the end; lengths of a byte, a page, the buffer, ' +
      'past it; every protection; shared and private), each mapping read by a child: whatever is refused or faults, ' +
      'the kernel says nothing',
    acceptable: ['ok'],
  },
  'map-unmap-leak': {
    title:
      'open, mmap, the kernel writing every page, munmap and close, 600 times: free memory, Slab and VmallocUsed ' +
      'may move by no more than a bound (2 MiB and a page per 100 cycles), or in a second window too',
    acceptable: ['ok'],
  },
  'close-before-unmap': {
    title: 'the descriptor closed while the mapping lives: the mapping still works, then goes',
    acceptable: ['ok'],
  },
  'unload-while-mapped': {
    title: 'rmmod while a mapping lives must fail (the mapping holds the module)',
    acceptable: ['ok'],
  },
  unload: {
    title: 'rmmod with nothing mapped: the driver frees its memory, and the kernel says nothing',
    acceptable: ['ok'],
  },
};

/**
 * What a use may give from a correct driver: done (ok), refused with an
 * errno, or a child's signal, since each depends on how the driver maps
 * (the matrix's use table says which method gives which). Wrong data,
 * a kernel complaint or a dead VM are findings.
 */
const USE_ACCEPTABLE: readonly CheckVerdict[] = ['ok', 'refused', 'signal'];

/** The title and acceptable verdicts of a scenario or a use. */
export function specOf(item: CheckItem): ScenarioSpec {
  const use = useOf(item);
  if (use === null) return SCENARIO_SPECS[item as CheckScenario];
  return { title: USE_TABLE[use].title, acceptable: USE_ACCEPTABLE };
}

/** A verdict (or, where the title names it, an errno or signal) the scenario or use does not accept from a correct driver. */
export function isFinding(r: Pick<CheckResult, 'scenario' | 'verdict' | 'detail'>): boolean {
  if (r.verdict === 'not-run') return false;
  const spec = specOf(r.scenario);
  if (!spec.acceptable.includes(r.verdict)) return true;
  const want = spec.details?.[r.verdict];
  return want !== undefined && !want.test(r.detail);
}
