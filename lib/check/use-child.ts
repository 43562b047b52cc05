/**
 * The process that runs a check's uses (lib/experiments/uses) on the
 * user's driver, started by the agent (lib/check/guest runUsesInChild)
 * with its order as one JSON argument. Each use opens the node (setup
 * steps run), maps the buffer shared, writes the pattern itself (nothing
 * here knows the driver's data), then does what the matrix's use cell
 * does on that mapping, in its own kernel-log window. A use that kills
 * this process is given its verdict by the agent, from the progress file.
 */
import { isSyscallError } from '../device/errors';
import { mapFd, type Mapping } from '../device/mapping';
import { native } from '../device/native';
import type { PatternMismatch } from '../device/pattern';
import { readTaint } from '../kmsg';
import { SEED_KERNEL } from '../runner/seeds';
import { ChildSignal, runUse, type UseFinding } from '../runner/uses';
import { describeMismatch, type Observed, openDevice, runWindowed } from './guest';
import { checkSink, readUsesOrder, readUsesProgress, type UsesOrder, writeUsesProgress } from './sink';
import { type CheckTarget, type CheckUse, useOf } from './types';

/** The use's own answer as a detail: its outcome and facts, or that it finished. */
function describeUse(found: UseFinding): string {
  const facts = Object.entries(found.facts).map(([k, v]) => `${k} ${String(v)}`);
  const what = found.outcome !== '' ? found.outcome : 'done';
  return facts.length > 0 ? `${what} (${facts.join(', ')})` : what;
}

/** One use on a fresh descriptor and mapping; whatever it maps is unmapped and the descriptor closed. */
export function useBody(t: CheckTarget, item: CheckUse): Observed {
  const use = useOf(item);
  if (use === null) throw new Error(`${item} is not a use`);
  const fd = openDevice(t);
  const held: Mapping[] = [];
  let bad: string | null = null;
  const view = (what: string, m: PatternMismatch | null): void => {
    if (m !== null && bad === null) bad = describeMismatch(what, m);
  };
  try {
    let map: Mapping;
    try {
      map = mapFd(fd, t.size);
    } catch (err) {
      if (isSyscallError(err)) return { verdict: 'refused', detail: `mmap ${t.size} B shared: ${err.code}` };
      throw err;
    }
    held.push(map);
    map.writePattern(SEED_KERNEL);
    view('the pattern written', map.checkPattern(SEED_KERNEL));
    let found: UseFinding;
    // wrong data seen before the use ended, however it ended, is the finding
    const mismatchOr = (o: Observed): Observed => (bad !== null ? { verdict: 'data-mismatch', detail: bad } : o);
    try {
      found = runUse(use, {
        map,
        held,
        view,
        // What the driver holds after the use wrote `seed`: a second mapping of the buffer shows it.
        verify: (seed) => {
          const again = mapFd(fd, t.size);
          try {
            view('a second mapping after the use', again.checkPattern(seed));
          } finally {
            again.unmap();
          }
        },
        mapAgain: (o) => mapFd(fd, o.length, { placement: o.placement }),
        driverPfns: () => null,
      });
    } catch (err) {
      if (err instanceof ChildSignal) return mismatchOr({ verdict: 'signal', detail: err.message });
      if (isSyscallError(err)) return mismatchOr({ verdict: 'refused', detail: err.message });
      // the use could not be made here (no THP switch, a hint not honoured...): says nothing of the driver
      return mismatchOr({ verdict: 'not-run', detail: `the use could not run: ${err instanceof Error ? err.message : String(err)}` });
    }
    return mismatchOr({ verdict: 'ok', detail: describeUse(found) });
  } finally {
    for (const m of held) {
      try {
        if (!m.unmapped) m.unmap();
      } catch {
        /* the use's own outcome is what matters */
      }
    }
    native().close(fd);
  }
}

function main(order: UsesOrder): void {
  const sink = checkSink(order.eventsFile, { marks: order.marks });
  const p = readUsesProgress(order.progressFile);
  let since = p.since;
  for (const item of order.uses) {
    writeUsesProgress(order.progressFile, { ...p, inFlight: item, since, taint: readTaint() });
    sink.started(item);
    const { result, nextSeq } = runWindowed(item, () => useBody(order.target, item), since);
    since = nextSeq;
    sink.report(result);
    p.done.push(item);
    const stopped = result.verdict === 'kernel-complaint';
    writeUsesProgress(order.progressFile, { ...p, inFlight: null, since, taint: readTaint(), stopped });
    if (stopped) return;
  }
}

const orderFile = process.argv[2];
if (orderFile === undefined) {
  process.stderr.write('usage: use-child.js ORDER-FILE\n');
  process.exit(2);
}
main(readUsesOrder(orderFile));
