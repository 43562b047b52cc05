/**
 * Probe child entry point (forked by the cell runner with an IPC channel).
 * Receives one cell at a time and answers with its observation. If the
 * kernel kills this process, the runner sees the signal instead of an answer.
 */
import { mapFd, type Mapping } from '../device';
import { native, nativeConstants } from '../device/native';
import { type Progress, runScenario } from './probe-steps';
import type { ProbeRequest, ProbeReply } from './protocol';

let progressMap: { path: string; map: Mapping; progress: Progress } | null = null;

/** The runner's progress file, mapped shared once per probe. */
function progressAt(file: string | null): Progress | null {
  if (file === null) return null;
  if (progressMap?.path !== file) {
    const fd = native().open(file, nativeConstants().sys.O_RDWR);
    try {
      const map = mapFd(fd, 8);
      progressMap = { path: file, map, progress: { step: new Int32Array(map.buffer, 0, 1), page: new Int32Array(map.buffer, 4, 1) } };
    } finally {
      native().close(fd);
    }
  }
  return progressMap.progress;
}

process.on('message', (msg: ProbeRequest) => {
  const reply: ProbeReply = { id: msg.id, observation: runScenario(msg.cell, msg.devicePath, progressAt(msg.progressPath)) };
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
