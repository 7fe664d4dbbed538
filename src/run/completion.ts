import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { z } from 'zod';
import type { DatasetDirs } from '../dataset/dirs.js';
import { removePath, removeTemporariesOf, writeFileAtomic, type TemporaryIndex } from '../util/atomic-write.js';
import { boundedFileName } from '../util/file-names.js';
import { inputFileState, localFileAccess, type FileAccess } from '../util/file-system.js';
import type { Input, Output, Ref, UnitOutcome } from './stage.js';

/**
 * When is a unit of work complete? Only while what it wrote is still there and what it read has
 * not changed (docs/completion.md). When a unit is done, the runner writes its record,
 * `.run-state/units/<stage>/<unit>.json`: the settings it was made with, and the identity of each
 * file and folder it read and wrote. A later run counts the unit complete only when every one of
 * them still has that identity; otherwise the unit is redone. The record is a claim that the files
 * are checked against, never trusted alone.
 *
 * Identities, chosen to cost one stat or one listing each (a rerun at DFDC's size checks about
 * 250,000 units):
 * - a file: its size and modification time (absent: null);
 * - a folder: how many files it holds, a hash of their names, and its modification time, which
 *   changes whenever a file in it is created, removed or replaced by a rename (how dfdc and most
 *   tools write). A folder a unit writes is owned by that unit, so any other file there, or one
 *   missing, means the unit is not complete; a folder a unit reads whose time changed (crops that
 *   were redone) means its landmarks and diffs are redone.
 * On a local file system an unchanged folder time means unchanged names, so a check costs one stat
 * per folder; elsewhere the folder is listed (stillIs).
 */

/**
 * The identity of a file or folder; null when it is absent. `mtime` is the modification time in
 * milliseconds, as precise as the file system keeps it (a fraction of a millisecond on most).
 */
export type Identity = { size: number; mtime: number } | { files: number; names: string; mtime?: number } | null;

const identitySchema = z.union([
  z.object({ size: z.number(), mtime: z.number() }),
  z.object({ files: z.number(), names: z.string(), mtime: z.number().optional() }),
  z.null(),
]);

const refRecordSchema = z.object({ role: z.string(), kind: z.enum(['file', 'folder']), path: z.string(), id: identitySchema });
type RefRecord = z.infer<typeof refRecordSchema>;

export const unitRecordSchema = z.object({
  version: z.literal(2),
  stage: z.string(),
  unit: z.string(),
  /** A hash of the stage's settings (provenance): a unit made with other settings is redone. */
  settings: z.string(),
  completedAt: z.string(),
  status: z.enum(['ok', 'warning']),
  warning: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(refRecordSchema),
  outputs: z.array(refRecordSchema),
});

export type UnitRecord = z.infer<typeof unitRecordSchema>;

/** Visible names in a folder (dfdc's temporaries and other hidden files do not count). */
function visible(names: readonly string[]): string[] {
  return names.filter((name) => !name.startsWith('.')).sort();
}

function namesHash(names: readonly string[]): string {
  return createHash('sha1').update(names.join('\n')).digest('hex').slice(0, 16);
}

/**
 * Times are compared to the millisecond: file systems keep nanoseconds, but copies made by Node's
 * fs.cp and many other tools keep milliseconds, and such a copy of an output folder must not look
 * changed. A time of whole seconds is compared to the second: GNU tar's default format and file
 * systems of coarse times (some network and FUSE mounts) keep no more, and a copy through them
 * must not look changed either (on a file system of fine times, one time in a thousand falls on
 * a whole second by chance; then the same size within the same second is taken as the same file).
 */
function sameTime(a: number | undefined, b: number): boolean {
  if (a === undefined) return false;
  if (Math.floor(a) === Math.floor(b)) return true;
  return (a % 1000 === 0 || b % 1000 === 0) && Math.floor(a / 1000) === Math.floor(b / 1000);
}

function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

interface FolderFiles {
  files: number;
  names: string;
}

/**
 * What the file system says about paths: a stat, a listing, each read at most once while `cached`
 * (a stage sorting its units, where many units read the same file: every FAKE its original's boxes
 * and video, every diff its original's crops). Never cached while units are done.
 */
class Facts {
  private readonly stats = new Map<string, Promise<{ size: number; mtimeMs: number } | null>>();
  private readonly listings = new Map<string, Promise<FolderFiles | null>>();

