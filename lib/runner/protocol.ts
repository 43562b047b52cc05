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
