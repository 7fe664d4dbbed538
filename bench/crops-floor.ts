import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultWorkerCount } from '../src/run/workers.js';
import { packageRoot } from '../src/util/package-root.js';
import { describeFfmpeg, locateFfmpeg } from '../src/video/ffmpeg-binaries.js';
import { mediaDir, parityDir, sharedDir } from '../test/helpers/shared.js';

/**
 * The crops stage against its floor and the reference, on the same videos and boxes:
 * - floor: ffmpeg's own decode and RGB conversion of every frame of every video
 *   (`ffmpeg -nostdin -threads 1 -i X -pix_fmt rgb24 -f null -`), CPU summed over the videos and
 *   divided by the workers a run gets here (defaultWorkerCount): the wall time of a perfect packing;
 * - dfdc: `dfdc crops` as a user runs it (built CLI, fresh output folder), wall and CPU (its own and
 *   its ffmpeg/ffprobe children's);
 * - reference: extract_crops.py through ../shared/reference/run_reference.sh (STAGES=crops, on a copy)
 *   where it is installed.
 * CPU comes from the children's accounting (/proc/self/stat), so it counts every process a run waits
 * for. On a shared machine wall times are noisy: DFDC_BENCH_REPEATS runs each side that many times,
 * interleaved, and the figures are the medians.
 *
 * Data: parity dataset_b with the reference's boxes; and a root of 12 clips (3,495 frames) from ../shared/media
 * (six 1080p DFDC clips as REALs, two FaceForensics++ pairs, the Wav2Lip pair) laid out as symlinks
 * in a temporary folder at run time (nothing of it is kept), with boxes from `dfdc detect --every 10`,
 * or from DFDC_BENCH_MEDIA_BOXES when it names a boxes folder made earlier.
 */
// The `dfdc` command itself (its entry sizes libuv's thread pool), as users run it.
const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.cjs');
const referenceScript = join(sharedDir, 'reference', 'run_reference.sh');
const repeats = Math.max(1, Number(process.env.DFDC_BENCH_REPEATS ?? 1) || 1);

interface Timed {
  wall: number;
  cpu: number;
}

interface Root {
  name: string;
  root: string;
  boxes: string;
  videos: string[];
}

/** CPU seconds (user + system) of the children this process has waited for, from /proc/self/stat. */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // Fields 16 and 17 (cutime, cstime) of proc(5), counted from field 3 here; clock ticks of 1/100 s.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed & { status: number | null; stderr: string } {
  const cpu0 = childrenCpu();
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  return { wall, cpu: childrenCpu() - cpu0, status: result.status, stderr: result.stderr };
}

function countPngs(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true }).filter((name) => String(name).endsWith('.png')).length;
}

function videosOf(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.mp4'))
    .sort()
    .map((name) => join(root, name));
}

function floor(ffmpeg: string, videos: string[]): Timed {
  let wall = 0;
  let cpu = 0;
  for (const video of videos) {
    const run = timed(ffmpeg, ['-nostdin', '-threads', '1', '-i', video, '-pix_fmt', 'rgb24', '-f', 'null', '-']);
    if (run.status !== 0) throw new Error(`ffmpeg failed on ${video}: ${run.stderr.slice(-500)}`);
    wall += run.wall;
    cpu += run.cpu;
  }
  return { wall, cpu };
}

function dfdcCrops(root: Root, scratch: string): Timed & { crops: number } {
  const out = join(scratch, 'out');
  rmSync(out, { recursive: true, force: true });
  cpSync(root.boxes, join(out, 'boxes'), { recursive: true });
  const run = timed(process.execPath, [cli, 'crops', '--root-dir', root.root, '--output-dir', out, '--quiet']);
  if (run.status !== 0) throw new Error(`dfdc crops failed: ${run.stderr.slice(-500)}`);
  return { wall: run.wall, cpu: run.cpu, crops: countPngs(join(out, 'crops')) };
}

