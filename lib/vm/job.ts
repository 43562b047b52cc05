/**
 * The host <-> guest protocol. The host writes job.json and guest.sh into the
 * run directory (shared with the guest over 9p); the guest agent appends one
 * JSON event per line to events.jsonl and prints progress marks on the
 * console, which the host timestamps.
 */
/** The job and the events are JSON read by the other side: ./job-schema and ./events define them. */
export type { Job, ModuleLoad } from './job-schema';
export type { GuestEvent, GuestTest } from './events';

export const MARK_AGENT_READY = 'MMAPLAB-AGENT-READY';
export const MARK_CELL_DONE = 'MMAPLAB-CELL-DONE';
export const MARK_AGENT_DONE = 'MMAPLAB-AGENT-DONE';
/** Printed by a fuzz job after every clean check: the host's idle deadline starts again. */
export const MARK_FUZZ_BATCH = 'MMAPLAB-FUZZ-BATCH';

/**
 * The agent rewrites this file in the run directory every HEARTBEAT_MS from
 * its event loop while it runs a job: as long as it changes, the agent can
 * still report, whatever the console shows.
 */
export const HEARTBEAT_FILE = 'heartbeat';
export const HEARTBEAT_MS = 250;

export const JOB_FILE = 'job.json';
export const EVENTS_FILE = 'events.jsonl';
export const GUEST_SCRIPT = 'guest.sh';
