/**
 * The templates this process restores from (lib/vm/template), one per kernel
 * and VM shape: found in the cache or saved once, shared by every job that
 * asks at the same time, and given up on, with the reason, when they cannot
 * be had (then jobs boot cold and their runs say why).
 */
import * as fs from 'node:fs';
import { lastStderrLine, qemuVersionLine } from './qemu';
import type { Kernel } from './kernels';
import { pvhEntryFailed, refusePvh } from './vmlinux';
import {
  cachedTemplate,
  discardTemplate,
  saveTemplate,
  templateInputs,
  templateLog,
  type Template,
  type TemplateInputs,
  type TemplateShape,
} from './template';

export type TemplateOrFallback = { template: Template } | { fallback: string };

/**
 * Saves per key and process before it stops trying (each is a cold boot and
 * a save): a failed save is tried again at once, since a guest that dies
 * while booting is more often TCG's code-patching race (one boot in about a
 * hundred, see runJobReady) than anything the next boot would repeat; and a
 * template whose copies do not come up is saved again once.
 */
export const SAVES_PER_KEY = 3;

/** What a template is made of, for a kernel and shape (templateInputs; a test may give other inputs). */
export type InputsOf = (kernel: Kernel, shape: TemplateShape, qemu: string) => TemplateInputs;

/** Boots and saves one template (saveTemplate; a test may give another). */
export type SaveOne = typeof saveTemplate;

export class SavedVms {
  /** Lookups and saves in flight: every ask meanwhile shares the one answer. */
  private readonly pending = new Map<string, Promise<TemplateOrFallback>>();
  private readonly inputs = new Map<string, TemplateInputs>();
  private readonly saves = new Map<string, number>();
  private readonly given = new Map<string, string>();
  private readonly pvhRefused = new Set<string>();

  constructor(
    private readonly inputsOf: InputsOf = templateInputs,
    private readonly save: SaveOne = saveTemplate,
  ) {}

  private static id(kernel: Kernel, shape: TemplateShape): string {
    return JSON.stringify([kernel.release, shape]);
  }

  /**
   * The template for this kernel and shape, checked (and marked used) at
   * every ask, so a template pruned or replaced meanwhile is found out before
   * QEMU is asked to load it; `runDir` makes the run directory a save boots in.
   */
  templateFor(kernel: Kernel, shape: TemplateShape, runDir: () => string): Promise<TemplateOrFallback> {
    const id = SavedVms.id(kernel, shape);
    const given = this.given.get(id);
    if (given !== undefined) return Promise.resolve({ fallback: given });
    let p = this.pending.get(id);
    if (p === undefined) {
      p = this.find(kernel, shape, runDir, id).catch((err: unknown) =>
        this.giveUp(id, `saved VMs failed: ${err instanceof Error ? err.message : String(err)}`),
      );
      const settled = p;
      this.pending.set(id, settled);
      void settled.finally(() => {
        if (this.pending.get(id) === settled) this.pending.delete(id);
      });
    }
    return p;
  }

  private async find(kernel: Kernel, shape: TemplateShape, runDir: () => string, id: string): Promise<TemplateOrFallback> {
    let inputs = this.inputs.get(id);
    // A kernel found meanwhile not to boot at its PVH entry (its vmlinux removed): inputs anew.
    if (inputs !== undefined && inputs.image.kind === 'vmlinux' && !fs.existsSync(inputs.image.path)) inputs = undefined;
    if (inputs === undefined) {
      try {
        inputs = this.inputsOf(kernel, shape, qemuVersionLine());
      } catch (err) {
        return this.giveUp(id, err instanceof Error ? err.message : String(err));
      }
      this.inputs.set(id, inputs);
    }
    const cached = cachedTemplate(inputs, shape, kernel.release);
    if (cached !== null) return { template: cached };
    let failed: string | null = null;
    for (;;) {
      const n = (this.saves.get(id) ?? 0) + 1;
      this.saves.set(id, n);
      if (n > SAVES_PER_KEY) return this.giveUp(id, failed ?? `saved ${SAVES_PER_KEY} times and refused each time`);
      const dir = runDir();
      const saved = await this.save(kernel, shape, inputs, dir);
      if (saved.template !== null) return { template: saved.template };
      if (pvhEntryFailed(inputs.image, saved.outcome) && !this.pvhRefused.has(id)) {
        this.pvhRefused.add(id);
        // The kernel cannot start at its PVH entry: save it from its bzImage instead.
        const why = refusePvh(kernel, dir);
        templateLog.write(`${kernel.release}: ${why}; saving it from its bzImage`);
        this.inputs.delete(id);
        this.saves.set(id, n - 1);
        return this.find(kernel, shape, runDir, id);
      }
      const tail = saved.outcome.consoleTail.filter((l) => /FAILED|panic|Oops|BUG/.test(l)).slice(-1)[0];
      const why = `saving a VM failed: ${lastStderrLine(saved.outcome) ?? tail ?? saved.outcome.end} (run directory ${dir})`;
      if (failed !== null) return this.giveUp(id, why);
      failed = why;
      templateLog.write(`${why}; saving it again`);
    }
  }

  private giveUp(id: string, why: string): TemplateOrFallback {
    if (!this.given.has(id)) templateLog.write(`cells boot cold: ${why}`);
    this.given.set(id, why);
    return { fallback: why };
  }

  /**
   * A copy of `t` did not come up: the template is discarded (the next ask
   * saves it again) unless it was already replaced by a newer save, which
   * is left alone. Returns the reason, for a cold run to record.
   */
  refuse(kernel: Kernel, t: Template, why: string): string {
    templateLog.write(`a VM restored for ${kernel.release} did not come up (${why}); saving it again`);
    discardTemplate(t.dir, t.meta.createdAt);
    return `restoring failed: ${why}`;
  }
}

/** The process's one set of templates. */
export const savedVms = new SavedVms();
