/**
 * What the kernel prints when something goes wrong, as data.
 *
 * SIGNATURES: a record whose message matches an entry becomes a finding of
 * that kind. Each entry's pattern is anchored at the start of the message and
 * uses named groups; `captures` lists those names (a unit test keeps the two in
 * step). Table order is the tie-break when one record matches several entries
 * (the x86 general-protection-fault line is both a 'gpf' and an oops header).
 * Entries marked `fallback` apply only to records no other entry matched.
 *
 * CONTEXT_LINES: lines that are not complaints themselves but complete the
 * report they belong to ("page dumped because: <reason>" after a Bad page
 * state, "#PF:" after a page fault, "RIP:" and the "CPU: ... Comm:" line of the
 * stack dump). They are attached to an earlier finding within
 * CONTEXT_DISTANCE records.
 *
 * Formats checked against the 6.1 and 6.12 sources (mm/page_alloc.c bad_page,
 * mm/memory.c print_bad_pte, kernel/fork.c check_mm, arch/x86/kernel/dumpstack.c
 * __die_header, arch/x86/mm/fault.c show_fault_oops, kernel/panic.c __warn and
 * panic, lib/list_debug.c, lib/refcount.c, mm/vmalloc.c, arch/x86/mm/pat/memtype.c,
 * mm/kfence/report.c, kernel/watchdog.c, kernel/rcu/tree_stall.h,
 * kernel/hung_task.c).
 */

