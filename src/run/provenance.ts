import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError } from '../util/errors.js';
import { removeStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';

/**
 * Per stage, the settings that shaped its outputs (the stage's whole settings object: every field
 * of a stage's schema shapes what it writes) and what made them (dfdc version, backend, ffmpeg
 * build), in `.run-state/provenance/<stage>.json`. A rerun whose settings differ stops, unless
 * --force, so that outputs of two settings never mix silently. (Each unit's record also carries a
 * hash of the settings: a unit made with others is redone even when a --force run was cut short.)
 */
export interface StageProvenance {
  /** Settings that change what the stage writes; compared between runs. */
  settings: Record<string, unknown>;
  /** What made the outputs; recorded, not compared. */
  madeWith: Record<string, unknown>;
  updatedAt: string;
}

function provenancePath(stateDir: string, stage: string): string {
  return join(stateDir, 'provenance', `${stage}.json`);
}

/** Where dfdc 0.1 kept every stage's provenance in one file. */
function legacyProvenancePath(stateDir: string): string {
  return join(stateDir, 'provenance.json');
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new FatalError(`${path} is not valid JSON: delete it (and rerun with --force) or use another --output-dir`);
  }
}

/** The provenance recorded for `stage`, if any (also from dfdc 0.1's single provenance.json). */
export async function readProvenance(stateDir: string, stage: string): Promise<StageProvenance | undefined> {
  const own = (await readJson(provenancePath(stateDir, stage))) as StageProvenance | undefined;
  if (own) return own;
  const legacy = (await readJson(legacyProvenancePath(stateDir))) as { stages?: Record<string, StageProvenance> } | undefined;
  return legacy?.stages?.[stage];
}

/**
 * The settings that differ between two records, as `name: old -> new`. Only today's settings are
 * compared: one that an older version recorded and that no longer exists (dfdc 0.1's crops
 * `frameStep`, now fixed) shapes nothing today, while a new one that the older record lacks does
 * count as a difference.
 */
export function settingsDifferences(previous: Record<string, unknown>, next: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(next).sort()) {
    const a = JSON.stringify(previous[name]);
    const b = JSON.stringify(next[name]);
    if (a !== b) out.push(`${name}: ${a ?? 'unset'} -> ${b ?? 'unset'}`);
  }
  return out;
}

/**
 * Checks that a stage's outputs were made with the same settings, then records them.
 * With `force`, differing settings are accepted (every unit is then redone).
 */
export async function claimProvenance(
  stateDir: string,
  outputDir: string,
  stage: string,
  settings: Record<string, unknown>,
  madeWith: Record<string, unknown>,
  force: boolean,
): Promise<void> {
  const previous = await readProvenance(stateDir, stage);
  if (previous && !force) {
    const differences = settingsDifferences(previous.settings, settings);
    if (differences.length > 0) {
      throw new FatalError(
        `${stage}: the outputs in ${outputDir} were made with other settings (${differences.join('; ')}); ` +
          'rerun with --force to recompute them with the new settings, or choose another --output-dir',
      );
    }
  }
  const path = provenancePath(stateDir, stage);
  await removeStaleTemporaries(path);
  await writeFileAtomic(path, `${JSON.stringify({ settings, madeWith, updatedAt: new Date().toISOString() } satisfies StageProvenance, null, 2)}\n`);
}
