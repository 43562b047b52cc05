/**
 * The guest agent: started by guest.sh inside the VM with the run directory as
 * its argument. Runs the job, reporting every step as an event line; exits
 * early (so the host reboots) when a cell has damaged the kernel.
 *
 * With `--template` (a template VM, lib/vm/template) it first gets everything
 * a job needs running (the probe process included), says so on the control
 * port and waits there: the VM is saved in that wait, and each restored copy
 * gets its order, sets its clock, mounts its own run directory and goes on
 * exactly as a cold-booted agent would.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EVENTS_FILE,
  HEARTBEAT_FILE,
  HEARTBEAT_MS,
  JOB_FILE,
  MARK_AGENT_DONE,
  MARK_AGENT_READY,
  MARK_CELL_DONE,
  MARK_FUZZ_BATCH,
  type GuestEvent,
} from '../vm/job';
import { readJob, type Job } from '../vm/job-schema';
import { GUEST_RUN_DIR, RUN_DIR_TAG } from '../vm/guest-init';
import { native } from '../device/native';
import { CellRunner, damagedKernel } from './cell-runner';
import { GuestControl, resumeSteps } from './control';
import { loadModule } from './module';

function uptime(): number {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Rewrites `file` from the event loop: it stops changing when the agent can no longer run. */
function startHeartbeat(file: string): void {
  let beat = 0;
  const timer = setInterval(() => {
    try {
      fs.writeFileSync(file, `${++beat}\n`);
    } catch {
      // the run directory is gone: nobody is listening
    }
  }, HEARTBEAT_MS);
  timer.unref();
}

type Emit = (e: GuestEvent) => void;
type JobOf<K extends Job['kind']> = Extract<Job, { kind: K }>;

/** Cells one by one, each with its events and console mark; stops after one that damaged the kernel. */
async function runCells(job: JobOf<'cells'>, warm: CellRunner | null, emit: Emit): Promise<number> {
  const runner = warm ?? new CellRunner({ kernel: os.release() });
  // The probe's node starts while insmod runs (a template's runs already).
  void runner.start();
  loadModule(job.module.path, job.module.params);
  try {
    for (const cell of job.cells) {
      emit({ type: 'cell-start', id: cell.id });
      const result = await runner.run(cell);
      emit({ type: 'cell-result', result });
      process.stdout.write(`${MARK_CELL_DONE} ${cell.id} ${result.verdict}\n`);
      const why = damagedKernel(result);
      if (why !== null) {
        emit({ type: 'kernel-damaged', id: cell.id, why });
        return 0;
      }
    }
  } finally {
    runner.close();
  }
  return 0;
}

async function runFuzz(job: JobOf<'fuzz'>, emit: Emit): Promise<number> {
  // No hazards: the fuzzer checks that the module refuses them.
  loadModule(job.module.path, job.module.params);
  const { runFuzzJob } = await import('../fuzz/run');
  let marked = 0;
  const result = await runFuzzJob(job.fuzz, {
    onProgress: (done, elapsedMs, memory) => {
      emit({ type: 'fuzz-progress', done, elapsedMs, memory });
      // One console mark a second at most: it only restarts the host's idle deadline.
      if (Date.now() - marked >= 1000) {
        marked = Date.now();
        process.stdout.write(`${MARK_FUZZ_BATCH} ${done} MemAvailable ${memory.availableKb} kB\n`);
      }
    },
  });
  emit({ type: 'fuzz-result', result });
  return result.error === null ? 0 : 1;
}

/** Every file-backed method under each of its triggers. */
async function runFiles(job: JobOf<'files'>, emit: Emit): Promise<number> {
  loadModule(job.module.path, job.module.params);
  const { MEASURED_FILE_METHODS, TRIGGERS_OF, measureTrigger } = await import('../experiments/file-triggers');
  for (const method of MEASURED_FILE_METHODS) {
    for (const trigger of TRIGGERS_OF[method]) {
      const result = await measureTrigger(method, trigger);
      emit({ type: 'file-result', result });
      process.stdout.write(`${MARK_CELL_DONE} ${method}/${trigger}\n`);
    }
  }
  return 0;
}

