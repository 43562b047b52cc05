/**
 * Progress of a matrix run on stderr: cells done of total, the kernel and
 * cell running now, verdict counts and an ETA from the mean wall time per
 * finished cell (boots included). On a terminal it is one status line,
 * redrawn in place; anywhere else (CI logs, files) one plain line per
 * finished cell, so nothing is lost to carriage returns.
 */
import { compare } from '../experiments/expectations';
import type { CellResult, CellSpec } from '../experiments/types';
import { seriesOf } from '../vm/kernels';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private done = 0;
  private readonly verdicts = new Map<string, number>();
  private notAgreeing = 0;
  private asRecorded = 0;
  private current: { kernel: string; cell: string } | null = null;
  private readonly started: number;
  private shown = false;

  constructor(
    private total: number,
    private readonly out: ProgressStream,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** Cells finished so far. */
  get finished(): number {
    return this.done;
  }

  /** Total cells may change (a run that learns it has fewer): the ETA follows. */
  setTotal(total: number): void {
    this.total = total;
  }

  /** Mean wall time per finished cell times the cells left; null before the first. */
  etaMs(): number | null {
    if (this.done === 0) return null;
    const mean = (this.now() - this.started) / this.done;
    return mean * Math.max(0, this.total - this.done);
  }

  start(kernel: string, cell: CellSpec): void {
    this.current = { kernel, cell: cell.id };
    if (this.tty) this.draw();
  }

  result(r: CellResult): void {
    this.done++;
    this.verdicts.set(r.verdict, (this.verdicts.get(r.verdict) ?? 0) + 1);
    const agreement = compare(r.cell, seriesOf(r.kernel), r.verdict, r.detail);
    if (agreement !== 'agrees' && agreement !== 'as-recorded') this.notAgreeing++;
    if (agreement === 'as-recorded') this.asRecorded++;
    if (this.current?.cell === r.cell.id) this.current = null;
    if (this.tty) {
      this.draw();
    } else {
      const verdict = r.detail && r.verdict !== 'ok' ? `${r.verdict} (${r.detail})` : r.verdict;
      this.out.write(
        `[${this.done}/${this.total}] ${r.kernel} ${r.cell.id}: ${verdict}, ${agreement}` +
          ` (${formatDuration(r.durationMs)}); ${this.counts()}; ETA ${formatDuration(this.etaMs() ?? NaN)}\n`,
      );
    }
  }

  /** A message that must not be mangled by the status line. */
  log(message: string): void {
    this.clear();
    this.out.write(`${message}\n`);
    if (this.tty && this.shown) this.draw();
  }

  /** Removes the status line for good (before the table is printed). */
  finish(): void {
    this.clear();
    this.shown = false;
  }

  /** "ok 12, refused 3; 1 not as expected". */
  counts(): string {
    const parts = [...this.verdicts.entries()].map(([v, n]) => `${v} ${n}`);
    const base = parts.length === 0 ? 'no verdict yet' : parts.join(', ');
    const recorded = this.asRecorded > 0 ? `; ${this.asRecorded} as recorded` : '';
    return this.notAgreeing > 0 ? `${base}${recorded}; ${this.notAgreeing} not as predicted` : `${base}${recorded}`;
  }

  statusLine(): string {
    const eta = this.etaMs();
    const cur = this.current === null ? '' : ` ${this.current.kernel} ${this.current.cell}`;
    return `[${this.done}/${this.total}]${cur} | ${this.counts()} | ETA ${eta === null ? '?' : formatDuration(eta)}`;
  }

  private draw(): void {
    const width = (this.out.columns ?? 100) - 1;
    let line = this.statusLine();
    if (line.length > width) line = `${line.slice(0, Math.max(0, width - 1))}…`;
    this.out.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[2K');
  }
}
