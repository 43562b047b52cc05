/**
 * What the kernel prints when something goes wrong, as data.
 *
 * SIGNATURES: a record whose message matches an entry becomes a finding of
 * that kind. Each entry's pattern is anchored at the start of the message and
 * uses named groups; `captures` lists those names (a unit test keeps the two in
 * step). Table order is the tie-break when one record matches several entries
 * (the x86 general-protection-fault line is both a 'gpf' and an oops header).
 * Entries marked `fallback` apply only to records no other entry matched and
 * no context line took: the banners of reports no entry knows ("BUG:",
 * "WARNING:", "INFO:", ...) are findings of their own, never silence.
 *
 * CONTEXT_LINES: lines that are not complaints themselves but complete the
 * report they belong to ("page dumped because: <reason>" after a Bad page
 * state, "#PF:" after a page fault, "RIP:" and the "CPU: ... Comm:" line of the
 * stack dump, KASAN's access line, SLUB's "FIX" lines). They are attached to
 * an earlier finding within CONTEXT_DISTANCE records.
 *
 * FRAME_LINE: sanitizers and lock checkers frame a report with a line of '='.
 * The first line inside a frame that no entry recognises is an 'unrecognised'
 * finding (UNRECOGNISED_FRAME; see frameTitles in classify.ts).
 *
 * Formats checked against the 6.1 and 6.12 sources (mm/page_alloc.c bad_page,
 * mm/memory.c print_bad_pte, kernel/fork.c check_mm, arch/x86/kernel/dumpstack.c
 * __die_header, arch/x86/mm/fault.c show_fault_oops, kernel/panic.c __warn and
 * panic, lib/list_debug.c, lib/refcount.c, mm/vmalloc.c, arch/x86/mm/pat/memtype.c,
 * mm/kfence/report.c, kernel/watchdog.c, kernel/rcu/tree_stall.h,
 * kernel/hung_task.c), and for the families below against the file each entry
 * names; the family list follows syzkaller's Linux report titles
 * (pkg/report/linux.go), narrowed to what a driver that maps memory can cause.
 */

export const FINDING_KINDS = [
  'bad-page-state',
  'bad-page-map',
  'bad-page-cache',
  'bad-rss-counter',
  'nonzero-pgtables-bytes',
  'bad-pgtable-entry',
  'kernel-bug',
  'page-fault-oops',
  'null-deref',
  'gpf',
  'oops',
  'stack-overflow',
  'warning',
  'list-corruption',
  'refcount',
  'vfree',
  'pat',
  'kfence',
  'kasan',
  'kmsan',
  'kcsan',
  'ubsan',
  'slab-debug',
  'kmemleak',
  'lockdep',
  'spinlock-debug',
  'invalid-context',
  'soft-lockup',
  'hard-lockup',
  'rcu-stall',
  'hung-task',
  'panic',
  'other-bug',
  'unrecognised',
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
  /** Only for records no non-fallback entry matched and no context line took. */
  fallback?: boolean;
  /** Only for records of the kernel facility: userspace may write anything to /dev/kmsg. */
  kernelOnly?: boolean;
  /** The kernel follows this line with a stack dump ("CPU: ... Comm: ...", "RIP:", "Call Trace:"). */
  stackDump: boolean;
  severity: Severity;
  /** One line for people: what it means. */
  description: string;
}

const HEX = '[0-9a-fA-F]+';

/** A non-capturing alternation of regular-expression sources. */
function oneOf(...alternatives: string[]): string {
  return `(?:${alternatives.join('|')})`;
}

/**
 * Lines with an unrecognised-banner prefix that are not complaints: x86 NMI handler timing
 * under a slow (TCG) CPU (arch/x86/kernel/nmi.c nmi_check_duration), lockdep's note that it
 * is already off, RCU's note that a stall ended, a journal recovery note, and boot-time
 * notes of kernel/workqueue.c and fs/namespace.c.
 */