  constructor(
    readonly access: FileAccess,
    private readonly cached: boolean,
  ) {}

  stat(path: string): Promise<{ size: number; mtimeMs: number } | null> {
    return this.once(this.stats, path, async () => {
      const info = await this.access.stat(path);
      return { size: info.size, mtimeMs: info.mtimeMs };
    });
  }

  /** A folder's visible files, as a count and a hash of their names (kept small: DFDC has 250,000 folders). */
  files(path: string): Promise<FolderFiles | null> {
    return this.once(this.listings, path, async () => {
      const files = visible(await this.access.readdir(path));
      return { files: files.length, names: namesHash(files) };
    });
  }

  private once<T>(cache: Map<string, Promise<T | null>>, path: string, read: () => Promise<T>): Promise<T | null> {
    let answer = this.cached ? cache.get(path) : undefined;
    if (!answer) {
      answer = read().catch((error: unknown) => {
        if (isAbsent(error)) return null;
        throw error;
      });
      if (this.cached) cache.set(path, answer);
    }
    return answer;
  }

  forget(): void {
    this.stats.clear();
    this.listings.clear();
  }
}

/** The identity of a file or folder now. */
async function identityNow(ref: Ref, facts: Facts): Promise<Identity> {
  const info = await facts.stat(ref.path);
  if (info === null) return null;
  if (ref.kind === 'file') return { size: info.size, mtime: info.mtimeMs };
  const files = await facts.files(ref.path);
  return files === null ? null : { ...files, mtime: info.mtimeMs };
}

/**
 * Whether a file or folder still has its recorded identity. A folder's time, on a local file
 * system, changes whenever a file in it is created, removed or renamed: the same time to the
 * nanosecond means the same files, without listing them. Otherwise the names decide, and the time
 * to the millisecond (sameTime) too: always for a folder a unit read, and on a local file system
 * for a folder a unit wrote (a crop replaced by renaming another file over it keeps the names).
 * On a network file system, whose folder times are not to be trusted, a written folder's names
 * alone decide; so do they for a record made before written folders' times were kept.
 */
async function stillIs(recorded: Identity, ref: Ref, asInput: boolean, facts: Facts): Promise<boolean> {
  const info = await facts.stat(ref.path);
  if (recorded === null || info === null) return recorded === null && info === null;
  if (ref.kind === 'file') return 'size' in recorded && recorded.size === info.size && sameTime(recorded.mtime, info.mtimeMs);
  if (!('files' in recorded)) return false;
  if (facts.access.kind === 'local' && recorded.mtime === info.mtimeMs) return true;
  const timeCounts = asInput || (facts.access.kind === 'local' && recorded.mtime !== undefined);
  if (timeCounts && !sameTime(recorded.mtime, info.mtimeMs)) return false;
  const files = await facts.files(ref.path);
  return files !== null && files.files === recorded.files && files.names === recorded.names;
}

/**
 * Paths in records are relative to the output folder or to DATA_ROOT where they can be, so that a
 * record stays true when either is mounted elsewhere (another node of a cluster).
 */
function encodePath(path: string, dirs: DatasetDirs): string {
  for (const [tag, base] of [
    ['output', dirs.outputDir],
    ['root', dirs.rootDir],
  ] as const) {
    const rel = relative(base, path);
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `${tag}:${rel.split(sep).join('/')}`;
  }
  return path;
}

function decodePath(encoded: string, dirs: DatasetDirs): string {
  const match = /^(output|root):(.*)$/.exec(encoded);
  if (!match) return encoded;
  return join(match[1] === 'output' ? dirs.outputDir : dirs.rootDir, ...match[2]!.split('/'));
}

/** What the runner learns about a unit before it runs it. */
export type UnitState =
  | { readonly state: 'complete' }
  /**
   * To be (re)done. `keep`: its outputs and record are valid as they are (a --force run), so a
   * failure must not remove them. `inputBytes`: the size of its largest input that no stage makes
   * (its video), a measure of its work by which the runner orders units. `changed`: it was
   * complete, and a file changed since, not by an earlier stage making its input anew (the runner
   * says how many before it starts: a copy that lost times looks like this).
   */
  | { readonly state: 'ready'; readonly keep: boolean; readonly inputBytes: number; readonly changed: boolean }
  /**
   * An input an earlier stage writes is absent, or out of date, and that stage's unit is not
   * complete. `changed`: it is there, but no longer what that stage's record says (the input is
   * out of date, or what it was made from changed). `stale`: it is absent, and this unit's own
   * outputs were made from it (same path): they are out of date too.
   */
  | { readonly state: 'waiting'; readonly on: { readonly stage: string; readonly role: string }; readonly changed: boolean; readonly stale: boolean }
  /**
   * A file the unit reads (its video) is absent or may not be read: it fails, and what it made
   * earlier stays. `reason`: `absent`, or what is there instead, with its fix (inputFileState).
   */
  | { readonly state: 'unavailable'; readonly input: Input; readonly reason: string };

