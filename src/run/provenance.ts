import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { FatalError } from '../util/errors.js';
import { removeStaleTemporaries, writeFileAtomic, writeNewFileAtomic } from '../util/atomic-write.js';
import { optionHelp } from '../util/options.js';
import type { SettingsSchema } from './stage.js';

/**
 * Per stage, the settings that shaped its outputs (the stage's whole settings object: every field
 * of a stage's schema shapes what it writes, and for stages that run MTCNN the TF.js backend, whose
 * arithmetic differs in the last bits) and what made them (dfdc version, ffmpeg build), in
 * `.run-state/provenance/<stage>.json`. A rerun whose settings differ stops, unless --force, so
 * that outputs of two settings never mix silently; each unit's record also carries a hash of the
 * settings, so a unit made with others is redone. It is written when the stage has run to its
 * end: a run cut short leaves it describing the outputs that are there.
 */
const provenanceSchema = z.object({
  /** Settings that change what the stage writes; compared between runs. */
  settings: z.record(z.string(), z.unknown()),
  /** What made the outputs; recorded, not compared. */
  madeWith: z.record(z.string(), z.unknown()).default({}),
  updatedAt: z.string().optional(),
});

export type StageProvenance = z.infer<typeof provenanceSchema>;

function provenancePath(stateDir: string, stage: string): string {
  return join(stateDir, 'provenance', `${stage}.json`);
}

/** Where dfdc 0.1 kept every stage's provenance in one file. */
function legacyProvenancePath(stateDir: string): string {
  return join(stateDir, 'provenance.json');
}

async function readJson(path: string): Promise<{ found: false } | { found: true; json: unknown }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { found: false };
    // Deleting is safe (each unit's record names its own settings); a permission fix keeps the record.
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? `make it and ${dirname(path)} readable for this user, or delete it`
        : code === 'ENOTDIR'
          ? `${dirname(path)} is not a folder: move that file away`
          : code === 'EISDIR'
            ? 'it is a folder: move it away'
            : 'delete it';
    throw new FatalError(`cannot read ${path} (${code ?? String(error)}): ${fix}, then rerun`);
  }
  try {
    return { found: true, json: JSON.parse(text) };
  } catch {
    return { found: true, json: undefined };
  }
}

/**
 * The provenance recorded for `stage`, if any (also from dfdc 0.1's single provenance.json, whose
 * backend was recorded, not compared). A file that is not a provenance record stops the run with
 * the fix: deleting it is safe, since every unit's record names its own settings.
 */
export async function readProvenance(stateDir: string, stage: string): Promise<StageProvenance | undefined> {
  const path = provenancePath(stateDir, stage);
  const own = await readJson(path);
  if (own.found) {
    const parsed = provenanceSchema.safeParse(own.json);
    if (!parsed.success) throw new FatalError(`${path} is not a provenance record: delete it, then rerun (units made with other settings are still redone)`);
    return parsed.data;
  }
  const legacy = await readJson(legacyProvenancePath(stateDir));
  if (!legacy.found) return undefined;
  const parsed = z.object({ stages: z.record(z.string(), provenanceSchema) }).safeParse(legacy.json);
  const entry = parsed.success ? parsed.data.stages[stage] : undefined;
  if (!entry) return undefined;
  const backend = entry.madeWith.backend;
  return backend === undefined ? entry : { ...entry, settings: { ...entry.settings, backend } };
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

/** ` (hint; hint)`: what the options that differ say of themselves (how `dfdc run` sets detect's frame step), or nothing. */
function settingHints(stage: { settings: SettingsSchema }, previous: Record<string, unknown>, settings: Record<string, unknown>): string {
  const hints = Object.keys(settings)
    .filter((name) => JSON.stringify(previous[name]) !== JSON.stringify(settings[name]))
    .map((name) => {
      const schema = stage.settings.shape[name];
      return schema ? optionHelp(schema)?.hint : undefined;
    })
    .filter((hint): hint is string => hint !== undefined);
  return hints.length > 0 ? ` (${hints.join('; ')})` : '';
}

/**
 * Stops unless the stage's outputs were made with these settings (or there are none yet, or
 * `force`), and gives the record read, if any. The message names each difference, and the hint
 * its setting carries (how `dfdc run` sets detect's frame step, for instance).
 */
export async function checkProvenance(
  stateDir: string,
  outputDir: string,
  stage: { name: string; settings: SettingsSchema },
  settings: Record<string, unknown>,
  force: boolean,
): Promise<StageProvenance | undefined> {
  // With --force a record that cannot be read is replaced, not a reason to stop.
  if (force) return readProvenance(stateDir, stage.name).catch(() => undefined);
  const previous = await readProvenance(stateDir, stage.name);
  if (!previous) return undefined;
  const differences = settingsDifferences(previous.settings, settings);
  if (differences.length === 0) return previous;
  throw new FatalError(
    `${stage.name}: the outputs in ${outputDir} were made with other settings (${differences.join('; ')})${settingHints(stage, previous.settings, settings)}; ` +
      'give the same settings again, or rerun with --force to recompute them with the new ones, or choose another --output-dir',
  );
}

/**
 * Records what the stage's outputs are now made with. Without `force`, a record another process
 * wrote since this run checked it (two runs started together on one output with other settings)
 * is not replaced: the run stops, since its outputs now mix with the other's. `first` (the stage
 * had no record when it started) creates the record only if there is still none, so of two such
 * runs exactly one records its settings and the other stops at its first finished unit.
 */
export async function recordProvenance(
  stateDir: string,
  outputDir: string,
  stage: { name: string; settings: SettingsSchema },
  settings: Record<string, unknown>,
  madeWith: Record<string, unknown>,
  { force = false, first = false }: { force?: boolean; first?: boolean } = {},
): Promise<void> {
  const path = provenancePath(stateDir, stage.name);
  await removeStaleTemporaries(path);
  const text = `${JSON.stringify({ settings, madeWith, updatedAt: new Date().toISOString() } satisfies StageProvenance, null, 2)}\n`;
  if (!force && first && (await writeNewFileAtomic(path, text))) return;
  // With --force, a record that cannot be read is replaced, as any other would be.
  const recorded = await readProvenance(stateDir, stage.name).catch((error: unknown) => (force ? undefined : Promise.reject(error)));
  // The same record already: nothing to write (a rerun with nothing to do writes nothing, and so
  // does not stop on a disk that has filled up since).
  if (recorded && isDeepStrictEqual(recorded.settings, settings) && isDeepStrictEqual(recorded.madeWith, madeWith)) return;
  if (!force) {
    const differences = recorded ? settingsDifferences(recorded.settings, settings) : [];
    if (recorded && differences.length > 0) {
      throw new FatalError(
        `${stage.name}: another process recorded other settings for the outputs in ${outputDir} while this run made them (${differences.join('; ')})${settingHints(stage, recorded.settings, settings)}: ` +
          'two runs with different settings on one output mix their outputs; let one of them finish, then rerun with its settings (the units this run made are redone), or use another --output-dir',
      );
    }
  }
  await writeFileAtomic(path, text);
}
