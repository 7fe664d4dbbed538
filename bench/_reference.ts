import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sharedDir } from '../test/helpers/shared.js';
import { timeProcess, type Timed } from './_timing.js';

/**
 * The reference (the winner's five scripts, runnable: ../shared/reference/README.md), run by the
 * benchmarks on the same inputs as dfdc in the same run, so that a ratio compares the two on one
 * machine at one moment rather than against figures from another machine.
 *
 * DFDC_REFERENCE_DIR sets where it is (default: <shared>/reference, beside the repository, or under
 * DFDC_SHARED); DFDC_BENCH_REFERENCE=0 skips it.
 */

export const REFERENCE_STAGES = ['detect', 'crops', 'landmarks', 'diffs', 'folds'] as const;
export type ReferenceStage = (typeof REFERENCE_STAGES)[number];

export type ReferenceStatus = { available: true; dir: string; script: string } | { available: false; reason: string };

/** The Python modules the five scripts import; a failed import means the reference is not installed here. */
const PROBE = 'import torch, cv2, skimage, numpy, tqdm';

/** Whether the reference can run here, and where it is. */
export function referenceStatus(env: NodeJS.ProcessEnv = process.env): ReferenceStatus {
  if (env.DFDC_BENCH_REFERENCE === '0') return { available: false, reason: 'DFDC_BENCH_REFERENCE=0' };
  const dir = resolve(env.DFDC_REFERENCE_DIR ?? join(sharedDir, 'reference'));
  const script = join(dir, 'run_reference.sh');
  if (!existsSync(script)) return { available: false, reason: `${script} is absent (set DFDC_REFERENCE_DIR)` };
  // run_reference.sh runs Debian's /usr/bin/python3 (install.sh installs the modules for it).
  const probe = spawnSync('/usr/bin/python3', ['-c', PROBE], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`;
    return { available: false, reason: `the reference's Python modules do not import (${why}): run ${join(dir, 'install.sh')} as root` };
  }
  return { available: true, dir, script };
}

/** `stage<TAB>seconds` lines of the reference's timings.tsv, as numbers. */
export function parseTimingsTsv(text: string): Partial<Record<ReferenceStage, number>> {
  const timings: Partial<Record<ReferenceStage, number>> = {};
  for (const line of text.split('\n')) {
    const [stage, seconds] = line.trim().split('\t');
    if (stage === undefined || seconds === undefined) continue;
    const value = Number(seconds);
    if ((REFERENCE_STAGES as readonly string[]).includes(stage) && seconds.trim() !== '' && Number.isFinite(value)) {
      timings[stage as ReferenceStage] = value;
    }
  }
  return timings;
}

export interface ReferenceTimed extends Timed {
  /** The stages' own seconds, from DATA_ROOT/timings.tsv (Python start-up included, bash not). */
  stages: Partial<Record<ReferenceStage, number>>;
  /** Peak RSS of the largest single process of the run (GNU time's %M), when /usr/bin/time is here. */
  peakRssMb?: number;
}

const GNU_TIME = '/usr/bin/time';

/**
 * `STAGES="<stages>" run_reference.sh <root>`: the reference writes its outputs and timings.tsv
 * into `root`, so the caller gives it a fresh copy.
 */
export function runReference(status: ReferenceStatus & { available: true }, root: string, stages: readonly ReferenceStage[], foldsOut?: string): ReferenceTimed {
  process.stderr.write(`bench:   reference ${stages.join(' ')} on ${root}\n`);
  const env = { ...process.env, STAGES: stages.join(' '), ...(foldsOut === undefined ? {} : { FOLDS_OUT: foldsOut }) };
  const scratch = mkdtempSync(join(tmpdir(), 'dfdc-bench-ref-'));
  const rssFile = join(scratch, 'maxrss');
  try {
    const withTime = existsSync(GNU_TIME);
    const timed = withTime
      ? timeProcess(GNU_TIME, ['-f', '%M', '-o', rssFile, 'bash', status.script, root], { env, label: `reference ${stages.join(' ')}` })
      : timeProcess('bash', [status.script, root], { env, label: `reference ${stages.join(' ')}` });
    const timingsPath = join(root, 'timings.tsv');
    const stageSeconds = existsSync(timingsPath) ? parseTimingsTsv(readFileSync(timingsPath, 'utf8')) : {};
    // GNU time prints the exit status before the figure when the command fails: the last line is %M.
    const rssKb = withTime && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
    return { ...timed, stages: stageSeconds, ...(Number.isFinite(rssKb) ? { peakRssMb: Math.round(rssKb / 1024) } : {}) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
