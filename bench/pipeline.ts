import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateFfmpeg } from '../src/video/ffmpeg-binaries.js';
import { mediaDir, parityDir } from '../test/helpers/shared.js';
import { PIPELINE_CASES, selectCases, type PipelineCase } from './_cases.js';
import { DFDC_COUNTS, costModel, type StageRun } from './_cost-model.js';
import { CLIP_ROOT, MULTI_VIDEO_ROOT, copyRoot, layOut, missingSources, videosOfRoot } from './_layouts.js';
import { describeMachine, type Machine } from './_machine.js';
import { referenceStatus, runReference, type ReferenceStage, type ReferenceStatus, type ReferenceTimed } from './_reference.js';
import { decodeFloor, speedRatio, timeDfdc, type DfdcTimed, type Timed } from './_timing.js';

/**
 * Stage wall times as a user sees them, dfdc beside the reference on the same inputs in the same
 * run (a ratio from one machine at one moment; figures from another machine compare nothing):
 * the built CLI and run_reference.sh each run as separate processes on fresh copies of their
 * inputs, with CPU seconds of the process tree and peak memory. The cases are in bench/_cases.ts;
 * DFDC_BENCH_CASES=a,b selects some, DFDC_BENCH_REFERENCE=0 leaves the reference out,
 * DFDC_REFERENCE_DIR says where it is. dfdc runs with its default worker count throughout.
 *
 * ratio = reference seconds / dfdc seconds: above 1, dfdc is faster. The reference's seconds are
 * its stage's line in timings.tsv (Python start-up included, as dfdc's include Node's). cpuRatio is
 * the same in CPU seconds of each process tree, the steadier figure while others load the machine.
 */

/** The clip's frames (../shared/media/README.md): 300, every 10th of them with --every 10. */
const CLIP_FRAMES = 300;

/** The goals, printed beside the figures (measured by the lead on a quiet machine; nothing here asserts them). */
const GOALS = {
  detectRatio: 4,
  cropsRatio: 1.5,
  cropsOverDecodeFloor: 1.15,
  runRatio: 8,
  peakRssMb: 1024,
} as const;

interface Context {
  readonly machine: Machine;
  /** Cores this process may use (decode floor, wall-time cost basis). */
  readonly cores: number;
  readonly reference: ReferenceStatus;
  readonly ffmpegPath: string;
  /** Peak RSS of every dfdc process, for the summary. */
  readonly peaks: { command: string; peakRssMb: number }[];
}

const round2 = (value: number): number => Number(value.toFixed(2));

/** Runs dfdc and records its peak for the summary. */
function dfdc(ctx: Context, label: string, args: string[]): DfdcTimed {
  const timed = timeDfdc(args);
  if (timed.peakRssMb !== undefined) ctx.peaks.push({ command: label, peakRssMb: timed.peakRssMb });
  return timed;
}

/** The reference's side of one stage: its timings.tsv seconds, with the run's CPU time and peak. */
function referenceStage(run: ReferenceTimed | undefined, stage: ReferenceStage): Record<string, unknown> | undefined {
  if (run === undefined) return undefined;
  return {
    seconds: run.stages[stage],
    scriptSeconds: run.seconds,
    ...(run.cpuSeconds === undefined ? {} : { cpuSeconds: run.cpuSeconds }),
    ...(run.peakRssMb === undefined ? {} : { peakRssMb: run.peakRssMb }),
    ...(run.exitCode === 0 ? {} : { exitCode: run.exitCode }),
  };
}

/** dfdc and the reference on one stage, with their ratio and the goal when there is one. */
function comparison(dfdcRun: DfdcTimed, referenceSeconds: number | undefined, reference: Record<string, unknown> | undefined, goalRatio?: number) {
  const ok = dfdcRun.exitCode === 0 && reference?.exitCode === undefined;
  const ratio = ok ? speedRatio(referenceSeconds, dfdcRun.seconds) : undefined;
  // The same in CPU seconds: the work each did, which others' load on the machine moves little.
  // Not the goals' measure (a tool that spreads its work over more cores wins wall time, not CPU time).
  const cpuRatio = ok ? speedRatio(reference?.cpuSeconds as number | undefined, dfdcRun.cpuSeconds) : undefined;
  return {
    dfdc: dfdcRun,
    ...(reference === undefined ? {} : { reference }),
    ...(ratio === undefined ? {} : { ratio }),
    ...(cpuRatio === undefined ? {} : { cpuRatio }),
    ...(goalRatio === undefined ? {} : { goal: `ratio >= ${goalRatio}`, ...(ratio === undefined ? {} : { met: ratio >= goalRatio }) }),
  };
}