/** What an earlier stage's record says of one of its outputs, read by a later stage. */
type Upstream =
  /** The unit is complete by its record (checked against its files) and wrote this path. */
  | 'valid'
  /** The unit's record no longer matches its files: what it wrote is out of date. */
  | 'stale'
  /** No record of that unit writing this path: absent, or made by another tool, or under another --crops-dir. */
  | 'unknown';

/**
 * The completion records of one stage in one output folder, for one set of settings. Checking a
 * unit costs its record's read, one stat per file and one listing or stat per folder; nothing
 * lists the record folder, so checks stay linear at any size.
 */
export class StageCompletion {
  private readonly unitsDir: string;
  private readonly legacyDir: string;
  private readonly upstreamCache = new Map<string, Promise<Upstream>>();
  /** Facts read by check(), shared between units while they are sorted. */
  private readonly checking: Facts;
  /** Facts read afresh, for what is recorded. */
  private readonly fresh: Facts;

  constructor(
    private readonly stateDir: string,
    readonly stage: string,
    /** A hash of the settings (settingsHash): records made with others do not count. */
    readonly settings: string,
    private readonly dirs: DatasetDirs,
    private readonly access: FileAccess = localFileAccess,
  ) {
    this.unitsDir = join(stateDir, 'units', stage);
    this.legacyDir = join(stateDir, 'done', stage);
    this.checking = new Facts(access, true);
    this.fresh = new Facts(access, false);
  }

  recordPath(unit: string): string {
    return join(this.unitsDir, boundedFileName(`${unit}.json`));
  }

  /**
   * Is the unit complete, ready to be (re)done, waiting for an earlier stage, or unable to run
   * because a file it reads is gone? With `force`, a unit is never complete.
   */
  async check(unit: string, reads: readonly Input[], writes: readonly Output[], force: boolean): Promise<UnitState> {
    const record = await readRecord(this.recordPath(unit), this.access);
    const valid = record ? await this.isValid(record, reads, writes) : await this.adoptLegacy(unit, reads, writes);
    // Inputs an earlier stage makes come first, and count even for a unit whose own record holds:
    // crops out of date (their video was replaced) make their landmarks out of date too. A video
    // that is gone whose boxes were never made waits for them rather than failing twice.
    let remade = false;
    for (const input of reads.filter((candidate) => candidate.from)) {
      const from = input.from!;
      const upstream = await this.upstream(from.stage, from.unit, input.path);
      if (upstream === 'valid' && record && !valid) {
        // Made anew by the earlier stage since this unit's record (new crops after a video was replaced): the usual cascade.
        const entry = record.inputs.find((candidate) => candidate.role === input.role && candidate.kind === input.kind);
        if (entry && !(await stillIs(entry.id, input, true, this.checking))) remade = true;
      }
      const present = (await this.checking.stat(input.path)) !== null;
      // Present and not known to be stale (made by that stage, or by another tool), or absent
      // because the earlier unit, complete, had nothing to give (a video without faces): go on.
      if (present ? upstream !== 'stale' : upstream === 'valid') continue;
      // An input its maker removed (it failed on a video that changed, or the file was deleted)
      // makes this unit's outputs made from it out of date: a clean run would not have them. One
      // that is there but changed, its maker not yet run again, leaves them: out of date, they no
      // longer match their record (later stages wait, folds leaves them out), and a run given
      // another --root-dir by mistake must not destroy what it cannot make again.
      const stale = !present && (record?.inputs.some((entry) => entry.role === input.role && entry.path === encodePath(input.path, this.dirs)) ?? false);
      return { state: 'waiting', on: { stage: from.stage, role: input.role }, changed: present, stale };
    }
    if (valid && !force) return { state: 'complete' };
    let inputBytes = 0;
    for (const input of reads) {
      if (input.from || input.optional) continue;
      const found = await inputFileState(input.path, this.access);
      if ('reason' in found) return { state: 'unavailable', input, reason: found.reason };
      inputBytes = Math.max(inputBytes, found.size);
    }
    // `changed`: complete by a record of today's settings, and what it read or wrote changed since,
    // not because an earlier stage made its input anew: a replaced file, or a copy that lost times.
    return { state: 'ready', keep: valid, inputBytes, changed: record !== undefined && record.settings === this.settings && !valid && !remade };
  }