const INFO_NOT_COMPLAINT = new RegExp(
  `^INFO: ${oneOf(
    'NMI handler \\(.*\\) took too long to run',
    'lockdep is turned off',
    'Stall ended before state dump start',
    'recovery required on readonly filesystem',
  )}`,
);
const WARNING_NOT_COMPLAINT = new RegExp(
  `^WARNING: ${oneOf('workqueue cpumask: online intersect > possible intersect', 'The mand mount option')}`,
);

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
    pattern: new RegExp(`^BUG: Bad page map in process (?<process>.+?)\\s+pte:(?<pte>${HEX})(?:\\s+pmd:(?<pmd>${HEX}))?`),
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
    kind: 'bad-page-cache',
    signature: 'BUG: Bad page cache',
    // mm/filemap.c (CONFIG_DEBUG_VM): a page-cache folio removed while still mapped.
    pattern: new RegExp(`^BUG: Bad page cache in process (?<process>.+?)\\s+pfn:(?<pfn>${HEX})`),
    captures: ['process', 'pfn'],
    stackDump: true,
    severity: 'complaint',
    description: 'a page-cache page was deleted while still mapped; "page dumped because: still mapped when deleted" follows',
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
    kind: 'bad-pgtable-entry',
    signature: 'bad pte/pmd/pud/p4d/pgd',
    // arch/x86/include/asm/pgtable_64.h pte_ERROR..pgd_ERROR: "%s:%d: bad pmd %p(%016lx)",
    // printed by mm/pgtable-generic.c pgd/p4d/pud/pmd_clear_bad, which then clear the entry.
    pattern: new RegExp(
      `^(?<file>[^\\s:]+):(?<lineno>\\d+): bad (?<level>pte|pmd|pud|p4d|pgd) (?<entry>${HEX})(?:\\((?<value>${HEX})\\))?`,
    ),
    captures: ['file', 'lineno', 'level', 'entry', 'value'],
    stackDump: false,
    severity: 'complaint',
    description: 'a page-table entry held garbage (written through a wrong mapping?); the kernel cleared it, no taint',
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
    kind: 'kernel-bug',
    signature: 'Kernel BUG at',
    // lib/bug.c __report_bug without CONFIG_DEBUG_BUGVERBOSE file information.
    pattern: /^Kernel BUG at (?<location>.+?) \[verbose debug info unavailable\]/,
    captures: ['location'],
    stackDump: true,
    severity: 'oops',
    description: 'a BUG() fired in code built without file and line information; an oops follows',
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
    kind: 'null-deref',
    signature: 'BUG: unable to handle kernel NULL pointer dereference',
    // arch/x86/mm/fault.c of older kernels.
    pattern: new RegExp(`^BUG: unable to handle kernel NULL pointer dereference at (?<address>(?:0x)?${HEX})`),
    captures: ['address'],
    stackDump: true,
    severity: 'oops',
    description: "the kernel dereferenced an address in the first page (older kernels' wording)",
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
    kind: 'page-fault-oops',
    signature: 'BUG: unable to handle kernel paging request',
    // arch/x86/mm/fault.c of older kernels.
    pattern: new RegExp(`^BUG: unable to handle kernel paging request at (?<address>(?:0x)?${HEX})`),
    captures: ['address'],
    stackDump: true,
    severity: 'oops',
    description: "the kernel faulted on an address with no valid mapping (older kernels' wording)",
  },
  {
    kind: 'gpf',
    signature: 'general protection fault',
    pattern: new RegExp(`^(?:Oops: )?general protection fault(?:, probably for non-canonical address (?<address>0x${HEX}))?`),
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
    kind: 'stack-overflow',
    signature: 'BUG: stack guard page was hit',
    // arch/x86/kernel/traps.c handle_stack_overflow: "BUG: %s stack guard page was hit at %p
    // (stack is %p..%p)", then die("stack guard page").
    pattern: /^BUG: (?<stack>\S+) stack guard page was hit at (?<address>\S+)/,
    captures: ['stack', 'address'],
    stackDump: true,
    severity: 'oops',
    description: 'a kernel stack overflowed into its guard page (deep recursion or a huge local); an oops follows',
  },
  {
    kind: 'stack-overflow',
    signature: 'Thread overran stack, or stack corrupted',
    // kernel/sched/core.c __might_resched and arch/x86/mm/fault.c show_fault_oops.
    pattern: /^Thread overran stack, or stack corrupted/,
    captures: [],
    stackDump: false,
    severity: 'complaint',
    description: "the magic word at the end of the task's stack was overwritten",
  },
  {
    kind: 'warning',
    signature: 'WARNING: CPU:',
    pattern: /^WARNING: CPU: (?<cpu>\d+) PID: (?<pid>\d+) at (?:(?<file>[^\s:]+):(?<lineno>\d+) )?(?<func>\S+)(?: \[(?<module>[^\]]+)\])?/,
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
    kind: 'kasan',
    signature: 'BUG: KASAN:',
    // mm/kasan/report.c print_error_description: "BUG: KASAN: %s in %pS" with the bug type of
    // report_generic.c (slab-use-after-free, use-after-free, slab-out-of-bounds,
    // global-out-of-bounds, stack-out-of-bounds, vmalloc-out-of-bounds, null-ptr-deref,
    // wild-memory-access, ...), "double-free"/"invalid-free" (older kernels: "double-free or
    // invalid-free"); "BUG: KASAN: invalid-access" (hardware tags) names no function.
    pattern: /^BUG: KASAN: (?<bugType>[a-z-]+(?: or [a-z-]+)?)(?: in (?<location>\S+(?: \[[^\]]+\])?))?/,
    captures: ['bugType', 'location'],
    stackDump: true,
    severity: 'complaint',
    description: 'KASAN caught an access to freed or out-of-bounds memory, or a bad free; taint B',
  },
  {
    kind: 'kmsan',
    signature: 'BUG: KMSAN:',
    // mm/kmsan/report.c kmsan_report: "BUG: KMSAN: %s in %pSb" (uninit-value, kernel-infoleak,
    // use-after-free, ...).
    pattern: /^BUG: KMSAN: (?<bugType>[a-z-]+) in (?<location>\S+(?: \[[^\]]+\])?)/,
    captures: ['bugType', 'location'],
    stackDump: true,
    severity: 'complaint',
    description: 'KMSAN caught a use of uninitialised memory (or its copy to user space); taint B',
  },
  {
    kind: 'kcsan',
    signature: 'BUG: KCSAN:',
    // kernel/kcsan/report.c print_report: "BUG: KCSAN: %s in %ps / %ps" or "... in %pS"
    // (data-race, "assert: race").
    pattern: /^BUG: KCSAN: (?<bugType>.+?) in (?<location>\S+(?: \[[^\]]+\])?)(?: \/ (?<other>\S+))?\s*$/,
    captures: ['bugType', 'location', 'other'],
    stackDump: true,
    severity: 'complaint',
    description: 'KCSAN saw two CPUs access the same memory concurrently, at least one writing; no taint',
  },
  {
    kind: 'ubsan',
    signature: 'UBSAN:',
    // lib/ubsan.c ubsan_prologue: "UBSAN: %s in %s:%d:%d" (array-index-out-of-bounds,
    // shift-out-of-bounds, signed-integer-overflow, ...; older kernels "Undefined behaviour").
    pattern: /^UBSAN: (?<check>.+?) in (?<file>[^\s:]+):(?<lineno>\d+):(?<column>\d+)/,
    captures: ['check', 'file', 'lineno', 'column'],
    stackDump: true,
    severity: 'complaint',
    description: 'undefined behaviour at run time (out-of-bounds index, oversized shift, overflow); no taint',
  },
  {
    kind: 'slab-debug',
    signature: 'BUG <cache> (<taint>):',
    // mm/slub.c slab_bug: "BUG %s (%s): %pV" with print_tainted(), from object_err ("Object
    // already free", "Freepointer corrupt", ...), slab_err ("Wrong object count. ...",
    // "Padding overwritten. ...") and check_bytes_and_report ("%s overwritten": Redzone,
    // Poison, Object padding, ...).
    pattern: /^BUG (?<cache>\S+) \((?:Not tainted|Tainted: (?<tainted>[^)]*))\): (?<problem>.+?)\s*$/,
    captures: ['cache', 'tainted', 'problem'],
    stackDump: true,
    severity: 'complaint',
    description: 'SLUB debugging found a slab object double-freed, overwritten after free or beyond its end; taint B',
  },
  {
    kind: 'slab-debug',
    signature: 'SLUB <none>: no slab for object',
    // mm/slub.c free_consistency_checks: kfree() of memory no slab cache owns.
    pattern: /^SLUB (?<cache>\S+): no slab for object (?<object>0x[0-9a-fA-F]+)/,
    captures: ['cache', 'object'],
    stackDump: true,
    severity: 'complaint',
    description: 'kfree() of an address whose page belongs to no slab cache',
  },
  {
    kind: 'kmemleak',
    signature: 'unreferenced object',
    // mm/kmemleak.c print_unreferenced, printed by a scan only with kmemleak.verbose=1 (with the
    // file's "kmemleak: " pr_fmt; /sys/kernel/debug/kmemleak shows it without); the allocation
    // backtrace follows.
    pattern: /^(?:kmemleak: )?unreferenced object 0x(?<object>[0-9a-fA-F]+) \(size (?<size>\d+)\):/,
    captures: ['object', 'size'],
    stackDump: true,
    severity: 'complaint',
    description: 'kmemleak found an allocated object nothing points to any more (a leak)',
  },
  {
    kind: 'kmemleak',
    signature: 'kmemleak: new suspected memory leaks',
    // mm/kmemleak.c kmemleak_scan: "%d new suspected memory leaks (see /sys/kernel/debug/kmemleak)".
    pattern: /^kmemleak: (?<leaks>\d+) new suspected memory leaks?/,
    captures: ['leaks'],
    stackDump: false,
    severity: 'complaint',
    description: 'a kmemleak scan found leaked objects; /sys/kernel/debug/kmemleak lists them; no taint',
  },
  {
    kind: 'lockdep',
    signature: 'WARNING: possible circular locking dependency detected',
    // kernel/locking/lockdep.c: print_circular_bug_header, print_deadlock_bug, print_usage_bug,
    // print_irq_inversion_bug, print_bad_irq_dependency, print_unlock_imbalance_bug,
    // print_lock_contention_bug, print_freed_lock_bug, print_held_locks_bug, lockdep_sys_exit,
    // print_lock_nested_lock_not_held, print_collision, lockdep_rcu_suspicious,
    // print_lock_invalid_wait_context ("[ BUG: Invalid wait context ]"). Older kernels printed
    // "[ INFO: ... ]" and some "BUG: ..." (syzkaller still lists both).
    pattern: new RegExp(
      '^(?:\\[ )?(?:WARNING|INFO|BUG): (?<problem>' +
        [
          'possible circular locking dependency detected',
          'possible recursive locking detected',
          'inconsistent lock state',
          'possible irq lock inversion dependency detected',
          '\\S+-safe -> \\S+-unsafe lock order detected',
          'bad unlock balance detected!',
          'bad contention detected!',
          'held lock freed!',
          'suspicious RCU usage\\.?',
          'Nested lock was not taken',
          'lock held when returning to user space!',
          'chain_key collision',
          'Invalid wait context',
          '(?<process>.+?)\\/(?<pid>\\d+) still has locks held!',
        ].join('|') +
        ')(?: \\])?\\s*$',
    ),
    captures: ['problem', 'process', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'lockdep found a locking bug (a deadlock that can happen, an unbalanced unlock, ...) ' + 'and turned itself off; no taint',
  },
  {
    kind: 'lockdep',
    signature: 'INFO: trying to register non-static key.',
    // kernel/locking/lockdep.c assign_lock_key: a lock in dynamic memory used before its init.
    pattern: /^INFO: trying to register non-static key\.?/,
    captures: [],
    stackDump: true,
    severity: 'complaint',
    description: 'a lock was used without being initialised (or its memory was freed and reused); lockdep turns itself off',
  },
  {
    kind: 'lockdep',
    signature: 'BUG: MAX_LOCKDEP_KEYS too low!',
    // kernel/locking/lockdep.c: print_lockdep_off, look_up_lock_class, lockdep_init_map_type.
    pattern: /^BUG: (?<problem>MAX_\w+ too low!|looking up invalid subclass: \d+|key [0-9a-fA-F]+ has not been registered!)/,
    captures: ['problem'],
    stackDump: true,
    severity: 'complaint',
    description: 'lockdep ran out of room or was handed a bad lock key and turned itself off',
  },
  {
    kind: 'spinlock-debug',
    signature: 'BUG: spinlock bad magic',
    // lib/spinlock_debug.c spin_dump "BUG: spinlock %s on CPU#%d, %s/%d" and rwlock_bug
    // "BUG: rwlock %s on CPU#%d, %s/%d, %p" (bad magic, recursion, wrong owner, already unlocked, ...).
    pattern: /^BUG: (?<lock>spinlock|rwlock) (?<problem>.+?) on CPU#(?<cpu>\d+), (?<process>.+?)\/(?<pid>\d+)(?:,|\s*$)/,
    captures: ['lock', 'problem', 'cpu', 'process', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'CONFIG_DEBUG_SPINLOCK found a lock used uninitialised, taken twice, or released by another CPU; no taint',
  },
  {
    kind: 'invalid-context',
    signature: 'BUG: sleeping function called from invalid context',
    // kernel/sched/core.c __might_resched (CONFIG_DEBUG_ATOMIC_SLEEP); taint W.
    pattern: /^BUG: sleeping function called from invalid context at (?<file>[^\s:]+):(?<lineno>\d+)/,
    captures: ['file', 'lineno'],
    stackDump: true,
    severity: 'complaint',
    description: 'code that may sleep ran in atomic context (spinlock held, interrupts off, RCU read side)',
  },
  {
    kind: 'invalid-context',
    signature: 'BUG: scheduling while atomic',
    // kernel/sched/core.c __schedule_bug: "BUG: scheduling while atomic: %s/%d/0x%08x"; taint W.
    pattern: /^BUG: scheduling while atomic: (?<process>.+)\/(?<pid>\d+)\/0x(?<preemptCount>[0-9a-fA-F]+)/,
    captures: ['process', 'pid', 'preemptCount'],
    stackDump: true,
    severity: 'complaint',
    description: 'a task scheduled with preemption disabled (a spinlock or preempt_disable() left held)',
  },
  {
    kind: 'invalid-context',
    signature: 'BUG: workqueue leaked atomic, lock or RCU',
    // kernel/workqueue.c process_one_work, 6.12: "...: %s[%d]\n     preempt=0x%08x lock=...".
    pattern: /^BUG: workqueue leaked atomic, lock or RCU: (?<process>.+?)\[(?<pid>\d+)\]/,
    captures: ['process', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'a work item returned with preemption off, a lock held or inside an RCU read side',
  },
  {
    kind: 'invalid-context',
    signature: 'BUG: workqueue leaked lock or atomic',
    // kernel/workqueue.c process_one_work, 6.1 and older: "...: %s/0x%08x[/%d]/%d\n     last function: %ps".
    pattern: /^BUG: workqueue leaked lock or atomic: (?<process>.+?)\/0x(?<preemptCount>[0-9a-fA-F]+)(?:\/-?\d+)?\/(?<pid>\d+)/,
    captures: ['process', 'preemptCount', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'a work item returned with preemption off or a lock held',
  },
  {
    kind: 'invalid-context',
    signature: 'BUG: using smp_processor_id() in preemptible',
    // lib/smp_processor_id.c check_preemption_disabled (CONFIG_DEBUG_PREEMPT); no taint.
    pattern: /^BUG: using (?<what>\S+?)\(\) in preemptible \[(?<preemptCount>[0-9a-fA-F]+)\] code: (?<process>.+)\/(?<pid>\d+)/,
    captures: ['what', 'preemptCount', 'process', 'pid'],
    stackDump: true,
    severity: 'complaint',
    description: 'a per-CPU access where the task can migrate to another CPU halfway',
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
    kind: 'hard-lockup',
    signature: 'Watchdog detected hard LOCKUP',
    // 6.1 kernel/watchdog_hld.c "NMI watchdog: Watchdog detected hard LOCKUP on cpu %d";
    // 6.12 kernel/watchdog.c "watchdog: CPU%u: Watchdog detected hard LOCKUP on cpu %u"
    // (the reporting CPU first: the buddy detector reports for its neighbour); no taint.
    pattern: /^(?:(?:NMI )?watchdog: )?(?:CPU(?<reporter>\d+): )?Watchdog detected hard LOCKUP on cpu (?<cpu>\d+)/,
    captures: ['reporter', 'cpu'],
    stackDump: true,
    severity: 'complaint',
    description: 'a CPU ran with interrupts off for longer than the watchdog threshold (panics with hardlockup_panic)',
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
    description: 'any other "BUG:" report (workqueue lockup, Dentry still in use, ...)',
  },
  {
    kind: 'unrecognised',
    signature: 'WARNING:',
    pattern: /^WARNING:\s*(?<what>.*?)\s*$/,
    captures: ['what'],
    unless: WARNING_NOT_COMPLAINT,
    fallback: true,
    kernelOnly: true,
    stackDump: true,
    severity: 'complaint',
    description: 'a "WARNING:" banner no entry knows (a new checker, an unwinder complaint, ...)',
  },
  {
    kind: 'unrecognised',
    signature: 'INFO:',
    pattern: /^INFO:\s*(?<what>.*?)\s*$/,
    captures: ['what'],
    unless: INFO_NOT_COMPLAINT,
    fallback: true,
    kernelOnly: true,
    stackDump: true,
    severity: 'complaint',
    description: 'an "INFO:" banner no entry knows',
  },
  {
    kind: 'unrecognised',
    signature: 'BUG',
    // "BUG <cache> ..." in a shape the slab-debug entry does not know, "BUG!" and the like.
    pattern: /^BUG(?![:\w])\s*(?<what>.*?)\s*$/,
    captures: ['what'],
    fallback: true,
    kernelOnly: true,
    stackDump: true,
    severity: 'complaint',
    description: 'a "BUG" banner (without the colon) no entry knows',
  },
  {
    kind: 'unrecognised',
    signature: '[ BUG: ... ]',
    // lockdep's bracketed banners of old kernels, and any other of that shape.
    pattern: /^\[ (?:BUG|INFO|WARNING): (?<what>.+?) \]\s*$/,
    captures: ['what'],
    fallback: true,
    kernelOnly: true,
    stackDump: true,
    severity: 'complaint',
    description: 'a bracketed "[ BUG: ... ]" banner no entry knows',
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

/**
 * A report frame: a line of at least 20 '=' (KASAN and KCSAN print 66, KMSAN 53, SLUB 77,
 * UBSAN on 6.1 80, lockdep as many as its title is long).
 */
export const FRAME_LINE = /^={20,}\s*$/;
/** lockdep and SLUB underline their title with '-' and print no closing frame line. */
export const TITLE_RULE = /^-{20,}\s*$/;
/** An opening frame line is closed by one of the same length at most this many records later. */
export const FRAME_REACH = 400;

/**
 * Kinds whose reports open with a frame line (mm/kasan, mm/kmsan, kernel/kcsan, lib/ubsan.c
 * on 6.1, mm/slub.c, kernel/locking/lockdep.c, mm/kfence), and the unrecognised framed ones.
 */
const FRAMED_KINDS: readonly FindingKind[] = ['kasan', 'kmsan', 'kcsan', 'ubsan', 'slab-debug', 'lockdep', 'kfence', 'unrecognised'];

/**
 * The first line inside a frame, when no entry recognised it: a report of a family this
 * table does not know is a finding, not silence.
 */
export const UNRECOGNISED_FRAME: SignatureSpec = {
  kind: 'unrecognised',
  signature: '===== report frame',
  pattern: /^\s*(?<what>\S.*?)\s*$/,
  captures: ['what'],
  // The notes the banner fallbacks know (fs/namespace.c frames its "mand" warning), and the
  // line after the closing frame of a report whose opening was before the window.
  unless: new RegExp(
    [INFO_NOT_COMPLAINT, WARNING_NOT_COMPLAINT, /^Disabling lock debugging due to kernel taint/].map((r) => r.source).join('|'),
  ),
  kernelOnly: true,
  stackDump: true,
  severity: 'complaint',
  description: 'the title of a "=====" framed report no entry knows',
};

/** A context line attaches to findings at most this many records before (or after, when pending). */
export const CONTEXT_DISTANCE = 64;

export const CONTEXT_LINES: readonly ContextSpec[] = [
  {
    name: 'reason',
    pattern: /^page dumped because: (?<reason>.+?)\s*$/,
    captures: ['reason'],
    attachTo: ['bad-page-state', 'bad-page-map', 'bad-page-cache', 'kasan'],
    mode: 'nearest',
    // VM_BUG_ON_PAGE and VM_BUG_ON_FOLIO (include/linux/mmdebug.h) dump the page first
    // ("VM_BUG_ON_FOLIO(<condition>)"), then BUG().
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
    attachTo: ['oops', 'warning', 'soft-lockup', 'hard-lockup'],
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
  {
    name: 'vma-dump',
    // mm/debug.c dump_vma, printed by VM_BUG_ON_VMA before it BUG()s (one record of four lines).
    pattern: /^vma (?<vma>[0-9a-fA-F]+) start (?<vmaStart>[0-9a-fA-F]+) end (?<vmaEnd>[0-9a-fA-F]+)/,
    captures: ['vma', 'vmaStart', 'vmaEnd'],
    attachTo: ['kernel-bug'],
    mode: 'nearest',
    pendingFor: ['kernel-bug'],
    description: 'VM_BUG_ON_VMA: the VMA the assertion was about',
  },
  {
    name: 'mm-dump',
    // mm/debug.c dump_mm, printed by VM_BUG_ON_MM before it BUG()s.
    pattern: /^mm (?<mm>[0-9a-fA-F]+) (?:mmap [0-9a-fA-F]+ seqnum \d+ )?task_size (?<taskSize>\d+)/,
    captures: ['mm', 'taskSize'],
    attachTo: ['kernel-bug'],
    mode: 'nearest',
    pendingFor: ['kernel-bug'],
    description: 'VM_BUG_ON_MM: the mm the assertion was about',
  },
  {
    name: 'frame',
    pattern: FRAME_LINE,
    captures: [],
    attachTo: FRAMED_KINDS,
    mode: 'nearest',
    // The opening frame line comes before the title.
    pendingFor: FRAMED_KINDS,
    description: 'the "=====" line that opens a sanitizer, lockdep or SLUB report',
  },
  {
    name: 'kasan-access',
    // mm/kasan/report.c print_error_description: "%s of size %zu at addr %px by task %s/%d".
    pattern: new RegExp(
      `^(?<access>Read|Write)(?: of size (?<size>\\d+))? at addr (?<address>${HEX}) by task (?<comm>.+)\\/(?<pid>\\d+)\\s*$`,
    ),
    captures: ['access', 'size', 'address', 'comm', 'pid'],
    attachTo: ['kasan'],
    mode: 'nearest',
    description: 'KASAN: the bad access, its size and address, and the task',
  },
  {
    name: 'kasan-object',
    // mm/kasan/report.c describe_object_addr: one printk of two lines ("...object at %px\n
    // which belongs to the cache %s of size %d"): one record in /dev/kmsg, two lines in dmesg.
    pattern: new RegExp(
      `^The buggy address belongs to the object at (?<object>${HEX})` +
        '(?:\\s+which belongs to the cache (?<cache>\\S+) of size (?<objectSize>\\d+))?',
    ),
    captures: ['object', 'cache', 'objectSize'],
    attachTo: ['kasan'],
    mode: 'nearest',
    description: 'KASAN: the slab object the address is in or next to',
  },
  {
    name: 'kasan-cache',
    pattern: /^\s*which belongs to the cache (?<cache>\S+) of size (?<objectSize>\d+)/,
    captures: ['cache', 'objectSize'],
    attachTo: ['kasan'],
    mode: 'nearest',
    description: 'KASAN: the slab cache of that object (second line of describe_object_addr)',
  },
  {
    name: 'kasan-range',
    // mm/kasan/report.c kasan_non_canonical_hook, after a general protection fault.
    pattern: /^KASAN: (?<kasanBug>(?:maybe |probably )?[a-z-]+) in range \[(?<kasanRange>0x[0-9a-fA-F]+-0x[0-9a-fA-F]+)\]/,
    captures: ['kasanBug', 'kasanRange'],
    attachTo: ['gpf'],
    mode: 'nearest',
    description: 'KASAN (inline): the pointer a non-canonical address came from (null-ptr-deref, ...)',
  },
  {
    name: 'kmsan-bytes',
    // mm/kmsan/report.c: "Bytes %d-%d of %d are uninitialized" / "Byte %d of %d is uninitialized".
    pattern: /^Bytes? (?<uninitBytes>\d+(?:-\d+)?) of (?<accessSize>\d+) (?:is|are) uninitialized/,
    captures: ['uninitBytes', 'accessSize'],
    attachTo: ['kmsan'],
    mode: 'nearest',
    description: 'KMSAN: which bytes of the access were uninitialised',
  },
  {
    name: 'kcsan-access',
    // kernel/kcsan/report.c print_report: "%s to 0x%px of %zu bytes by %s on cpu %i:".
    pattern: new RegExp(
      '^(?:race at unknown origin, with )?' +
        `(?<access>${oneOf('read-write', 'read', 'write', 'assert no (?:writes|accesses)')}(?: \\(marked\\))?(?: \\(reordered\\))?)` +
        ` to 0x(?<address>${HEX}) of (?<size>\\d+) bytes by (?:task \\d+|interrupt) on cpu \\d+:`,
    ),
    captures: ['access', 'address', 'size'],
    attachTo: ['kcsan'],
    mode: 'nearest',
    description: 'KCSAN: the first of the racing accesses',
  },
  {
    name: 'ubsan-detail',
    // lib/ubsan.c: the line each handler prints after the "UBSAN:" title.
    pattern: new RegExp(
      '^(?<reason>(?:' +
        [
          'index \\S+ is out of range for type',
          'shift exponent \\S+ is',
          'left shift of',
          '\\S+ [-+*] \\S+ cannot be represented in type',
          'negation of \\S+ cannot be represented',
          'division (?:by zero|of \\S+ by -1)',
          oneOf(
            'load of',
            'store to',
            'reference binding to',
            'member access within',
            'member call on',
            'constructor call on',
            'downcast of',
          ) + ' (?:null pointer|misaligned address|address)',
          'load of value \\S+ is not a valid value',
          'variable length array bound',
          'calling __builtin_unreachable',
          'assumption of \\d+ byte alignment',
        ].join('|') +
        ').*?)\\s*$',
    ),
    captures: ['reason'],
    attachTo: ['ubsan'],
    mode: 'nearest',
    description: 'UBSAN: what was undefined (the index and the array type, the shift and the width, ...)',
  },
  {
    name: 'slab-bytes',
    // mm/slub.c check_bytes_and_report: "0x%p-0x%p @offset=%tu. First byte 0x%x instead of 0x%x"
    // (older kernels put "INFO: " in front of every SLUB trailer line).
    pattern: new RegExp(
      `^(?:INFO: )?0x(?<firstByte>${HEX})-0x(?<lastByte>${HEX}) @offset=(?<byteOffset>\\d+)\\. ` +
        `First byte (?<found>0x${HEX}) instead of (?<expected>0x${HEX})`,
    ),
    captures: ['firstByte', 'lastByte', 'byteOffset', 'found', 'expected'],
    attachTo: ['slab-debug'],
    mode: 'nearest',
    description: 'SLUB: which bytes were overwritten, with what, and what they should hold (0x6b poison, 0xbb/0xcc redzone)',
  },
  {
    name: 'slab-track',
    // mm/slub.c print_track: "%s in %pS age=%lu cpu=%u pid=%d" (Allocated, then Freed).
    pattern: /^(?:INFO: )?(?:Allocated|Freed) in (?<allocatedIn>\S+(?: \[[^\]]+\])?) age=\d+/,
    captures: ['allocatedIn'],
    attachTo: ['slab-debug'],
    mode: 'nearest',
    description: 'SLUB (slub_debug=U): where the object was allocated',
  },
  {
    name: 'slab-info',
    // mm/slub.c print_slab_info / print_page_info: "Slab 0x%p objects=%u used=%u fp=0x%p flags=%pGp".
    pattern: /^(?:INFO: )?Slab 0x(?<slab>[0-9a-fA-F]+) objects=(?<objects>\d+) used=(?<used>\d+)/,
    captures: ['slab', 'objects', 'used'],
    attachTo: ['slab-debug'],
    mode: 'nearest',
    description: 'SLUB: the slab the object is in',
  },
  {
    name: 'slab-object',
    // mm/slub.c print_trailer: "Object 0x%p @offset=%tu fp=0x%p".
    pattern: /^(?:INFO: )?Object 0x(?<object>[0-9a-fA-F]+) @offset=(?<objectOffset>\d+)/,
    captures: ['object', 'objectOffset'],
    attachTo: ['slab-debug'],
    mode: 'nearest',
    description: 'SLUB: the object the report is about',
  },
  {
    name: 'slab-fix',
    // mm/slub.c slab_fix: "FIX %s: %pV" (Restoring Poison ..., Object at 0x... not freed, ...).
    pattern: /^FIX (?<fixCache>\S+): (?<fix>.+?)\s*$/,
    captures: ['fixCache', 'fix'],
    attachTo: ['slab-debug'],
    mode: 'nearest',
    description: 'SLUB: what it repaired so the kernel can go on',
  },
  {
    name: 'kmemleak-task',
    // mm/kmemleak.c print_unreferenced: "  comm \"%s\", pid %d, jiffies %lu".
    pattern: /^(?:kmemleak: )?\s*comm "(?<comm>.*)", pid (?<pid>\d+), jiffies \d+/,
    captures: ['comm', 'pid'],
    attachTo: ['kmemleak'],
    mode: 'nearest',
    description: 'kmemleak: the task that allocated the leaked object',
  },
  {
    name: 'lock-task',
    // kernel/locking/lockdep.c: "%s/%d is trying to acquire lock:", "... is trying to release
    // lock (", "%s/%d [HC..:SC..:HE..:SE..] takes:", "... just changed the state of lock:",
    // "... is freeing memory ...", "... is leaving the kernel with locks still held!".
    pattern: new RegExp(
      `^(?<comm>.+?)\\/(?<pid>\\d+)(?: \\[[^\\]]*\\])? ${oneOf(
        'is trying to (?:acquire|release|lock)',
        'takes:',
        'just changed the state of lock',
        'is freeing memory',
        'is (?:leaving the kernel|exiting) with locks still held',
      )}`,
    ),
    captures: ['comm', 'pid'],
    attachTo: ['lockdep'],
    mode: 'nearest',
    description: 'lockdep: the task that took or released the lock',
  },
  {
    name: 'rcu-site',
    // kernel/locking/lockdep.c lockdep_rcu_suspicious: "%s:%d %s!" after "suspicious RCU usage".
    pattern: /^(?<file>[^\s:]+\.[ch]):(?<lineno>\d+) (?<reason>.+?)!?\s*$/,
    captures: ['file', 'lineno', 'reason'],
    attachTo: ['lockdep'],
    mode: 'nearest',
    description: 'lockdep RCU: where the suspicious RCU use is, and what it is',
  },
  {
    name: 'lock-owner',
    // lib/spinlock_debug.c spin_dump: " lock: %pS, .magic: %08x, .owner: %s/%d, .owner_cpu: %d".
    pattern: new RegExp(
      `^\\s*lock: (?<lockName>.+?), \\.magic: (?<magic>${HEX}), ` +
        '\\.owner: (?<owner>.+?)\\/(?<ownerPid>-?\\d+), \\.owner_cpu: (?<ownerCpu>-?\\d+)',
    ),
    captures: ['lockName', 'magic', 'owner', 'ownerPid', 'ownerCpu'],
    attachTo: ['spinlock-debug'],
    mode: 'nearest',
    description: 'spinlock debugging: the lock, its magic word and its owner',
  },
  {
    name: 'atomic-state',
    // kernel/sched/core.c __might_resched: "in_atomic(): %d, irqs_disabled(): %d, non_block: %d,
    // pid: %d, name: %s".
    pattern: new RegExp(
      '^in_atomic\\(\\): (?<inAtomic>\\d+), irqs_disabled\\(\\): (?<irqsDisabled>\\d+),(?: non_block: \\d+,)? ' +
        'pid: (?<pid>\\d+), name: (?<comm>.+?)\\s*$',
    ),
    captures: ['inAtomic', 'irqsDisabled', 'pid', 'comm'],
    attachTo: ['invalid-context'],
    mode: 'nearest',
    description: 'sleeping in atomic context: which kind of atomic, and the task',
  },
  {
    name: 'preempt-caller',
    // lib/smp_processor_id.c: "caller is %pS"; kernel/sched/core.c: "Preemption disabled at:".
    pattern: /^(?:caller is |Preemption disabled at:\s*(?:\[<[0-9a-fA-F]+>\] )?)(?<caller>\S+(?: \[[^\]]+\])?)/,
    captures: ['caller'],
    attachTo: ['invalid-context'],
    mode: 'nearest',
    description: 'where preemption was disabled, or who made the per-CPU access',
  },
];