function countFiles(dir: string, suffix: string): number {
  if (!existsSync(dir)) return 0;
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile() && entry.name.endsWith(suffix)) count += 1;
  return count;
}

function scratchDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `dfdc-bench-${name}-`));
}

const available = (status: ReferenceStatus): status is ReferenceStatus & { available: true } => status.available;

// --- detect on the 1080p clip, and the cost model --------------------------------------------------

function detectClip(ctx: Context): Record<string, unknown> {
  const missing = missingSources(CLIP_ROOT, mediaDir);
  if (missing.length > 0) return { skipped: `absent from ${mediaDir}: ${missing.join(', ')}` };
  const scratch = scratchDir('clip');
  try {
    const template = join(scratch, 'template');
    layOut(CLIP_ROOT, mediaDir, template);

    const root = join(scratch, 'dfdc-root');
    copyRoot(template, root);
    const out = join(scratch, 'dfdc-out');
    const out10 = join(scratch, 'dfdc-out-every10');
    const on = (stage: string, output = out, extra: string[] = []) => [stage, '--root-dir', root, '--output-dir', output, ...extra];
    // Each stage twice: the second run finds every unit complete, so it measures start-up and
    // bookkeeping alone, which a run over thousands of videos pays once, not per video.
    const detect = dfdc(ctx, 'detect (clip)', on('detect'));
    const detectIdle = timeDfdc(on('detect'));
    const crops = dfdc(ctx, 'crops (clip)', on('crops'));
    const cropsIdle = timeDfdc(on('crops'));
    const landmarks = dfdc(ctx, 'landmarks (clip)', on('landmarks'));
    const landmarksIdle = timeDfdc(on('landmarks'));
    const diffs = dfdc(ctx, 'diffs (clip)', on('diffs'));
    const diffsIdle = timeDfdc(on('diffs'));
    const every10 = dfdc(ctx, 'detect --every 10 (clip)', on('detect', out10, ['--every', '10']));
    const every10Idle = timeDfdc(on('detect', out10, ['--every', '10']));

    const stages = ['detect', 'crops', 'landmarks', 'diffs'] as const;
    const reference: Partial<Record<(typeof stages)[number], ReferenceTimed>> = {};
    const referenceIdle: Partial<Record<(typeof stages)[number], ReferenceTimed>> = {};
    if (available(ctx.reference)) {
      const referenceRoot = join(scratch, 'reference-root');
      copyRoot(template, referenceRoot);
      // One stage a run, so that each has its own CPU time and peak.
      for (const stage of stages) reference[stage] = runReference(ctx.reference, referenceRoot, [stage]);
      // The reference's start-up (Python, torch, the detector's weights, its process pools): each
      // stage on a root with no video.
      const empty = join(scratch, 'reference-empty');
      mkdirSync(empty);
      for (const stage of stages) referenceIdle[stage] = runReference(ctx.reference, empty, [stage]);
    }

    const perFrame = (run: DfdcTimed, frames: number) => ({ ...run, frames, framesPerSecond: round2(frames / run.seconds) });
    const referenceDetect = referenceStage(reference.detect, 'detect');
    const peakRssMb = Math.max(...[detect, crops, landmarks, diffs, every10].map((run) => run.peakRssMb ?? 0));

    const dfdcRuns = (detectRun: DfdcTimed, detectIdleRun: DfdcTimed): StageRun[] => [
      clipStageRun('detect', detectRun, detectIdleRun, ctx.cores),
      clipStageRun('crops', crops, cropsIdle, ctx.cores),
      clipStageRun('landmarks', landmarks, landmarksIdle, ctx.cores),
      clipStageRun('diffs', diffs, diffsIdle, ctx.cores),
    ];
    // The reference's seconds are its timings.tsv lines; its CPU seconds, the whole run_reference.sh (bash's share is noise).
    const referenceRuns: StageRun[] | undefined = stages.every((stage) => reference[stage]?.exitCode === 0 && referenceIdle[stage]?.exitCode === 0)
      ? stages.map((stage) => {
          const run = reference[stage]!;
          const idle = referenceIdle[stage]!;
          return clipStageRun(stage, { ...run, seconds: run.stages[stage] ?? run.seconds }, { ...idle, seconds: idle.stages[stage] ?? idle.seconds }, ctx.cores);
        })
      : undefined;
    const dfdcFailed = [detect, crops, landmarks, diffs].some((run) => run.exitCode !== 0);

    return {
      input: `${CLIP_ROOT[0]!.source} (${CLIP_FRAMES} frames, 1920x1080) as one REAL of one DFDC part, and a copy of it as its FAKE (detect reads the REAL only)`,
      detect: { ...comparison(perFrame(detect, CLIP_FRAMES), reference.detect?.stages.detect, referenceDetect, GOALS.detectRatio) },
      detectEvery10: {
        ...comparison(perFrame(every10, CLIP_FRAMES / 10), reference.detect?.stages.detect, referenceDetect),
        note: 'the reference has no frame step: its figure is its full detect; --every 10 gives the same crops',
      },
      crops: comparison(crops, reference.crops?.stages.crops, referenceStage(reference.crops, 'crops')),
      landmarks: comparison(landmarks, reference.landmarks?.stages.landmarks, referenceStage(reference.landmarks, 'landmarks')),
      diffs: comparison(diffs, reference.diffs?.stages.diffs, referenceStage(reference.diffs, 'diffs')),
      chainNote: 'crops, landmarks and diffs each from their own tool\'s boxes (the two agree within 1e-3 px); crops-dataset-b and crops-multi compare crops from one set of boxes',
      peakRssMb: { max: peakRssMb, goal: `< ${GOALS.peakRssMb}`, met: peakRssMb < GOALS.peakRssMb },
      costModel: {
        measuredOn: 'this clip: detect and landmarks on its REAL, crops on the REAL and the FAKE, diffs on the FAKE; one process a stage',
        assumptions: [
          `projected for DFDC's ${DFDC_COUNTS.reals} REAL and ${DFDC_COUNTS.fakes} FAKE 10-second clips, as if all were like this 1920x1080 one`,
          'linear scaling over cores: N cores do N times the work of one (memory, disk and network ignored)',
          "start-up taken out: each stage's seconds less those of the same command with nothing to do (dfdc: a rerun that skips every unit; the reference: a root with no video)",
          'cpu: CPU seconds of the process tree (steady on a busy machine); wallTimesCores: wall seconds x the cores allowed (an upper bound: counts idle and others\' time)',
          'a crops of a FAKE costs what a crops of a REAL of the same size costs; folds is left out (seconds for all of DFDC)',
        ],
        cores: ctx.cores,
        ...(dfdcFailed
          ? { dfdc: 'a stage failed: no model' }
          : {
              dfdc: { cpu: costModel(dfdcRuns(detect, detectIdle), 'cpu'), wallTimesCores: costModel(dfdcRuns(detect, detectIdle), 'wallTimesCores') },
              dfdcDetectEvery10: {
                cpu: costModel(dfdcRuns(every10, every10Idle), 'cpu'),
                wallTimesCores: costModel(dfdcRuns(every10, every10Idle), 'wallTimesCores'),
              },
            }),
        ...(referenceRuns === undefined
          ? {}
          : { reference: { cpu: costModel(referenceRuns, 'cpu'), wallTimesCores: costModel(referenceRuns, 'wallTimesCores') } }),
      },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What each stage works on in the clip's root: detect and landmarks read the REAL, crops both, diffs the FAKE. */
const CLIP_UNITS: Record<string, { reals: number; fakes: number }> = {
  detect: { reals: 1, fakes: 0 },
  crops: { reals: 1, fakes: 1 },
  landmarks: { reals: 1, fakes: 0 },
  diffs: { reals: 0, fakes: 1 },
};

/** One stage on the clip for the cost model, with its idle run (start-up and bookkeeping) to take out. */
function clipStageRun(stage: string, run: Pick<Timed, 'seconds' | 'cpuSeconds'>, idle: Pick<Timed, 'seconds' | 'cpuSeconds'>, cores: number): StageRun {
  return {
    stage,
    seconds: run.seconds,
    ...(run.cpuSeconds === undefined ? {} : { cpuSeconds: run.cpuSeconds }),
    idleSeconds: idle.seconds,
    ...(idle.cpuSeconds === undefined ? {} : { idleCpuSeconds: idle.cpuSeconds }),
    cores,
    ...(CLIP_UNITS[stage] ?? { reals: 0, fakes: 0 }),
  };
}

// --- crops from one set of boxes ---------------------------------------------------------------------

/**
 * dfdc's crops and the reference's on copies of `template`, both from the boxes in `boxesDir`
 * (dfdc reads <output-dir>/boxes, the reference DATA_ROOT/boxes), and the decode floor of the
 * videos.
 */
function cropsFromBoxes(ctx: Context, label: string, template: string, boxesDir: string, scratch: string) {
  const root = join(scratch, 'dfdc-root');
  copyRoot(template, root);
  const out = join(scratch, 'dfdc-out');
  copyRoot(boxesDir, join(out, 'boxes'));
  const crops = dfdc(ctx, `crops (${label})`, ['crops', '--root-dir', root, '--output-dir', out]);

  let reference: ReferenceTimed | undefined;
  let referenceCrops: number | undefined;
  if (available(ctx.reference)) {
    const referenceRoot = join(scratch, 'reference-root');
    copyRoot(template, referenceRoot);
    copyRoot(boxesDir, join(referenceRoot, 'boxes'));
    reference = runReference(ctx.reference, referenceRoot, ['crops']);
    referenceCrops = countFiles(join(referenceRoot, 'crops'), '.png');
  }

  const videos = videosOfRoot(template);
  process.stderr.write(`bench:   decode floor of ${videos.length} videos\n`);
  const floor = decodeFloor(ctx.ffmpegPath, videos, ctx.cores);
  const overFloor = crops.exitCode === 0 && floor.seconds > 0 ? round2(crops.seconds / floor.seconds) : undefined;
  const cpuOverFloor =
    crops.exitCode === 0 && crops.cpuSeconds !== undefined && floor.cpuSeconds !== undefined && floor.cpuSeconds > 0 ? round2(crops.cpuSeconds / floor.cpuSeconds) : undefined;
  return {
    videos: videos.length,
    cropsWritten: { dfdc: countFiles(join(out, 'crops'), '.png'), ...(referenceCrops === undefined ? {} : { reference: referenceCrops }) },
    ...comparison(crops, reference?.stages.crops, referenceStage(reference, 'crops'), GOALS.cropsRatio),
    decodeFloor: floor,
    ...(overFloor === undefined ? {} : { dfdcOverDecodeFloor: overFloor, decodeFloorGoal: `<= ${GOALS.cropsOverDecodeFloor}`, decodeFloorMet: overFloor <= GOALS.cropsOverDecodeFloor }),
    // The same comparison in CPU seconds, which waiting for a busy machine's cores does not inflate:
    // dfdc's crops CPU time (its ffmpeg processes included) per CPU second of the bare decodes.
    ...(cpuOverFloor === undefined ? {} : { dfdcCpuOverDecodeCpu: cpuOverFloor }),
  };
}

function cropsDatasetB(ctx: Context): Record<string, unknown> {
  const input = join(parityDir, 'dataset_b', 'input');
  const boxes = join(parityDir, 'dataset_b', 'expected', 'boxes');
  if (!existsSync(input) || !existsSync(boxes)) return { skipped: `${input} or ${boxes} is absent` };
  const scratch = scratchDir('crops-b');
  try {
    return { boxes: `the reference's own (${boxes})`, ...cropsFromBoxes(ctx, 'dataset_b', input, boxes, scratch) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function cropsMulti(ctx: Context): Record<string, unknown> {
  const missing = missingSources(MULTI_VIDEO_ROOT, mediaDir);
  if (missing.length > 0) return { skipped: `absent from ${mediaDir}: ${missing.join(', ')}` };
  const scratch = scratchDir('crops-multi');
  try {
    const template = join(scratch, 'template');
    layOut(MULTI_VIDEO_ROOT, mediaDir, template);
    // Boxes for both: dfdc's detect of every 10th frame (the frames crops reads; a tenth of the
    // reference's detect time, which on these videos would be minutes of setup).
    const boxesRoot = join(scratch, 'boxes-root');
    copyRoot(template, boxesRoot);
    const boxesOut = join(scratch, 'boxes-out');
    const detect = dfdc(ctx, 'detect --every 10 (multi)', ['detect', '--root-dir', boxesRoot, '--output-dir', boxesOut, '--every', '10']);
    if (detect.exitCode !== 0) return { skipped: 'dfdc detect, which makes the boxes, failed', detect };
    const layout = MULTI_VIDEO_ROOT.map((video) => `${video.part}/${video.name} ${video.label} ${video.size}`);
    return {
      layout,
      boxes: { by: 'dfdc detect --every 10, the same files given to both', ...detect },
      ...cropsFromBoxes(ctx, 'multi', template, join(boxesOut, 'boxes'), scratch),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- dfdc run against the five scripts --------------------------------------------------------------

function runDatasetB(ctx: Context): Record<string, unknown> {
  const input = join(parityDir, 'dataset_b', 'input');
  if (!existsSync(input)) return { skipped: `${input} is absent` };
  const scratch = scratchDir('run-b');
  try {
    const root = join(scratch, 'dfdc-root');
    copyRoot(input, root);
    const run = dfdc(ctx, 'run (dataset_b)', ['run', '--root-dir', root, '--output-dir', join(scratch, 'dfdc-out')]);
    let reference: ReferenceTimed | undefined;
    if (available(ctx.reference)) {
      const referenceRoot = join(scratch, 'reference-root');
      copyRoot(input, referenceRoot);
      reference = runReference(ctx.reference, referenceRoot, ['detect', 'crops', 'landmarks', 'diffs', 'folds']);
    }
    const referenceSide =
      reference === undefined
        ? undefined
        : {
            seconds: reference.seconds,
            stages: reference.stages,
            ...(reference.cpuSeconds === undefined ? {} : { cpuSeconds: reference.cpuSeconds }),
            ...(reference.peakRssMb === undefined ? {} : { peakRssMb: reference.peakRssMb }),
            ...(reference.exitCode === 0 ? {} : { exitCode: reference.exitCode }),
          };
    return {
      videos: videosOfRoot(input).length,
      ...comparison(run, reference?.seconds, referenceSide, GOALS.runRatio),
      note: "the reference's seconds are run_reference.sh's, all five scripts one after another",
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const RUNNERS: Record<PipelineCase, (ctx: Context) => Record<string, unknown>> = {
  'detect-clip': detectClip,
  'crops-dataset-b': cropsDatasetB,
  'crops-multi': cropsMulti,
  'run-dataset-b': runDatasetB,
};

export default async function pipelineBenchmark(): Promise<Record<string, unknown>> {
  const cases = selectCases(process.env.DFDC_BENCH_CASES);
  const machine = await describeMachine();
  const reference = referenceStatus();
  const ctx: Context = { machine, cores: machine.cores.allowed, reference, ffmpegPath: (await locateFfmpeg()).ffmpegPath, peaks: [] };
  const start = performance.now();
  const results: Record<string, unknown> = {};
  for (const name of cases) {
    process.stderr.write(`bench: pipeline ${name}: ${PIPELINE_CASES[name]}\n`);
    const caseStart = performance.now();
    try {
      results[name] = { ...RUNNERS[name](ctx), caseSeconds: round2((performance.now() - caseStart) / 1000) };
    } catch (error) {
      results[name] = { error: error instanceof Error ? error.message : String(error) };
    }
  }
  const peak = ctx.peaks.reduce<{ command: string; peakRssMb: number } | undefined>((max, entry) => (max === undefined || entry.peakRssMb > max.peakRssMb ? entry : max), undefined);
  return {
    workers: machine.cores.defaultWorkers,
    reference: reference.available ? { dir: reference.dir } : { skipped: reference.reason },
    ratio: 'reference seconds / dfdc seconds: above 1, dfdc is faster; cpuRatio: the same in CPU seconds (the work done, little moved by other load)',
    ...results,
    peakRss: { ofEveryDfdcProcess: ctx.peaks, max: peak, goalMb: `< ${GOALS.peakRssMb} on a 1080p video` },
    benchSeconds: round2((performance.now() - start) / 1000),
  };
}
