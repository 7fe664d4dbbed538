import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serializeBoxes, type Box } from '../src/dataset/boxes-file.js';
import { loadDataset, originalOf, type FakeVideo, type RealVideo, type Video } from '../src/dataset/dataset.js';
import { resolveDatasetDirs, type DatasetDirs } from '../src/dataset/dirs.js';
import { FRAME_STEP, GRID_ACTORS, outputPaths } from '../src/dataset/output-paths.js';
import { fnv1a32, selectVideos } from '../src/dataset/selection.js';
import { StageCompletion, settingsHash } from '../src/run/completion.js';
import { recordProvenance } from '../src/run/provenance.js';
import { shapingSettings } from '../src/run/runner.js';
import { runReportSchema } from '../src/run/report.js';
import type { RunContext, SettingsSchema, UnitOutcome, UnitStage } from '../src/run/stage.js';
import { detectStage } from '../src/stages/detect.js';
import { pipelineStages } from '../src/stages/index.js';
import { forEachConcurrent } from '../src/util/concurrency.js';
import { localFileAccess } from '../src/util/file-system.js';
import { packageRoot, packageVersion } from '../src/util/package-root.js';
import { seededRandom } from '../test/helpers/seeded-random.js';

/**
 * DFDC at full size, without a single decoded frame (not a timed test: the goals are in the issue
 * and printed beside the figures). A synthetic *completed* output with DFDC's counts (50 parts,
 * 19,154 REAL and 100,000 FAKE videos, each with its usual number of crops, landmarks and diff
 * masks, all empty files) is made through dfdc's own state writer (recordProvenance,
 * StageCompletion.markComplete) exactly as `dfdc run` with its defaults would have left it. Then,
 * each as a separate CLI process with its wall time and peak RSS (bench/_rusage-hook.ts):
 *  - `dfdc run` over it: a rerun that must skip every unit of detect, crops, landmarks and diffs
 *    (checked in run-report.json), then writes folds.csv;
 *  - `dfdc folds`;
 *  - `dfdc report` (it reads the PNG headers of a sample of crops: empty ones become captions).
 *
 * The tree (about 9 million inodes) is generated once under DFDC_SCALE_DIR (default
 * <tmpdir>/dfdc-scale-v<version>) and reused while its marker file names this generator's version
 * and the stages' current settings hashes, and a sample of its unit records still counts complete
 * for the dfdc built now (a change of the record format makes it stale: it is then made again).
 * Free inodes and space are checked before generating.
 * It runs only when named (`node dist/bench/index.js dfdc-scale`) or with DFDC_SCALE=1, so that a
 * plain `npm run bench` does not fill a disk. DFDC_SCALE_CPU_PROF=<dir> runs each command under
 * `node --cpu-prof` (slower: figures so taken are not the benchmark's).
 */

/** Bump when the generated tree changes: an older tree is then removed and made again. */
const GENERATOR_VERSION = 2;
const PARTS = 50;
/** DFDC's training set: 119,154 videos, 19,154 of them REAL. */
const REALS = 19_154;
const FAKES = 100_000;
/** DFDC_SCALE_FACTOR (default 1) shrinks the REAL and FAKE counts, to try the benchmark itself quickly. */
const FACTOR = Number(process.env.DFDC_SCALE_FACTOR ?? '1');
const MAX_FAKES_PER_REAL = 10;
/** DFDC's clips: 10 s, 300 frames; crops are cut from frames 0, 10, ..., 290. */
const CLIP_FRAMES = 300;
const CROP_FRAMES = Array.from({ length: CLIP_FRAMES / FRAME_STEP }, (_, i) => i * FRAME_STEP);
const SEED = 0x0dfdc5ca1e;

const GOALS = { rerunSeconds: 60, foldsSeconds: 60, reportSeconds: 30, peakRssMb: 1024 } as const;
const UNIT_STAGES = ['detect', 'crops', 'landmarks', 'diffs'] as const;
type UnitStageName = (typeof UNIT_STAGES)[number];

// The `dfdc` command itself (its entry sizes libuv's thread pool), as users run it.
const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.cjs');
const hook = pathToFileURL(join(packageRoot, 'dist', 'bench', '_rusage-hook.js')).href;