async function runCheck(job: JobOf<'check'>, emit: Emit, eventsFile: string): Promise<number> {
  // The user's module, not mmaplab's: nothing of mmaplab is loaded.
  const { loadUserModule, runCheckScenarios } = await import('../check/guest');
  const { checkSink } = await import('../check/sink');
  const loaded = loadUserModule(job.module.path, job.module.params, job.check.target);
  if (loaded.note !== null) emit({ type: 'log', message: loaded.note });
  if (loaded.nodes.length > 0) emit({ type: 'check-nodes', nodes: loaded.nodes });
  runCheckScenarios(loaded.target, job.check.scenarios, checkSink(eventsFile));
  return 0;
}

async function runBench(job: JobOf<'bench'>, emit: Emit): Promise<number> {
  loadModule(job.module.path, job.module.params);
  const { measureGuestBench } = await import('../bench/measure');
  const result = await measureGuestBench(job.options, (line) => process.stdout.write(`bench: ${line}\n`));
  emit({ type: 'bench-result', result });
  return 0;
}

async function runSuite(job: JobOf<'suite'>, emit: Emit): Promise<number> {
  loadModule(job.module.path, job.module.params);
  process.env['MMAPLAB_KO'] = job.module.path;
  Object.assign(process.env, job.env ?? {});
  // Loaded only for suite jobs: mocha is ~70 files, each read over 9p.
  const { runGuestSuite } = await import('./guest-suite');
  const failures = await runGuestSuite(job.files, (test) => emit({ type: 'test', test }));
  return failures === 0 ? 0 : 1;
}

/** The job, by its kind; a template's warm probe is closed unless the job runs cells. */
async function runJob(job: Job, warm: CellRunner | null, emit: Emit, eventsFile: string): Promise<number> {
  if (warm !== null && job.kind !== 'cells') warm.close();
  if (job.kind === 'idle') return 0;
  if (job.kind === 'cells') return runCells(job, warm, emit);
  if (job.kind === 'fuzz') return runFuzz(job, emit);
  if (job.kind === 'files') return runFiles(job, emit);
  if (job.kind === 'check') return runCheck(job, emit, eventsFile);
  if (job.kind === 'bench') return runBench(job, emit);
  return runSuite(job, emit);
}

async function main(runDir: string, warm: CellRunner | null = null): Promise<number> {
  const eventsFile = path.join(runDir, EVENTS_FILE);
  const emit = (e: GuestEvent): void => fs.appendFileSync(eventsFile, JSON.stringify(e) + '\n');
  const job = readJob(path.join(runDir, JOB_FILE));
  emit({ type: 'ready', uptime: uptime(), node: process.version, release: os.release() });
  process.stdout.write(`${MARK_AGENT_READY} ${uptime()}\n`);
  startHeartbeat(path.join(runDir, HEARTBEAT_FILE));
  try {
    return await runJob(job, warm, emit, eventsFile);
  } catch (err) {
    emit({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return 2;
  }
}

/**
 * A template's wait: the probe started and the port open, `template-ready`,
 * then (in a restored copy) the order, the clock, the run directory.
 */
async function awaitRestore(): Promise<CellRunner> {
  const runner = new CellRunner({ kernel: os.release() });
  // Saved warm: the probe with its code and addon loaded, and the addon
  // here too, which pins the probe. A restored copy's first cell loads
  // nothing (it took 0.3-1 s more than later cells when these loaded after
  // the restore).
  await runner.start();
  native();
  const control = new GuestControl();
  control.send({ type: 'template-ready', uptime: uptime() });
  const order = control.receive('resume');
  resumeSteps(order.epochMs, RUN_DIR_TAG, GUEST_RUN_DIR, order.msize);
  control.send({ type: 'resumed', uptime: uptime() });
  return runner;
}

const template = process.argv[2] === '--template';
const runDir = template ? GUEST_RUN_DIR : process.argv[2];
if (runDir === undefined) {
  process.stderr.write('usage: agent.js RUN_DIR | agent.js --template\n');
  process.exit(2);
}
void (async (): Promise<never> => {
  let warm: CellRunner | null = null;
  if (template) {
    try {
      warm = await awaitRestore();
    } catch (err) {
      process.stderr.write(`agent: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(3);
    }
  }
  let status: number;
  try {
    status = await main(runDir, warm);
  } catch (err) {
    process.stderr.write(`agent failed: ${String(err)}\n`);
    process.exit(3);
  }
  fs.appendFileSync(path.join(runDir, EVENTS_FILE), JSON.stringify({ type: 'done', status }) + '\n');
  process.stdout.write(`${MARK_AGENT_DONE} ${status}\n`);
  process.exit(status);
})();
