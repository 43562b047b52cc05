/**
 * The one error type of the TypeScript side. `code` is stable and meant for
 * programs (tests, CI scripts); the message is for people and says what to do.
 */
export class MmaplabError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MmaplabError';
    this.code = code;
    this.details = details;
  }
}

export function isErrnoError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