// ---------------------------------------------------------------------------------------------
// The synthetic data set: ids, labels, originals, and the faces of each original's frames.

interface PlannedPart {
  readonly name: string;
  /** metadata.json's records, by file name. */
  readonly metadata: Record<string, { label: 'REAL' | 'FAKE'; split: 'train'; original: string | null }>;
}

/** 50 parts of DFDC's shape: each FAKE's original is a REAL of its own part, 0 to 10 FAKEs per REAL. */
function planDataset(): PlannedPart[] {
  const random = seededRandom(SEED);
  const taken = new Set<string>();
  const newId = (): string => {
    for (;;) {
      let id = '';
      for (let i = 0; i < 10; i += 1) id += String.fromCharCode(97 + Math.floor(random() * 26));
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  };
  const parts: PlannedPart[] = [];
  for (let p = 0; p < PARTS; p += 1) {
    const reals = Math.round(REALS * FACTOR);
    const fakes = Math.round(FAKES * FACTOR);
    const realCount = Math.floor(reals / PARTS) + (p < reals % PARTS ? 1 : 0);
    const fakeCount = Math.floor(fakes / PARTS) + (p < fakes % PARTS ? 1 : 0);
    const realIds = Array.from({ length: realCount }, newId);
    const fakesOf = new Array<number>(realCount).fill(0);
    const records: [string, PlannedPart['metadata'][string]][] = realIds.map((id) => [`${id}.mp4`, { label: 'REAL', split: 'train', original: null }]);
    for (let k = 0; k < fakeCount; k += 1) {
      let r: number;
      do r = Math.floor(random() * realCount);
      while (fakesOf[r]! >= MAX_FAKES_PER_REAL);
      fakesOf[r]! += 1;
      records.push([`${newId()}.mp4`, { label: 'FAKE', split: 'train', original: `${realIds[r]}.mp4` }]);
    }
    // DFDC's metadata.json files list their videos by name.
    records.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    parts.push({ name: `dfdc_train_part_${p}`, metadata: Object.fromEntries(records) });
  }
  return parts;
}

/**
 * Faces found in each crop frame (0, 10, ..., 290) of an original, the same for its FAKEs: most
 * clips show one person, some two or three, and now and then a face is missed or a second one
 * found (about 1.2 faces a frame, 36 crops a video, as in DFDC).
 */
function facesOf(originalId: string): number[] {
  const random = seededRandom(fnv1a32(originalId) ^ SEED);
  const draw = random();
  const people = draw < 0.82 ? 1 : draw < 0.98 ? 2 : 3;
  return CROP_FRAMES.map(() => {
    const u = random();
    return u < 0.03 ? people - 1 : u < 0.05 ? people + 1 : people;
  });
}

/** The boxes file detect writes with every = 10 for such a video (1920x1080: boxes at half size). */
function boxesText(originalId: string): string {
  const random = seededRandom(fnv1a32(originalId) ^ 0x5eed);
  const frames = new Map<number, Box[] | null>();
  facesOf(originalId).forEach((faces, i) => {
    if (faces === 0) {
      frames.set(CROP_FRAMES[i]!, null);
      return;
    }
    frames.set(
      CROP_FRAMES[i]!,
      Array.from({ length: faces }, (_, j) => {
        const x = 80 + j * 300 + random() * 150;
        const y = 60 + random() * 200;
        const size = 90 + random() * 60;
        return [Math.fround(x), Math.fround(y), Math.fround(x + size), Math.fround(y + size * 1.25)] as Box;
      }),
    );
  });
  return serializeBoxes(frames);
}

// ---------------------------------------------------------------------------------------------
// Generation: worker threads, each owning a slice of every stage's units, make their outputs with
// sync calls, then mark them complete through dfdc's own StageCompletion. The workers are started
// once, before the first stage, so that every module they use is loaded while dist/ is whole.

interface SliceWorkerData {
  readonly dfdcScaleWorker: true;
  readonly slice: number;
  readonly slices: number;
  readonly rootDir: string;
  readonly outputDir: string;
}

interface SliceResult {
  readonly units: number;
  readonly files: number;
  readonly folders: number;
}

function touch(path: string): void {
  closeSync(openSync(path, 'w'));
}

/** What shapes each stage's outputs as `dfdc run` sets it when given no flags (detect: every = 10; the wasm backend). */
function runSettings(stage: (typeof pipelineStages)[number]): Record<string, unknown> {
  const settings = stage === detectStage ? detectStage.settings.parse({ every: String(FRAME_STEP) }) : stage.settings.parse({});
  return stage.kind === 'units' ? shapingSettings(stage, settings, 'wasm') : settings;
}

/** The units of the four unit stages: a video (detect, crops, landmarks) or a FAKE with its original (diffs). */
interface AnyUnit {
  readonly id: string;
  readonly subject: string;
  readonly video?: Video;
  readonly fake?: FakeVideo;
  readonly original?: RealVideo;
}

function unitStage(name: UnitStageName): UnitStage<SettingsSchema, AnyUnit, unknown> {
  const stage = pipelineStages.find((candidate) => candidate.name === name);
  if (!stage || stage.kind !== 'units') throw new Error(`dfdc-scale: no unit stage ${name} in pipelineStages`);
  return stage as UnitStage<SettingsSchema, AnyUnit, unknown>;
}

/** What the runner gives the stages: only dirs, paths, dataset and selection are used by units/reads/writes. */
async function contextFor(dirs: DatasetDirs): Promise<RunContext> {
  const dataset = await loadDataset(dirs);
  return {
    dirs,
    paths: outputPaths(dirs),
    dataset,
    selection: selectVideos(dataset),
    signal: new AbortController().signal,
    workers: 1,
    backend: 'wasm',
    files: localFileAccess,
    pool: () => {
      throw new Error('dfdc-scale: no worker pool while generating');
    },
    message: () => undefined,
    report: runReportSchema.parse({}),
    ranBefore: new Set(),
  };
}

/** Makes one unit's outputs, as the stage would have written them; returns the files and folders made. */
function writeUnit(stage: UnitStageName, unit: AnyUnit, run: RunContext): { files: number; folders: number; outcome: UnitOutcome } {
  const { paths } = run;
  let files = 0;
  if (stage === 'detect') {
    const video = unit.video!;
    writeFileSync(paths.boxesFile(video.id), boxesText(video.id));
    const faces = facesOf(video.id);
    const found = faces.reduce((sum, n) => sum + n, 0);
    const framesWithFaces = faces.filter((n) => n > 0).length;
    return { files: 1, folders: 0, outcome: { frames: CROP_FRAMES.length, details: { frames: CROP_FRAMES.length, framesWithFaces, faces: found, width: 1920, height: 1080, scale: 0.5 } } };
  }
  if (stage === 'crops') {
    const video = unit.video!;
    const dir = paths.cropDir(video.id);
    mkdirSync(dir, { recursive: true });
    facesOf(originalOf(video).id).forEach((faces, i) => {
      for (let j = 0; j < faces; j += 1) touch(paths.cropFile(video.id, CROP_FRAMES[i]!, j));
      files += faces;
    });
    return { files, folders: 1, outcome: { frames: CROP_FRAMES.length, details: { crops: files, skippedBoxes: 0, width: 1920, height: 1080 } } };
  }
  // landmarks (a REAL) and diffs (a FAKE): one file per grid crop of actors 0 and 1.
  const id = stage === 'landmarks' ? unit.video!.id : unit.fake!.id;
  const originalId = stage === 'landmarks' ? unit.video!.id : unit.original!.id;
  mkdirSync(stage === 'landmarks' ? paths.landmarksDirOf(id) : paths.diffDir(id), { recursive: true });
  facesOf(originalId).forEach((faces, i) => {
    for (const actor of GRID_ACTORS) {
      if (actor >= faces) continue;
      touch(stage === 'landmarks' ? paths.landmarkFile(id, CROP_FRAMES[i]!, actor) : paths.diffFile(id, CROP_FRAMES[i]!, actor));
      files += 1;
    }
  });
  const details = stage === 'landmarks' ? { crops: files, landmarks: files, noFace: 0 } : { diffs: files, sizeMismatches: 0, tooSmall: 0 };
  return { files, folders: 1, outcome: { frames: files, details } };
}

async function runSlice(job: SliceWorkerData, name: UnitStageName, run: RunContext): Promise<SliceResult> {
  const stage = unitStage(name);
  const settings = runSettings(stage);
  const units = stage.units(run).filter((_, index) => index % job.slices === job.slice);
  for (const dir of [run.paths.boxesDir, run.paths.cropsDir, run.paths.landmarksDir, run.paths.diffsDir]) mkdirSync(dir, { recursive: true });
  let files = 0;
  let folders = 0;
  const outcomes: UnitOutcome[] = [];
  // Every output first (sync, tight loop), then the records: a record is written after its unit's outputs.
  for (const unit of units) {
    const written = writeUnit(name, unit, run);
    files += written.files;
    folders += written.folders;
    outcomes.push(written.outcome);
  }
  const completion = new StageCompletion(run.paths.stateDir, stage.name, settingsHash(settings), run.dirs);
  await forEachConcurrent(units, 32, async (unit, index) => {
    const inputs = await completion.inputIdentities(stage.reads(unit, run));
    await completion.markComplete(unit.id, inputs, stage.writes(unit, run), outcomes[index]!);
  });
  return { units: units.length, files, folders };
}

if (!isMainThread && (workerData as Partial<SliceWorkerData> | null)?.dfdcScaleWorker) {
  const job = workerData as SliceWorkerData;
  // The data set is loaded once (after the videos exist) and serves every stage.
  const run = contextFor(resolveDatasetDirs({ rootDir: job.rootDir, outputDir: job.outputDir, cropsDir: 'crops' }));
  parentPort!.on('message', (name: UnitStageName) => {
    run.then((context) => runSlice(job, name, context)).then(
      (result) => parentPort!.postMessage({ result }),
      (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}

/** A worker thread that does its slice of one stage per request. */
class SliceWorker {
  private readonly worker: Worker;
  private pending: { resolve: (result: SliceResult) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(data: SliceWorkerData) {
    this.worker = new Worker(fileURLToPath(import.meta.url), { workerData: data });
    const fail = (error: Error) => {
      this.failure ??= error;
      this.pending?.reject(error);
      this.pending = undefined;
    };
    this.worker.on('message', (message: { result?: SliceResult; error?: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      if (message.result) pending?.resolve(message.result);
      else pending?.reject(new Error(`dfdc-scale: slice ${data.slice}: ${message.error}`));
    });
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`dfdc-scale: slice ${data.slice} worker exited ${code}`)));
  }

  run(stage: UnitStageName): Promise<SliceResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolvePromise, reject) => {
      this.pending = { resolve: resolvePromise, reject };
      this.worker.postMessage(stage);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// The cached tree.

interface Marker {
  version: number;
  factor: number;
  settings: Record<string, string>;
  counts: Record<string, number>;
  seconds: number;
  phases: Record<string, number>;
  createdAt: string;
}

function currentSettingsHashes(): Record<string, string> {
  return Object.fromEntries(pipelineStages.map((stage) => [stage.name, settingsHash(runSettings(stage))]));
}

function readMarker(path: string): Marker | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** Files and folders the tree will hold (an inode each), from the plan. */
function expectedCounts(parts: readonly PlannedPart[]): Record<string, number> {
  let reals = 0;
  let fakes = 0;
  let crops = 0;
  let gridCrops = 0;
  let fakeGridCrops = 0;
  const cropsOf = new Map<string, { all: number; grid: number }>();
  for (const part of parts) {
    for (const [name, record] of Object.entries(part.metadata)) {
      if (record.label === 'REAL') {
        const faces = facesOf(name.slice(0, -4));
        const counts = { all: faces.reduce((s, n) => s + n, 0), grid: faces.reduce((s, n) => s + Math.min(n, GRID_ACTORS.length), 0) };
        cropsOf.set(name, counts);
      }
    }
  }
  for (const part of parts) {
    for (const [name, record] of Object.entries(part.metadata)) {
      const counts = cropsOf.get(record.original ?? name)!;
      crops += counts.all;
      if (record.label === 'REAL') {
        reals += 1;
        gridCrops += counts.grid;
      } else {
        fakes += 1;
        fakeGridCrops += counts.grid;
      }
    }
  }
  const videos = reals + fakes;
  const records = reals + videos + reals + fakes;
  const files = PARTS + videos + reals + crops + gridCrops + fakeGridCrops + records;
  // Folders: root, parts, one crops folder a video, one landmarks folder a REAL, one diffs folder a FAKE, and a few more.
  const folders = 1 + PARTS + videos + reals + fakes + 16;
  return {
    parts: PARTS,
    reals,
    fakes,
    videos,
    metadataFiles: PARTS,
    boxesFiles: reals,
    crops,
    landmarks: gridCrops,
    diffs: fakeGridCrops,
    unitRecords: records,
    files,
    folders,
  };
}

/** Free inodes and bytes of the file system that holds `path` (or its nearest existing parent). */
function freeSpace(path: string): { inodes: number; bytes: number; filesystem: string } {
  let dir = resolve(path);
  while (!existsSync(dir)) dir = dirname(dir);
  const df = spawnSync('df', ['-P', '-i', dir], { encoding: 'utf8' });
  const dfBytes = spawnSync('df', ['-P', '-B1', dir], { encoding: 'utf8' });
  const inodeFields = df.stdout?.trim().split('\n').pop()?.split(/\s+/) ?? [];
  const byteFields = dfBytes.stdout?.trim().split('\n').pop()?.split(/\s+/) ?? [];
  if (df.status !== 0 || inodeFields.length < 6 || byteFields.length < 6) throw new Error(`dfdc-scale: cannot read free inodes of ${dir} (df -i: ${df.stderr || df.error})`);
  return { inodes: Number(inodeFields[3]), bytes: Number(byteFields[3]), filesystem: `${inodeFields[0]} on ${inodeFields[5]}` };
}

function log(line: string): void {
  process.stderr.write(`dfdc-scale: ${line}\n`);
}

async function generate(scaleDir: string, rootDir: string, outputDir: string, markerPath: string): Promise<Marker> {
  const planned = planDataset();
  const counts = expectedCounts(planned);
  const inodesNeeded = counts.files! + counts.folders!;
  // Every folder takes at least a 4 KiB block, so does every non-empty file (records, boxes, metadata).
  const bytesNeeded = (counts.folders! + counts.unitRecords! + counts.boxesFiles!) * 4096 + 200 * 1024 * 1024;
  if (existsSync(scaleDir)) {
    log(`removing the incomplete or outdated tree ${scaleDir}...`);
    const removal = spawnSync('rm', ['-rf', scaleDir], { stdio: 'inherit' });
    if (removal.status !== 0) throw new Error(`dfdc-scale: cannot remove ${scaleDir}`);
  }
  const free = freeSpace(scaleDir);
  if (free.inodes < inodesNeeded * 1.05 || free.bytes < bytesNeeded * 1.2) {
    throw new Error(
      `not enough room for the synthetic DFDC tree in ${scaleDir} (${free.filesystem}): it needs about ${inodesNeeded.toLocaleString('en')} inodes ` +
        `and ${(bytesNeeded / 2 ** 30).toFixed(1)} GiB, and ${free.inodes.toLocaleString('en')} inodes and ${(free.bytes / 2 ** 30).toFixed(1)} GiB are free ` +
        '(df -i): free some, or set DFDC_SCALE_DIR to a folder on a file system with more',
    );
  }
  log(`generating ${inodesNeeded.toLocaleString('en')} files and folders in ${scaleDir} (${free.inodes.toLocaleString('en')} inodes free)...`);
  const started = process.hrtime.bigint();
  const phases: Record<string, number> = {};
  let phaseStart = started;
  const endPhase = (name: string) => {
    const now = process.hrtime.bigint();
    phases[name] = Number((Number(now - phaseStart) / 1e9).toFixed(1));
    phaseStart = now;
    log(`  ${name}: ${phases[name]} s`);
  };

  for (const part of planned) {
    const dir = join(rootDir, part.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify(part.metadata));
    for (const name of Object.keys(part.metadata)) touch(join(dir, name));
  }
  mkdirSync(outputDir, { recursive: true });
  endPhase('dataset');

  const dirs = resolveDatasetDirs({ rootDir, outputDir, cropsDir: 'crops' });
  const run = await contextFor(dirs);
  if (run.dataset.problems.length > 0) throw new Error(`dfdc-scale: the synthetic data set has problems: ${JSON.stringify(run.dataset.problems.slice(0, 3))}`);
  const slices = Math.max(2, availableParallelism());
  const workers = Array.from({ length: slices }, (_, slice) => new SliceWorker({ dfdcScaleWorker: true, slice, slices, rootDir, outputDir }));
  const made: Record<string, number> = {};
  try {
    for (const name of UNIT_STAGES) {
      const stage = unitStage(name);
      const settings = runSettings(stage);
      // As the runner does: prepare() for what made the outputs, then the provenance (only settings are compared).
      const prepared = stage.prepare ? await stage.prepare(settings as never, run) : { shared: undefined };
      const madeWith = { version: packageVersion, ...(prepared.madeWith ?? {}), synthetic: 'bench/dfdc-scale' };
      await recordProvenance(run.paths.stateDir, run.paths.outputDir, stage, settings, madeWith, { force: true });
      const results = await Promise.all(workers.map((worker) => worker.run(name)));
      made[`${name}Units`] = results.reduce((sum, r) => sum + r.units, 0);
      made[`${name}Files`] = results.reduce((sum, r) => sum + r.files, 0);
      endPhase(name);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
  }
  const check: [string, number, number][] = [
    ['detect units', made.detectUnits!, counts.reals!],
    ['crops units', made.cropsUnits!, counts.videos!],
    ['landmarks units', made.landmarksUnits!, counts.reals!],
    ['diffs units', made.diffsUnits!, counts.fakes!],
    ['crops', made.cropsFiles!, counts.crops!],
    ['landmarks', made.landmarksFiles!, counts.landmarks!],
    ['diffs', made.diffsFiles!, counts.diffs!],
  ];
  for (const [what, got, expected] of check) if (got !== expected) throw new Error(`dfdc-scale: made ${got} ${what}, planned ${expected}`);

  const marker: Marker = {
    version: GENERATOR_VERSION,
    factor: FACTOR,
    settings: currentSettingsHashes(),
    counts,
    seconds: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)),
    phases,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(markerPath, `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}

/**
 * Before a cached tree is reused: do a few units of each stage, spread over the data set, still
 * count as complete for the dfdc built now? A change of the record format or of the identities
 * (as when mtimes became whole milliseconds) makes every record stale, and a rerun would then redo
 * (and first delete) every unit. Returns what is stale, or undefined.
 */
async function staleRecords(rootDir: string, outputDir: string): Promise<string | undefined> {
  const SAMPLES = 25;
  const dirs = resolveDatasetDirs({ rootDir, outputDir, cropsDir: 'crops' });
  const run = await contextFor(dirs);
  for (const name of UNIT_STAGES) {
    const stage = unitStage(name);
    const completion = new StageCompletion(run.paths.stateDir, stage.name, settingsHash(runSettings(stage)), dirs);
    const units = stage.units(run);
    for (let k = 0; k < SAMPLES; k += 1) {
      const unit = units[Math.floor((k * units.length) / SAMPLES)];
      if (!unit) continue;
      const state = await completion.check(unit.id, stage.reads(unit, run), stage.writes(unit, run), false);
      if (state.state !== 'complete') return `${name} unit ${unit.id} is ${state.state}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The measured commands.

interface Measured {
  seconds: number;
  peakRssMb: number | null;
  /** CPU time of the process (all its threads): well below `seconds` x cores, it waited (I/O, or other work on the cores). */
  cpuSeconds: { user: number; system: number } | null;
  /** Blocks read from the disk (not from the page cache). */
  fsReads: number | null;
  exitCode: number;
  /** The machine's 1-minute load average just before: above the core count, other work shared the cores. */
  loadBefore: number;
}

function timeCli(args: string[]): Measured & { stderrTail: string } {
  const scratch = mkdtempSync(join(tmpdir(), 'dfdc-bench-rusage-'));
  const rusage = join(scratch, 'rusage.json');
  const profileDir = process.env.DFDC_SCALE_CPU_PROF;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`, `--cpu-prof-name=dfdc-${args[0]}.cpuprofile`] : [];
  log(`dfdc ${args.join(' ')}`);
  const loadBefore = Number(loadavg()[0]!.toFixed(2));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [...profile, '--import', hook, cli, ...args], {
    env: { ...process.env, DFDC_BENCH_RUSAGE: rusage },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stderr = result.stderr ?? '';
  if (result.status !== 0) log(`dfdc ${args[0]} exited ${result.status ?? result.signal}: ${stderr.slice(-2000)}`);
  let peakRssMb: number | null = null;
  let cpuSeconds: Measured['cpuSeconds'] = null;
  let fsReads: number | null = null;
  try {
    const usage = JSON.parse(readFileSync(rusage, 'utf8')) as { maxRssKb: number; userCpuMs?: number; systemCpuMs?: number; fsReads?: number };
    peakRssMb = Math.round(usage.maxRssKb / 1024);
    if (usage.userCpuMs !== undefined && usage.systemCpuMs !== undefined) cpuSeconds = { user: Number((usage.userCpuMs / 1000).toFixed(1)), system: Number((usage.systemCpuMs / 1000).toFixed(1)) };
    fsReads = usage.fsReads ?? null;
  } catch {
    // killed before its exit handler ran (out of memory): no figure
  }
  rmSync(scratch, { recursive: true, force: true });
  log(`  ${seconds.toFixed(1)} s, peak RSS ${peakRssMb ?? '?'} MB, cpu ${cpuSeconds ? `${cpuSeconds.user} user + ${cpuSeconds.system} sys` : '?'} s, exit ${result.status ?? result.signal}`);
  return { seconds: Number(seconds.toFixed(2)), peakRssMb, cpuSeconds, fsReads, exitCode: result.status ?? -1, loadBefore, stderrTail: stderr.trim().split('\n').slice(-5).join('\n') };
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

export default async function dfdcScaleBenchmark(): Promise<Record<string, unknown>> {
  if (!process.argv.slice(2).includes('dfdc-scale') && process.env.DFDC_SCALE !== '1') {
    return { skipped: 'generates about 9 million files: run it by name (node dist/bench/index.js dfdc-scale) or with DFDC_SCALE=1' };
  }
  const scaleDir = resolve(process.env.DFDC_SCALE_DIR ?? join(tmpdir(), `dfdc-scale-v${GENERATOR_VERSION}`));
  const rootDir = join(scaleDir, 'root');
  const outputDir = join(scaleDir, 'out');
  const markerPath = join(scaleDir, 'generated.json');

  let marker = readMarker(markerPath);
  let reused = marker !== undefined && marker.version === GENERATOR_VERSION && marker.factor === FACTOR && JSON.stringify(marker.settings) === JSON.stringify(currentSettingsHashes());
  if (reused) {
    const stale = await staleRecords(rootDir, outputDir);
    if (stale) {
      log(`${scaleDir} no longer counts as complete for this dfdc (${stale}): generating it again`);
      rmSync(markerPath, { force: true });
      reused = false;
    }
  }
  if (reused) log(`reusing ${scaleDir} (generated ${marker!.createdAt} in ${marker!.seconds} s)`);
  else marker = await generate(scaleDir, rootDir, outputDir, markerPath);
  const { counts } = marker!;

  const scratch = mkdtempSync(join(tmpdir(), 'dfdc-scale-out-'));
  try {
    // The rerun: its report is checked, so none from an earlier run may stand in for it.
    rmSync(join(outputDir, 'run-report.json'), { force: true });
    const { stderrTail: runTail, ...rerun } = timeCli(['run', '--root-dir', rootDir, '--output-dir', outputDir, '--quiet']);
    const stageFigures: Record<string, unknown> = {};
    const problems: string[] = [];
    const expectedUnits: Record<UnitStageName, number> = { detect: counts.reals!, crops: counts.videos!, landmarks: counts.reals!, diffs: counts.fakes! };
    let unitSeconds = 0;
    try {
      const report = runReportSchema.parse(JSON.parse(readFileSync(join(outputDir, 'run-report.json'), 'utf8')));
      for (const name of UNIT_STAGES) {
        const stage = report.stages[name];
        if (!stage) {
          problems.push(`${name}: not in run-report.json`);
          continue;
        }
        stageFigures[name] = { seconds: Number(stage.seconds.toFixed(2)), skipped: stage.skipped, done: stage.done, waiting: stage.waiting, failed: stage.failed };
        unitSeconds += stage.seconds;
        if (stage.done !== 0 || stage.failed !== 0 || stage.waiting !== 0 || stage.skipped !== expectedUnits[name]) {
          problems.push(`${name}: done ${stage.done}, failed ${stage.failed}, waiting ${stage.waiting}, skipped ${stage.skipped} of ${expectedUnits[name]}`);
        }
      }
      if (!report.folds) problems.push('run-report.json has no folds entry');
      else stageFigures.folds = { rows: report.folds.rows, videos: report.folds.videos };
    } catch (error) {
      problems.push(`run-report.json unreadable: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (rerun.exitCode !== 0) problems.push(`exit code ${rerun.exitCode}: ${runTail}`);
    if (problems.length > 0) {
      // A rerun that redid units has removed their outputs: the tree is no longer the complete one.
      rmSync(markerPath, { force: true });
      log(`the rerun did not skip everything (${problems.join('; ')}): the tree will be generated again next time`);
    }

    const { stderrTail: foldsTail, ...folds } = timeCli(['folds', '--root-dir', rootDir, '--output-dir', outputDir, '--out', join(scratch, 'folds.csv')]);
    const { stderrTail: reportTail, ...report } = timeCli(['report', '--root-dir', rootDir, '--output-dir', outputDir, '--out', join(scratch, 'report.html')]);

    const memoryMet = (measured: Measured) => measured.peakRssMb !== null && measured.peakRssMb <= GOALS.peakRssMb;
    return {
      machine: { cpuModel: cpuModel(), cores: availableParallelism(), memoryGb: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version },
      tree: scaleDir,
      ...(FACTOR !== 1 ? { factor: FACTOR } : {}),
      counts: {
        parts: counts.parts,
        reals: counts.reals,
        fakes: counts.fakes,
        files: counts.files,
        folders: counts.folders,
        crops: counts.crops,
        landmarks: counts.landmarks,
        diffs: counts.diffs,
        boxesFiles: counts.boxesFiles,
        unitRecords: counts.unitRecords,
      },
      generation: { reused, seconds: marker!.seconds, phases: marker!.phases },
      rerun: {
        ...rerun,
        skippedEverything: problems.length === 0,
        ...(problems.length > 0 ? { problems } : {}),
        stages: stageFigures,
        /** Start-up, loading the data set, and folds.csv: the rest of the wall time. */
        otherSeconds: Number((rerun.seconds - unitSeconds).toFixed(2)),
      },
      folds: { ...folds, ...(folds.exitCode !== 0 ? { stderr: foldsTail } : {}) },
      report: { ...report, ...(report.exitCode !== 0 ? { stderr: reportTail } : {}) },
      goals: GOALS,
      met: {
        rerunSeconds: rerun.exitCode === 0 && problems.length === 0 && rerun.seconds < GOALS.rerunSeconds,
        foldsSeconds: folds.exitCode === 0 && folds.seconds < GOALS.foldsSeconds,
        reportSeconds: report.exitCode === 0 && report.seconds < GOALS.reportSeconds,
        peakRssMb: { rerun: memoryMet(rerun), folds: memoryMet(folds), report: memoryMet(report) },
      },
      ...(process.env.DFDC_SCALE_CPU_PROF ? { note: `run under --cpu-prof (profiles in ${process.env.DFDC_SCALE_CPU_PROF}): times include the profiler` } : {}),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
