/**
 * Where a check's results go inside the guest: the run directory's events
 * file (one JSON line each, as the agent's other events) and a console
 * mark per result that restarts the host's idle deadline. The agent and
 * the process that runs the uses (lib/check/use-child) both write through
 * it; that process also keeps its progress in a file of its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MARK_CELL_DONE, type GuestEvent } from '../vm/job';
import type { CheckItem, CheckResult, CheckTarget, CheckUse } from './types';

export interface CheckSink {
  /** The events file the results are appended to. */
  eventsFile: string;
  /** Whether each result prints its console mark. */
  marks: boolean;
  started(item: CheckItem): void;
  report(result: CheckResult): void;
}

/** `marks`: print the console mark of each result (in a guest; on a lab machine nobody reads it). */
export function checkSink(eventsFile: string, { marks = true }: { marks?: boolean } = {}): CheckSink {
  const emit = (e: GuestEvent): void => fs.appendFileSync(eventsFile, JSON.stringify(e) + '\n');
  return {
    eventsFile,
    marks,
    started: (item) => emit({ type: 'check-start', scenario: item }),
    report: (result) => {
      emit({ type: 'check-result', result });
      if (marks) process.stdout.write(`${MARK_CELL_DONE} ${result.scenario} ${result.verdict}\n`);
    },
  };
}

/** The script of the process that runs the uses. */
export const USE_CHILD_SCRIPT = path.join(__dirname, 'use-child.js');

/** What the uses' process has done, rewritten before and after each use. */
export interface UsesProgress {
  /** The use running now, null between uses. */
  inFlight: CheckUse | null;
  /** Where the kernel-log window of the use in flight (or of the next one) begins. */
  since: number;
  /** The taint when that window began. */
  taint: number;
  /** The uses reported so far. */
  done: CheckUse[];
  /** A use the kernel complained in ended the run: nothing more in this VM. */
  stopped: boolean;
}

/** What the uses' process passes on its command line. */
export interface UsesOrder {
  target: CheckTarget;
  uses: CheckUse[];
  eventsFile: string;
  progressFile: string;
  marks: boolean;
}

export function writeUsesProgress(file: string, p: UsesProgress): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(p));
  fs.renameSync(tmp, file);
}

export function readUsesProgress(file: string): UsesProgress {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as UsesProgress;
}
