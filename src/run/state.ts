import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DfdcError } from '../util/errors.js';
import { removeStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';

/**
 * What the reference layout cannot hold, kept in `<output-dir>/.dfdc/`:
 * - `done/<stage>/<unit>.json`: a unit of work (a video, a pair) that is complete on disk, with
 *   what it produced. Written last, after every output of the unit was renamed into place, so a
 *   crash leaves either a complete unit with its marker or one that the next run redoes. One small
 *   file per unit, so shards writing into one output folder never contend for a shared file.
 * - `provenance.json`: per stage, the settings that shape its outputs, plus the tool version,
 *   backend and ffmpeg build that made them. A rerun whose settings differ stops unless --force,
 *   so outputs of two settings never mix silently.
 */
export type UnitStatus = 'ok' | 'warning';

export interface UnitRecord {
  status: UnitStatus;
  /** Free-form counts (frames, faces, files) for the report and for humans. */
  [key: string]: unknown;
}

function markerPath(stateDir: string, stage: string, unit: string): string {
  return join(stateDir, 'done', stage, `${unit}.json`);
}

export class StageState {
  private completed: Set<string> | undefined;

  constructor(
    /** `<output-dir>/.dfdc`, from OutputPaths.stateDir. */
    readonly stateDir: string,
    readonly stage: string,
  ) {}

  /** Loads the set of complete units once (one readdir, not a stat per unit). */
  async load(): Promise<void> {
    const dir = join(this.stateDir, 'done', this.stage);
    const names = existsSync(dir) ? await readdir(dir) : [];
    this.completed = new Set(names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -5)));
  }

  isComplete(unit: string): boolean {
    if (!this.completed) throw new Error('StageState.load() must run first');
    return this.completed.has(unit);
  }

  async markComplete(unit: string, record: UnitRecord): Promise<void> {
    await writeFileAtomic(markerPath(this.stateDir, this.stage, unit), `${JSON.stringify(record)}\n`);
    this.completed?.add(unit);
  }

  /** Forgets a unit before it is redone, so a crash midway never leaves a stale marker. */
  async forget(unit: string): Promise<void> {
    const marker = markerPath(this.stateDir, this.stage, unit);
    await rm(marker, { force: true });
    await removeStaleTemporaries(marker);
    this.completed?.delete(unit);
  }

  /** --force: every unit of the stage is redone. */
  async forgetAll(): Promise<void> {
    await rm(join(this.stateDir, 'done', this.stage), { recursive: true, force: true });
    this.completed = new Set();
  }
}

export interface StageProvenance {
  /** Settings that change what the stage writes; compared between runs. */
  settings: Record<string, unknown>;
  /** What made the outputs; recorded, not compared. */
  madeWith: Record<string, unknown>;
  updatedAt: string;
}

export interface ProvenanceFile {
  tool: 'dfdc';
  stages: Record<string, StageProvenance>;
}

function provenancePath(stateDir: string): string {
  return join(stateDir, 'provenance.json');
}

export function readProvenance(stateDir: string): ProvenanceFile {
  const path = provenancePath(stateDir);
  if (!existsSync(path)) return { tool: 'dfdc', stages: {} };
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ProvenanceFile;
  } catch {
    throw new DfdcError(`${path} is not valid JSON: delete it (and rerun with --force) or use another --output-dir`);
  }
}

/** The settings that differ between two records, as `name: old -> new`. */
export function settingsDifferences(previous: Record<string, unknown>, next: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(previous), ...Object.keys(next)]);
  const out: string[] = [];
  for (const name of [...names].sort()) {
    const a = JSON.stringify(previous[name]);
    const b = JSON.stringify(next[name]);
    if (a !== b) out.push(`${name}: ${a ?? 'unset'} -> ${b ?? 'unset'}`);
  }
  return out;
}

/**
 * Checks that a stage's outputs were made with the same settings, then records them.
 * With `force`, differing settings are accepted (the caller redoes every unit).
 */
export async function claimProvenance(
  stateDir: string,
  stage: string,
  settings: Record<string, unknown>,
  madeWith: Record<string, unknown>,
  force: boolean,
): Promise<void> {
  const file = readProvenance(stateDir);
  const previous = file.stages[stage];
  if (previous && !force) {
    const differences = settingsDifferences(previous.settings, settings);
    if (differences.length > 0) {
      throw new DfdcError(
        `${stage}: the outputs in ${dirname(stateDir)} were made with other settings (${differences.join('; ')}); ` +
          'rerun with --force to recompute them with the new settings, or choose another --output-dir',
      );
    }
  }
  file.stages[stage] = { settings, madeWith, updatedAt: new Date().toISOString() };
  await mkdir(stateDir, { recursive: true });
  await writeFileAtomic(provenancePath(stateDir), `${JSON.stringify(file, null, 2)}\n`);
}