  /** Forgets what check() read: call it once units are sorted, before any work. */
  endChecks(): void {
    this.checking.forget();
    this.upstreamCache.clear();
  }

  /** Whether a record is of today's settings and every input and output still has its recorded identity. */
  private async isValid(record: UnitRecord, reads: readonly Input[], writes: readonly Output[]): Promise<boolean> {
    if (record.settings !== this.settings) return false;
    // Inputs are often shared between units (their facts are kept while units are sorted); an
    // output belongs to one unit, and keeping its listing would only take memory.
    return (await this.matches(record.inputs, reads, true, this.checking)) && (await this.matches(record.outputs, writes, false, this.fresh));
  }

  /**
   * Whether each declared input or output is recorded under its role and still has its recorded
   * identity. Roles, not paths, are compared: a video moved to another folder with its size and
   * time is the same video; a different --crops-dir gives a crops folder that is absent or
   * different, which its identity shows.
   */
  private async matches(recorded: readonly RefRecord[], declared: readonly Ref[] & readonly { role: string }[], asInput: boolean, facts: Facts): Promise<boolean> {
    if (recorded.length !== declared.length) return false;
    for (const ref of declared) {
      const entry = recorded.find((r) => r.role === ref.role && r.kind === ref.kind);
      if (!entry) return false;
      // An optional input that is away for now (a FAKE's original, read to check its size) leaves
      // what was made from it good, as verifyRecord has it: back unchanged, nothing is redone.
      if (asInput && (ref as Partial<Input>).optional && entry.id !== null && (await facts.stat(ref.path)) === null) continue;
      if (!(await stillIs(entry.id, ref, asInput, facts))) return false;
    }
    return true;
  }

  /** What the record of `unit` of `stage` says about `path`, one of its outputs. */
  private upstream(stage: string, unit: string, path: string): Promise<Upstream> {
    const key = `${stage}\0${unit}\0${path}`;
    let answer = this.upstreamCache.get(key);
    if (!answer) {
      answer = upstreamOf(join(this.stateDir, 'units', stage, boundedFileName(`${unit}.json`)), encodePath(path, this.dirs), this.dirs, this.checking);
      this.upstreamCache.set(key, answer);
    }
    return answer;
  }

  /** The identities of what a unit reads, taken just before it runs. */
  async inputIdentities(reads: readonly Input[]): Promise<RefRecord[]> {
    return Promise.all(reads.map(async (ref) => this.refRecord(ref, await identityNow(ref, this.fresh))));
  }

  private refRecord(ref: Input | Output, id: Identity): RefRecord {
    return { role: ref.role, kind: ref.kind, path: encodePath(ref.path, this.dirs), id };
  }

  /** Records a unit as complete: call it after every output is in place. */
  async markComplete(unit: string, inputs: RefRecord[], writes: readonly Output[], outcome: UnitOutcome): Promise<void> {
    const outputs = await Promise.all(writes.map(async (ref) => this.refRecord(ref, await identityNow(ref, this.fresh))));
    const record: UnitRecord = {
      version: 2,
      stage: this.stage,
      unit,
      settings: this.settings,
      completedAt: new Date().toISOString(),
      status: outcome.warning ? 'warning' : 'ok',
      ...(outcome.warning ? { warning: outcome.warning } : {}),
      ...(outcome.details ? { details: outcome.details } : {}),
      inputs,
      outputs,
    };
    await writeFileAtomic(this.recordPath(unit), `${JSON.stringify(record)}\n`);
  }

  /** Forgets a unit (its outputs are gone or out of date), with any temporary a killed writer left for its record. */
  async forget(unit: string, temporaries?: TemporaryIndex): Promise<void> {
    const path = this.recordPath(unit);
    await removePath(path);
    await removeTemporariesOf(path, temporaries);
  }

  /** The record folder, for one listing of the temporaries killed writers left there. */
  get recordsDir(): string {
    return this.unitsDir;
  }

