/** Messages between the cell runner and its probe child. */
import type { CellSpec, ProbeObservation } from '../experiments/types';

export interface ProbeRequest {
  id: number;
  cell: CellSpec;
  devicePath: string;
  /** A file of at least 8 bytes the probe maps to leave its step and page in (see Progress). */
  progressPath: string | null;
}

export interface ProbeReply {
  id: number;
  observation: ProbeObservation;
}

/** Sent once by a probe whose code and addon are loaded: it can take a cell at once. */
export interface ProbeReady {
  ready: true;
}
