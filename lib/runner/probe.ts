/**
 * Probe child entry point (forked by the cell runner with an IPC channel).
 * Receives one cell at a time and answers with its observation. If the
 * kernel kills this process, the runner sees the signal instead of an answer.
 */
import { native } from '../device/native';
import { mapProgressFile, type Progress } from '../device/progress';
import { runScenario } from './probe-steps';
import type { ProbeReady, ProbeRequest, ProbeReply } from './protocol';

let mapped: { file: string; progress: Progress } | null = null;

/** The runner's progress file, mapped shared once per probe. */
function progressAt(file: string | null): Progress | null {
  if (file === null) return null;
  if (mapped?.file !== file) mapped = { file, progress: mapProgressFile(file) };
  return mapped.progress;
}

process.on('message', (msg: ProbeRequest) => {
  const reply: ProbeReply = { id: msg.id, observation: runScenario(msg.cell, msg.devicePath, progressAt(msg.progressPath)) };
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
// The addon now rather than in the first cell, then the word that the probe
// is warm: a template is saved only after it, so a restored copy's first cell
// starts in a probe that has nothing left to load.
native();
const ready: ProbeReady = { ready: true };
process.send?.(ready);
