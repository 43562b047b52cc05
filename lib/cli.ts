#!/usr/bin/env node
/** The `mmaplab` command line: one module per command under cli/. */
import { parseArgs, VM_COMMANDS, type CliOptions } from './cli/args';
import { runBench } from './cli/bench';
import { runBenchBoot } from './cli/bench-boot';
import { runCheck } from './cli/check';
import { classifyCommand } from './cli/classify';
import { runFiles } from './cli/files';
import { runFuzz } from './cli/fuzz';
import { log } from './cli/common';
import { EXIT_FAILED, EXIT_USAGE } from './cli/exit';
import { runGuestTests } from './cli/guest-tests';
import { helpText } from './cli/help';
import { buildKmodCommand, kernelCommand, kernelsCommand } from './cli/kernels';
import { runMatrix } from './cli/matrix';
import { mergeCommand } from './cli/merge';
import { findingsCommand } from './cli/findings';
import { reportCommand } from './cli/report';
import { runOne } from './cli/run';
import { runShell } from './cli/shell';
import { MmaplabError } from './util/errors';
import { installInterruptHandlers, interruptedBy, interruptExitStatus } from './util/interrupt';
import { packageVersion } from './util/package-json';

/**
 * Commands whose Ctrl-C kills their VMs and ends in a partial report; the
 * others (and --target host, which has no VM to kill) keep the default: the
 * signal ends the process at once.
 */
function stopsItsVms(opts: CliOptions): boolean {
  return VM_COMMANDS.includes(opts.command) && opts.target === 'qemu';
}

export async function main(argv: readonly string[]): Promise<number> {
  const opts = parseArgs(argv);
  if (require.main === module && stopsItsVms(opts)) installInterruptHandlers(log);
  switch (opts.command) {
    case 'help':
      process.stdout.write(helpText(opts.topic));
      return 0;
    case 'kernels':
      return kernelsCommand();
    case 'version':
      process.stdout.write(`mmaplab ${packageVersion()}\n`);
      return 0;
    case 'kernel':
      return kernelCommand(opts);
    case 'shell':
      return runShell(opts);
    case 'build-kmod':
      return buildKmodCommand(opts);
    case 'matrix':
      return runMatrix(opts);
    case 'run':
      return runOne(opts);
    case 'classify':
      return classifyCommand(opts);
    case 'merge':
      return mergeCommand(opts);
    case 'report':
      return reportCommand(opts);
    case 'findings':
      return findingsCommand(opts);
    case 'test-guest':
      return runGuestTests(opts);
    case 'files':
      return runFiles(opts);
    case 'bench':
      return runBench(opts);
    case 'bench-boot':
      return runBenchBoot(opts);
    case 'fuzz':
      return runFuzz(opts);
    case 'check':
      return runCheck(opts);
  }
}

/** The exit status for an error that ended a command: 2 for usage errors, 1 otherwise. */
export function exitStatusOf(err: unknown): number {
  return err instanceof MmaplabError && err.code === 'EUSAGE' ? EXIT_USAGE : EXIT_FAILED;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(interruptedBy() !== null ? interruptExitStatus(interruptedBy() as NodeJS.Signals) : status),
    (err: unknown) => {
      const signal = interruptedBy();
      if (signal !== null && err instanceof MmaplabError && err.code === 'EINTERRUPTED') {
        log(`mmaplab: stopped by ${signal}`);
        process.exit(interruptExitStatus(signal));
      }
      if (err instanceof MmaplabError) {
        log(`mmaplab: ${err.message}`);
        if (err.code !== 'EUSAGE') log(`(error code ${err.code})`);
      } else {
        log(`mmaplab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      process.exit(signal !== null ? interruptExitStatus(signal) : exitStatusOf(err));
    },
  );
}
