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
import { checkShape, parseJson } from '../util/schema';
import { type UsesOrder, UsesOrderSchema, type UsesProgress, UsesProgressSchema } from './schema';
import type { CheckItem, CheckResult } from './types';

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

/** The order and the progress files are JSON read by another process: ./schema defines them. */
export type { UsesOrder, UsesProgress } from './schema';

export function writeUsesProgress(file: string, p: UsesProgress): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(p));
  fs.renameSync(tmp, file);
}

/** The progress file, checked: ECHECK naming the bad place when it is not one. */
export function readUsesProgress(file: string): UsesProgress {
  return checkShape(UsesProgressSchema, parseJson(fs.readFileSync(file, 'utf8'), file, 'ECHECK'), file, 'ECHECK');
}

/** The order file the uses' process is started with, checked: ECHECK naming the bad place when it is not one. */
export function readUsesOrder(file: string): UsesOrder {
  return checkShape(UsesOrderSchema, parseJson(fs.readFileSync(file, 'utf8'), file, 'ECHECK'), file, 'ECHECK');
}
