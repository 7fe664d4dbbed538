import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/util/package-root.js';
import { mediaDir, parityDir } from '../test/helpers/shared.js';

/**
 * Stage wall times as a user sees them: the built CLI run as a separate process on the parity data
 * sets and on one 300-frame 1080p DFDC clip, with frames/s and the process's peak memory. Each run
 * starts from a fresh copy of its input. The reference's own times (reference_timings.tsv, and the
 * figures in the issues) are printed beside ours.
 */
interface Measured {
  seconds: number;
  peakRssMb: number;
  exitCode: number;
}

const cli = join(packageRoot, 'dist', 'src', 'cli', 'index.js');
const hook = pathToFileURL(join(packageRoot, 'dist', 'bench', '_rusage-hook.js')).href;

function timeCli(args: string[]): Measured {
  const rusage = join(mkdtempSync(join(tmpdir(), 'dfdc-bench-rusage-')), 'rusage.json');
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', hook, cli, ...args, '--quiet'], {
    env: { ...process.env, DFDC_BENCH_RUSAGE: rusage },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) process.stderr.write(`bench: dfdc ${args[0]} exited ${result.status}: ${result.stderr}\n`);
  const { maxRssKb } = JSON.parse(readFileSync(rusage, 'utf8')) as { maxRssKb: number };
  return { seconds: Number(seconds.toFixed(2)), peakRssMb: Math.round(maxRssKb / 1024), exitCode: result.status ?? -1 };
}

function scratchCopy(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-'));
  cpSync(source, join(dir, 'root'), { recursive: true });
  return dir;
}

function referenceTimings(dataset: string): Record<string, number> {
  const text = readFileSync(join(parityDir, dataset, 'reference_timings.tsv'), 'utf8');
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .map(([stage, seconds]) => [stage, Number(seconds)]),
  );
}

function perFrame(measured: Measured, frames: number) {
  return { ...measured, frames, framesPerSecond: Number((frames / measured.seconds).toFixed(1)) };
}

function datasetA() {
  const dir = scratchCopy(join(parityDir, 'dataset_a', 'input'));
  const root = join(dir, 'root');
  try {
    const detect = perFrame(timeCli(['detect', '--root-dir', root, '--output-dir', join(dir, 'out')]), 105);
    const crops = timeCli(['crops', '--root-dir', root, '--output-dir', join(dir, 'out')]);
    const detectEvery10 = perFrame(timeCli(['detect', '--root-dir', root, '--output-dir', join(dir, 'out10'), '--every', '10']), 11);
    return { detect, crops, detectEvery10, reference: referenceTimings('dataset_a'), targets: { detectSeconds: 7, cropsSeconds: 'reference crops' } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function datasetBRun() {
  const dir = scratchCopy(join(parityDir, 'dataset_b', 'input'));
  try {
    const run = timeCli(['run', '--root-dir', join(dir, 'root'), '--output-dir', join(dir, 'out')]);
    const reference = referenceTimings('dataset_b');
    const referenceTotal = Object.values(reference).reduce((sum, seconds) => sum + seconds, 0);
    return { run, reference: { ...reference, total: Number(referenceTotal.toFixed(2)) }, targets: { runSeconds: 10 } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function dfdcClip() {
  const clip = join(mediaDir, 'dfdc', 'abqwwspghj.mp4');
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-clip-'));
  const part = join(dir, 'root', 'dfdc_train_part_0');
  mkdirSync(part, { recursive: true });
  cpSync(clip, join(part, 'abqwwspghj.mp4'));
  // Labelled REAL in the benchmark's own metadata (its DFDC label does not matter for detection).
  writeFileSync(join(part, 'metadata.json'), JSON.stringify({ 'abqwwspghj.mp4': { label: 'REAL', split: 'train', original: null } }));
  const root = join(dir, 'root');
  try {
    const detect = perFrame(timeCli(['detect', '--root-dir', root, '--output-dir', join(dir, 'out')]), 300);
    const crops = timeCli(['crops', '--root-dir', root, '--output-dir', join(dir, 'out')]);
    const detectEvery10 = perFrame(timeCli(['detect', '--root-dir', root, '--output-dir', join(dir, 'out10'), '--every', '10']), 30);
    return {
      detect,
      crops,
      detectEvery10,
      reference: { detectSeconds: 48, detectSecondsTwoCores: 33, peakRssMb: 2048 },
      targets: { detectSeconds: 14, detectEvery10Seconds: 3, peakRssMb: 1024 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function pipelineBenchmark(): Promise<Record<string, unknown>> {
  if (!existsSync(parityDir)) return { skipped: `${parityDir} is absent` };
  return {
    dataset_a: datasetA(),
    dataset_b_run: datasetBRun(),
    ...(existsSync(join(mediaDir, 'dfdc', 'abqwwspghj.mp4')) ? { dfdc_1080p_clip: dfdcClip() } : {}),
  };
}
