/**
 * package.json files as mmaplab reads them: its own (the version), and every
 * installed package's (the dependency fields, for the runtime image: see
 * lib/vm/runtime-packages). One schema for the fields read; the rest of a
 * package.json is not looked at. Not imported by lib/paths, which every
 * process loads, so that only the commands that read a manifest load valibot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { REPO_ROOT } from '../paths';
import type { ErrorCode } from './errors';
import { checkShape, parseJson, strings } from './schema';

export const PackageManifestSchema = v.object({
  name: v.optional(v.string()),
  version: v.optional(v.string()),
  dependencies: v.optional(strings),
  devDependencies: v.optional(strings),
  optionalDependencies: v.optional(strings),
  peerDependencies: v.optional(strings),
  /** A peer marked optional here is one the package works without. */
  peerDependenciesMeta: v.optional(v.record(v.string(), v.object({ optional: v.optional(v.boolean()) }))),
});

/** The fields of a package.json that mmaplab reads. */
export type PackageManifest = v.InferOutput<typeof PackageManifestSchema>;

/**
 * `file` read and checked: MmaplabError `code` naming the place when it is
 * not JSON or not a manifest. A file that cannot be read throws as fs does.
 */
export function readPackageJson(file: string, code: ErrorCode): PackageManifest {
  return checkShape(PackageManifestSchema, parseJson(fs.readFileSync(file, 'utf8'), file, code), file, code);
}

/** The version in package.json (the one npm and `mmaplab --version` show); 'unknown' when it has none. */
export function packageVersion(): string {
  return readPackageJson(path.join(REPO_ROOT, 'package.json'), 'EMALFORMED').version ?? 'unknown';
}
