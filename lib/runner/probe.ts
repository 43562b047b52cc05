/**
 * Probe child entry point (forked by the cell runner with an IPC channel).
 * Receives one cell at a time and answers with its observation. If the
 * kernel kills this process, the runner sees the signal instead of an answer.
 */
import { runScenario } from './probe-steps';
import type { ProbeRequest, ProbeReply } from './protocol';

process.on('message', (msg: ProbeRequest) => {
  const reply: ProbeReply = { id: msg.id, observation: runScenario(msg.cell, msg.devicePath) };
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