  /**
   * A unit marked done by dfdc 0.1 (`done/<stage>/<unit>.json`, which recorded counts but no
   * identities) counts only once its outputs are found as it left them (each output file present
   * and not empty, each output folder holding the number of files its marker counted) and nothing
   * it read has changed since the marker was written (no input modified after it). It is then
   * recorded anew with the identities of today's files.
   */
  private async adoptLegacy(unit: string, reads: readonly Input[], writes: readonly Output[]): Promise<boolean> {
    const marker = join(this.legacyDir, `${unit}.json`);
    let details: Record<string, unknown>;
    let markedAt: number;
    try {
      markedAt = (await this.access.stat(marker)).mtimeMs;
      details = JSON.parse(await this.access.readText(marker)) as Record<string, unknown>;
    } catch {
      return false;
    }
    for (const output of writes) {
      const id = await identityNow(output, this.fresh);
      if (output.kind === 'file') {
        if (id === null || !('size' in id) || id.size === 0) return false;
      } else {
        const expected = output.fileCount ? details[output.fileCount] : undefined;
        const found = id === null ? 0 : 'files' in id ? id.files : 0;
        if (typeof expected !== 'number' || expected !== found) return false;
      }
    }
    const inputs = await this.inputIdentities(reads);
    if (inputs.some(({ id }) => id !== null && id.mtime !== undefined && Math.floor(id.mtime) > Math.floor(markedAt))) return false;
    const status = details.status === 'warning' ? 'warning' : 'ok';
    const warning = typeof details.warning === 'string' ? details.warning : undefined;
    await this.markComplete(unit, inputs, writes, { ...(warning ? { warning } : {}), details: { ...details, status, adoptedFrom: 'dfdc 0.1' } });
    await rm(marker, { force: true });
    return true;
  }
}

/** A unit record, or undefined when it is absent or not a record (a crash of another tool, a hand edit). */
async function readRecord(path: string, access: FileAccess): Promise<UnitRecord | undefined> {
  let text: string;
  try {
    text = await access.readText(path);
  } catch {
    return undefined;
  }
  try {
    const parsed = unitRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the record at `path` exists and every file and folder it names still has its recorded
 * identity, an input that is now absent aside: what a unit made from a video stays good when the
 * video is taken away (stages 3 to 5 need no video), but not when it is replaced.
 */
export function verifyRecordAt(path: string, dirs: DatasetDirs, access: FileAccess = localFileAccess): Promise<boolean> {
  return verifyRecord(path, dirs, new Facts(access, false)).then((record) => record !== undefined);
}

async function verifyRecord(path: string, dirs: DatasetDirs, facts: Facts): Promise<UnitRecord | undefined> {
  const record = await readRecord(path, facts.access);
  if (!record) return undefined;
  for (const ref of record.outputs) {
    if (!(await stillIs(ref.id, { kind: ref.kind, path: decodePath(ref.path, dirs) }, false, facts))) return undefined;
  }
  for (const ref of record.inputs) {
    const where = { kind: ref.kind, path: decodePath(ref.path, dirs) };
    if ((await facts.stat(where.path)) === null) continue;
    if (!(await stillIs(ref.id, where, true, facts))) return undefined;
  }
  return record;
}

/**
 * Whether `path` (an output of `unit` of `stage`) is as that unit's record says: 'valid', 'stale'
 * (the record no longer matches its files), or 'unknown' (no record of that unit writing it).
 */
export function outputState(stateDir: string, stage: string, unit: string, path: string, dirs: DatasetDirs, access: FileAccess = localFileAccess): Promise<Upstream> {
  return upstreamOf(join(stateDir, 'units', stage, boundedFileName(`${unit}.json`)), encodePath(path, dirs), dirs, new Facts(access, false));
}

/** What the record at `recordPath` says of the output `encodedPath` (see Upstream). */
async function upstreamOf(recordPath: string, encodedPath: string, dirs: DatasetDirs, facts: Facts): Promise<Upstream> {
  const record = await readRecord(recordPath, facts.access);
  if (!record || !record.outputs.some((output) => output.path === encodedPath)) return 'unknown';
  return (await verifyRecord(recordPath, dirs, facts)) ? 'valid' : 'stale';
}

/** A short stable hash of a stage's settings, for records. */
export function settingsHash(settings: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(settings).sort().map((key) => [key, settings[key]]));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}