export const FINDING_KINDS = [
  'bad-page-state',
  'bad-page-map',
  'bad-rss-counter',
  'nonzero-pgtables-bytes',
  'kernel-bug',
  'page-fault-oops',
  'null-deref',
  'gpf',
  'oops',
  'warning',
  'list-corruption',
  'refcount',
  'vfree',
  'pat',
  'kfence',
  'soft-lockup',
  'rcu-stall',
  'hung-task',
  'panic',
  'other-bug',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** How bad a finding is; ordered from least to most severe in SEVERITY_ORDER. */
export type Severity = 'complaint' | 'oops' | 'panic';
export const SEVERITY_ORDER: readonly Severity[] = ['complaint', 'oops', 'panic'];

export interface SignatureSpec {
  kind: FindingKind;
  /** Canonical short text of the signature, e.g. "BUG: Bad page state". */
  signature: string;
  pattern: RegExp;
  /** Named groups of `pattern`. */
  captures: readonly string[];
  /** A message matching this is not the complaint (e.g. boot-time info with the same prefix). */
  unless?: RegExp;
  /** Only for records no non-fallback entry matched. */
  fallback?: boolean;
  /** The kernel follows this line with a stack dump ("CPU: ... Comm: ...", "RIP:", "Call Trace:"). */
  stackDump: boolean;
  severity: Severity;
  /** One line for people: what it means. */
  description: string;
}

const HEX = '[0-9a-fA-F]+';

export const SIGNATURES: readonly SignatureSpec[] = [
  {
    kind: 'bad-page-state',
    signature: 'BUG: Bad page state',
    pattern: new RegExp(`^BUG: Bad page state in process (?<process>.+?)\\s+pfn:(?<pfn>${HEX})`),
    captures: ['process', 'pfn'],
    stackDump: true,
    severity: 'complaint',
    description: 'a page was freed (or allocated) with state it must not have; the reason follows',
  },
  {
    kind: 'bad-page-state',
    signature: 'BUG: Bad page state: messages suppressed',
    pattern: /^BUG: Bad page state: (?<suppressed>\d+) messages suppressed/,
    captures: ['suppressed'],
    stackDump: false,
    severity: 'complaint',
    description: 'more Bad page state reports than the rate limit lets through',
  },
  {
    kind: 'bad-page-map',
    signature: 'BUG: Bad page map',
    pattern: new RegExp(
      `^BUG: Bad page map in process (?<process>.+?)\\s+pte:(?<pte>${HEX})(?:\\s+pmd:(?<pmd>${HEX}))?`,
    ),
    captures: ['process', 'pte', 'pmd'],
    stackDump: true,
    severity: 'complaint',
    description: 'a PTE points at a page whose state contradicts the mapping (print_bad_pte)',
  },
  {
    kind: 'bad-page-map',
    signature: 'BUG: Bad page map: messages suppressed',
    pattern: /^BUG: Bad page map: (?<suppressed>\d+) messages suppressed/,
    captures: ['suppressed'],
    stackDump: false,
    severity: 'complaint',
    description: 'more Bad page map reports than the rate limit lets through',
  },
  {
    kind: 'bad-rss-counter',
    signature: 'BUG: Bad rss-counter state',
    pattern:
      /^BUG: Bad rss-counter state mm:(?<mm>\S+) (?:type:(?<type>\S+)|idx:(?<idx>\d+)) val:(?<val>-?\d+)(?: Comm:(?<process>.+?) Pid:(?<pid>\d+))?\s*$/,
    captures: ['mm', 'type', 'idx', 'val', 'process', 'pid'],
    stackDump: false,
    severity: 'complaint',
    description: "an exiting mm's resident-page counters do not return to zero (pages mapped one way, unmapped another)",
  },
  {
    kind: 'nonzero-pgtables-bytes',
    signature: 'BUG: non-zero pgtables_bytes',
    pattern: /^BUG: non-zero pgtables_bytes on freeing mm: (?<bytes>-?\d+)/,
    captures: ['bytes'],
    stackDump: false,
    severity: 'complaint',
    description: 'an exiting mm still accounts page-table memory',
  },
  {
    kind: 'kernel-bug',
    signature: 'kernel BUG at',
    pattern: /^kernel BUG at (?<file>[^:\s]+):(?<lineno>\d+)!/,
    captures: ['file', 'lineno'],
    stackDump: true,
    severity: 'oops',
    description: 'a BUG()/BUG_ON()/VM_BUG_ON() assertion fired; an oops ("invalid opcode") follows',
  },
  {
    kind: 'null-deref',
    signature: 'BUG: kernel NULL pointer dereference',
    pattern: new RegExp(`^BUG: kernel NULL pointer dereference(?:, address: (?<address>(?:0x)?${HEX}))?`),
    captures: ['address'],
    stackDump: true,
    severity: 'oops',
    description: 'the kernel dereferenced an address in the first page (a NULL pointer plus offset)',
  },
  {
    kind: 'page-fault-oops',
    signature: 'BUG: unable to handle page fault',
    pattern: new RegExp(`^BUG: unable to handle page fault for address: (?<address>(?:0x)?${HEX})`),
    captures: ['address'],
    stackDump: true,
    severity: 'oops',
    description: 'the kernel faulted on an address with no valid mapping (or with the wrong permissions)',
  },
  {
    kind: 'gpf',
    signature: 'general protection fault',
    pattern: new RegExp(
      `^(?:Oops: )?general protection fault(?:, probably for non-canonical address (?<address>0x${HEX}))?`,
    ),
    captures: ['address'],
    stackDump: true,
    severity: 'oops',
    description: 'the kernel used a non-canonical address (often a poisoned or garbage pointer)',
  },
  {
    kind: 'oops',
    signature: 'Oops',
    // 6.1: "Oops: 0002 [#1] PREEMPT SMP NOPTI", "invalid opcode: 0000 [#1] ...";
    // 6.12 prefixes every die header with "Oops: ": "Oops: Oops: 0002 [#1] ...".
    pattern: /^(?:Oops: )?(?<what>\S.*?): (?<code>[0-9a-fA-F]{4}) \[#(?<oops>\d+)\](?<config>[A-Z_ ]*)$/,
    captures: ['what', 'code', 'oops', 'config'],
    stackDump: true,
    severity: 'oops',
    description: 'the die() header of a kernel oops; [#N] counts oopses since boot',
  },
  {
    kind: 'warning',
    signature: 'WARNING: CPU:',
    pattern:
      /^WARNING: CPU: (?<cpu>\d+) PID: (?<pid>\d+) at (?:(?<file>[^\s:]+):(?<lineno>\d+) )?(?<func>\S+)(?: \[(?<module>[^\]]+)\])?/,
    captures: ['cpu', 'pid', 'file', 'lineno', 'func', 'module'],
    stackDump: true,
    severity: 'complaint',
    description: 'a WARN()/WARN_ON() fired: the kernel detected a condition that should not happen',
  },
  {
    kind: 'list-corruption',
    signature: 'list corruption',
    pattern: /^(?<op>list_(?:add|del))(?:_rcu)? (?:corruption|double add)\b/,
    captures: ['op'],
    stackDump: true,
    severity: 'complaint',
    description: 'CONFIG_DEBUG_LIST found a corrupted list_head (Debian: followed by a BUG)',
  },
  {
    kind: 'refcount',
    signature: 'refcount_t:',
    pattern: /^refcount_t: (?<problem>[^.]+)/,
    captures: ['problem'],
    stackDump: true,
    severity: 'complaint',
    description: 'a refcount_t saturated, underflowed or was incremented from zero (use-after-free or leak)',
  },
  {
    kind: 'vfree',
    signature: 'Trying to vfree()',
    pattern: /^Trying to vfree\(\) (?<problem>[^(]+?)\s*(?:\((?<address>[^)]*)\))?\s*$/,
    captures: ['problem', 'address'],
    stackDump: true,
    severity: 'complaint',
    description: 'vfree() of an address that is not a live vmalloc area',
  },
  {
    kind: 'pat',
    signature: 'x86/PAT:',
    pattern: /^x86\/PAT: (?:(?<process>[^:\s][^:]*):(?<pid>\d+) )?(?<problem>.+?)\s*$/,
    captures: ['process', 'pid', 'problem'],
    // Boot-time PAT set-up lines share the prefix and are not complaints.
    unless: /^x86\/PAT: (?:Configuration \[|PAT (?:support|not|MSR)|MTRRs disabled)/,
    stackDump: false,
    severity: 'complaint',
    description: 'conflicting or invalid memory types for a mapping (PAT memtype tracking)',
  },
  {
    kind: 'kfence',
    signature: 'BUG: KFENCE:',
    pattern: /^BUG: KFENCE: (?<problem>.+?)(?: in (?<location>\S+(?: \[[^\]]+\])?))?\s*$/,
    captures: ['problem', 'location'],
    stackDump: true,
    severity: 'complaint',
    description: 'KFENCE caught an out-of-bounds access, use-after-free or invalid free on a sampled allocation',
  },
  {
    kind: 'soft-lockup',
    signature: 'watchdog: BUG: soft lockup',
    pattern: /^watchdog: BUG: soft lockup - CPU#(?<cpu>\d+) stuck for (?<seconds>\d+)s! \[(?<process>.+):(?<pid>\d+)\]/,
    captures: ['cpu', 'seconds', 'process', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'a CPU ran kernel code without scheduling for longer than the watchdog threshold',
  },
  {
    kind: 'rcu-stall',
    signature: 'rcu: self-detected stall',
    pattern: /^(?:rcu: )?INFO: (?<flavor>rcu_\w+) (?<stall>self-detected stall|detected (?:expedited )?stalls?) on CPU/,
    captures: ['flavor', 'stall'],
    stackDump: true,
    severity: 'complaint',
    description: 'an RCU grace period did not complete: some CPU or task has not passed a quiescent state',
  },
  {
    kind: 'hung-task',
    signature: 'INFO: task blocked for more than',
    pattern: /^INFO: task (?<process>.+):(?<pid>\d+) blocked for more than (?<seconds>\d+) seconds/,
    captures: ['process', 'pid', 'seconds'],
    stackDump: false,
    severity: 'complaint',
    description: 'a task slept uninterruptibly (D state) past hung_task_timeout_secs',
  },
  {
    kind: 'panic',
    signature: 'Kernel panic - not syncing',
    pattern: /^Kernel panic - not syncing: (?<why>.*?)\s*$/,
    captures: ['why'],
    stackDump: true,
    severity: 'panic',
    description: 'the kernel stopped (with panic=-1 and -no-reboot, QEMU exits)',
  },
  {
    kind: 'other-bug',
    signature: 'BUG:',
    pattern: /^BUG: (?<what>.+?)\s*$/,
    captures: ['what'],
    fallback: true,
    stackDump: true,
    severity: 'complaint',
    description: 'any other "BUG:" report (sleeping in atomic context, scheduling while atomic, ...)',
  },
];

export interface ContextSpec {
  name: string;
  pattern: RegExp;
  captures: readonly string[];
  /**
   * Kinds this line completes; null means any finding whose signature has a
   * stack dump. Only findings of stack-dumping signatures are targets.
   */
  attachTo: readonly FindingKind[] | null;
  /**
   * 'nearest': the most recent target only, if it does not have these captures yet.
   * 'all': every target within reach that does not have them yet.
   */
  mode: 'nearest' | 'all';
  /** If no earlier finding takes the line, the next finding of these kinds does. */
  pendingFor?: readonly FindingKind[];
  description: string;
}

/** A context line attaches to findings at most this many records before (or after, when pending). */
export const CONTEXT_DISTANCE = 64;

export const CONTEXT_LINES: readonly ContextSpec[] = [
  {
    name: 'reason',
    pattern: /^page dumped because: (?<reason>.+?)\s*$/,
    captures: ['reason'],
    attachTo: ['bad-page-state', 'bad-page-map'],
    mode: 'nearest',
    // VM_BUG_ON_PAGE dumps the page first, then BUG()s.
    pendingFor: ['kernel-bug'],
    description: 'dump_page(): why the page was reported',
  },
  {
    name: 'pf-access',
    pattern: /^#PF: (?<access>(?:supervisor|user) (?:read|write|instruction fetch) access in (?:kernel|user) mode)/,
    captures: ['access'],
    attachTo: ['page-fault-oops', 'null-deref'],
    mode: 'nearest',
    description: 'x86 page fault: who accessed how',
  },
  {
    name: 'pf-error',
    pattern: /^#PF: error_code\((?<errorCode>0x[0-9a-fA-F]+)\)(?: - (?<pageState>.+?))?\s*$/,
    captures: ['errorCode', 'pageState'],
    attachTo: ['page-fault-oops', 'null-deref'],
    mode: 'nearest',
    description: 'x86 page fault: error code and whether the page was present',
  },
  {
    name: 'rip',
    pattern: /^RIP: [0-9a-fA-F]{4}:(?<rip>\S+(?: \[[^\]]+\])?)/,
    captures: ['rip'],
    attachTo: ['oops', 'warning', 'soft-lockup'],
    mode: 'nearest',
    description: 'where the CPU was: function+offset/size [module]',
  },
  {
    name: 'cpu',
    pattern:
      /^CPU: (?<cpu>\d+) (?:UID: \d+ )?PID: (?<pid>\d+) Comm: (?<comm>.+?) (?:Not tainted|Tainted: (?<tainted>[A-Z ]*?)) +(?<release>\d\S*)/,
    captures: ['cpu', 'pid', 'comm', 'tainted', 'release'],
    attachTo: null,
    mode: 'all',
    description: 'dump_stack(): the task that was running, the taint flags and the kernel release',
  },
];
