/** Messages between the cell runner and its probe child. */
import type { CellSpec, ProbeObservation } from '../experiments/types';

export interface ProbeRequest {
  id: number;
  cell: CellSpec;
  devicePath: string;
}

export interface ProbeReply {
  id: number;
  observation: ProbeObservation;
}