function referenceCrops(root: Root, scratch: string): (Timed & { crops: number }) | undefined {
  if (!existsSync(referenceScript)) return undefined;
  const copy = join(scratch, 'reference');
  rmSync(copy, { recursive: true, force: true });
  cpSync(root.root, copy, { recursive: true, verbatimSymlinks: true });
  cpSync(root.boxes, join(copy, 'boxes'), { recursive: true });
  const run = timed('bash', [referenceScript, copy], { ...process.env, STAGES: 'crops' });
  if (run.status !== 0) return undefined;
  return { wall: run.wall, cpu: run.cpu, crops: countPngs(join(copy, 'crops')) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number) => Math.round(value * 100) / 100;

function measure(root: Root, ffmpeg: string, workers: number): Record<string, unknown> {
  const scratch = mkdtempSync(join(tmpdir(), `dfdc-bench-crops-${root.name}-`));
  try {
    process.stderr.write(`bench: crops-floor ${root.name}: floor...\n`);
    const base = floor(ffmpeg, root.videos);
    const ours: (Timed & { crops: number })[] = [];
    const theirs: (Timed & { crops: number })[] = [];
    for (let r = 0; r < repeats; r++) {
      process.stderr.write(`bench: crops-floor ${root.name}: dfdc and reference, ${r + 1} of ${repeats}...\n`);
      ours.push(dfdcCrops(root, scratch));
      const reference = referenceCrops(root, scratch);
      if (reference) theirs.push(reference);
    }
    const floorWall = base.cpu / workers;
    const dfdc = { wall: median(ours.map((o) => o.wall)), cpu: median(ours.map((o) => o.cpu)), crops: ours[0]!.crops };
    const reference =
      theirs.length > 0 ? { wall: median(theirs.map((o) => o.wall)), cpu: median(theirs.map((o) => o.cpu)), crops: theirs[0]!.crops } : undefined;
    return {
      videos: root.videos.length,
      floor: { cpuSeconds: round(base.cpu), wallSecondsOnWorkers: round(floorWall), wallSecondsOneAtATime: round(base.wall) },
      dfdc: { wallSeconds: round(dfdc.wall), cpuSeconds: round(dfdc.cpu), crops: dfdc.crops, runs: ours.map((o) => round(o.wall)) },
      dfdcOverFloor: { wall: round(dfdc.wall / floorWall), cpu: round(dfdc.cpu / base.cpu) },
      ...(reference
        ? {
            reference: { wallSeconds: round(reference.wall), cpuSeconds: round(reference.cpu), crops: reference.crops, runs: theirs.map((o) => round(o.wall)) },
            speedupOverReference: { wall: round(reference.wall / dfdc.wall), cpu: round(reference.cpu / dfdc.cpu) },
          }
        : { reference: `absent (${referenceScript}, or it failed)` }),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const mediaClips: { file: string; name: string; original?: string }[] = [
  ...['abofeumbvv', 'abqwwspghj', 'brtujopkby', 'lynaeydofd', 'widuwuoiur', 'yhffcuhhjy'].map((id) => ({ file: join('dfdc', `${id}.mp4`), name: `${id}.mp4` })),
  { file: join('ffpp', '634.mp4'), name: 'ff634.mp4' },
  { file: join('ffpp', 'FaceSwap_634_660.mp4'), name: 'ff634fs.mp4', original: 'ff634.mp4' },
  { file: join('ffpp', '004.mp4'), name: 'ff004.mp4' },
  { file: join('ffpp', 'NeuralTextures_004_982.mp4'), name: 'ff004nt.mp4', original: 'ff004.mp4' },
  { file: join('lipsync', 'wav2lip_real.mp4'), name: 'w2lreal.mp4' },
  { file: join('lipsync', 'wav2lip_fake.mp4'), name: 'w2lfake.mp4', original: 'w2lreal.mp4' },
];

/** The media root: symlinks in a DFDC part with its metadata.json, and boxes (detected here unless given). */
function mediaRoot(dir: string): Root | undefined {
  if (!mediaClips.every((clip) => existsSync(join(mediaDir, clip.file)))) return undefined;
  const part = join(dir, 'root', 'dfdc_train_part_0');
  mkdirSync(part, { recursive: true });
  const metadata: Record<string, { label: string; split: string; original: string | null }> = {};
  for (const clip of mediaClips) {
    symlinkSync(join(mediaDir, clip.file), join(part, clip.name));
    metadata[clip.name] = { label: clip.original ? 'FAKE' : 'REAL', split: 'train', original: clip.original ?? null };
  }
  writeFileSync(join(part, 'metadata.json'), JSON.stringify(metadata));
  let boxes = process.env.DFDC_BENCH_MEDIA_BOXES;
  if (!boxes) {
    process.stderr.write('bench: crops-floor media: detecting boxes (dfdc detect --every 10)...\n');
    const detected = join(dir, 'detected');
    const run = spawnSync(process.execPath, [cli, 'detect', '--root-dir', join(dir, 'root'), '--output-dir', detected, '--every', '10', '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`dfdc detect failed: ${run.stderr.slice(-500)}`);
    boxes = join(detected, 'boxes');
  }
  return { name: 'media', root: join(dir, 'root'), boxes, videos: videosOf(join(dir, 'root')) };
}

export default async function bench(): Promise<Record<string, unknown>> {
  const binaries = await locateFfmpeg();
  const workers = defaultWorkerCount();
  const results: Record<string, unknown> = { ffmpeg: describeFfmpeg(binaries), workers, repeats };
  const datasetB = join(parityDir, 'dataset_b');
  if (existsSync(datasetB)) {
    const input = join(datasetB, 'input');
    results.datasetB = measure({ name: 'dataset_b', root: input, boxes: join(datasetB, 'expected', 'boxes'), videos: videosOf(input) }, binaries.ffmpegPath, workers);
  } else {
    results.datasetB = `skipped: ${datasetB} is absent`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-media-'));
  try {
    const media = mediaRoot(dir);
    results.media = media ? measure(media, binaries.ffmpegPath, workers) : `skipped: clips of ${mediaDir} are absent`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
