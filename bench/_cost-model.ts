/**
 * What preparing all of DFDC would cost, from stages measured on a few videos: seconds of one core
 * per REAL and per FAKE video for each stage, and the hours the whole training set would take on N
 * cores. Pure arithmetic (tested in test/bench/cost-model.test.ts); bench/pipeline.ts feeds it.
 *
 * Assumptions, printed with the figures:
 * - linear scaling: N cores do N times the work of one (the videos are independent units, so a run
 *   can keep them all busy; memory, disk and a shared file system may not keep up, which this
 *   ignores);
 * - a stage that reads both kinds of video (crops) costs the same per REAL and per FAKE: a DFDC
 *   FAKE has its REAL's size and length, and both are decoded in full and cut at the REAL's boxes;
 * - start-up and bookkeeping (the stage run again with nothing left to do, when measured) are paid
 *   once per run, not per video, so they are taken out;
 * - folds is left out: one pass over the file names, seconds for all of DFDC (bench/dfdc-scale.ts).
 */

/** DFDC's training set (50 parts): 19,154 REAL and 100,000 FAKE 10-second clips, mostly 1920x1080. */
export const DFDC_COUNTS = { reals: 19_154, fakes: 100_000 } as const;

/** Core counts the projection is printed for. */
export const PROJECTION_CORES: readonly number[] = [2, 8, 32, 64];

export interface StageRun {
  readonly stage: string;
  /** Wall seconds of the stage's process. */
  readonly seconds: number;
  /** CPU seconds (user + system) of its process tree. */
  readonly cpuSeconds?: number;
  /** Wall seconds of the same command with nothing left to do (start-up, bookkeeping). */
  readonly idleSeconds?: number;
  /** CPU seconds of that idle run. */
  readonly idleCpuSeconds?: number;
  /** Cores the process was allowed (for the wall-time basis). */
  readonly cores: number;
  /** REAL videos the stage worked on. */
  readonly reals: number;
  /** FAKE videos the stage worked on. */
  readonly fakes: number;
}

/**
 * - `cpu`: CPU seconds of the process tree: the work done, whatever the machine's other load;
 *   low if a stage waits on the disk.
 * - `wallTimesCores`: wall seconds times the cores allowed, as if the stage kept them all busy:
 *   high for a stage that leaves cores idle (the reference's detector uses one) or shares them
 *   with other work.
 */
export type CostBasis = 'cpu' | 'wallTimesCores';

export interface PerVideo {
  readonly REAL: number;
  readonly FAKE: number;
}

/** One core's seconds per REAL and per FAKE video for one stage; undefined when the basis was not measured or the stage did no video. */
export function perVideoCost(run: StageRun, basis: CostBasis): PerVideo | undefined {
  const videos = run.reals + run.fakes;
  if (videos <= 0) return undefined;
  let work: number;
  if (basis === 'cpu') {
    if (run.cpuSeconds === undefined) return undefined;
    work = run.cpuSeconds - (run.idleCpuSeconds ?? 0);
  } else {
    work = (run.seconds - (run.idleSeconds ?? 0)) * run.cores;
  }
  // A stage shorter than its own idle run (noise on a busy machine) costs nothing measurable.
  const perVideo = Math.max(0, work) / videos;
  return { REAL: run.reals > 0 ? perVideo : 0, FAKE: run.fakes > 0 ? perVideo : 0 };
}

/** Hours for `counts` videos on `cores` cores, at `perVideo` seconds of one core each, scaling linearly. */
export function projectedHours(perVideo: PerVideo, counts: { reals: number; fakes: number }, cores: number): number {
  return (counts.reals * perVideo.REAL + counts.fakes * perVideo.FAKE) / cores / 3600;
}

export interface CostModel {
  readonly basis: CostBasis;
  /** Per stage, one core's seconds per video. */
  readonly perVideoSeconds: Record<string, PerVideo>;
  /** Sum over the stages. */
  readonly total: PerVideo;
  readonly counts: { reals: number; fakes: number };
  /** Hours for `counts` videos, by core count. */
  readonly projectedHours: Record<string, number>;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The model over `runs` (one per stage); undefined when any stage lacks the basis's figure. */
export function costModel(
  runs: readonly StageRun[],
  basis: CostBasis,
  counts: { reals: number; fakes: number } = DFDC_COUNTS,
  cores: readonly number[] = PROJECTION_CORES,
): CostModel | undefined {
  const perVideoSeconds: Record<string, PerVideo> = {};
  let real = 0;
  let fake = 0;
  for (const run of runs) {
    const cost = perVideoCost(run, basis);
    if (cost === undefined) return undefined;
    perVideoSeconds[run.stage] = { REAL: round(cost.REAL, 3), FAKE: round(cost.FAKE, 3) };
    real += cost.REAL;
    fake += cost.FAKE;
  }
  const total = { REAL: real, FAKE: fake };
  return {
    basis,
    perVideoSeconds,
    total: { REAL: round(real, 3), FAKE: round(fake, 3) },
    counts: { ...counts },
    projectedHours: Object.fromEntries(cores.map((n) => [String(n), round(projectedHours(total, counts, n), 1)])),
  };
}
