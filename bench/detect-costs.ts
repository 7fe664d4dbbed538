import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../src/image/rgb-image.js';
import { resolveBackend } from '../src/mtcnn/engine.js';
import { chooseWorkerCount } from '../src/run/workers.js';
import { detectSettings, detectVideo } from '../src/stages/detect.js';
import { resizeByScale } from '../src/image/pillow-resize.js';
import { decodeVideo } from '../src/video/decode.js';
import { TaskPool } from '../src/workers/pool.js';
import { mediaDir } from '../test/helpers/shared.js';

/**
 * Where stage 1's time goes on one 300-frame 1080p DFDC clip (issue 12): the decode pipe alone
 * (ffmpeg's CPU and the main thread's), the half-size resize of one frame, MTCNN per frame in one
 * worker, then `detectVideo` as `dfdc detect` runs it with the default worker count: its wall
 * time, the CPU of every thread and of ffmpeg, and how busy the main thread and each worker were.
 * A worker busy much less than 100% of the wall time waits for frames: the main thread (or the
 * decoder) limits the rate. CPU figures are read from /proc (Linux); elsewhere they are null.
 * Wall times on a shared machine are noisy: the CPU seconds are the figures to compare.
 */

const clip = join(mediaDir, 'dfdc', 'abqwwspghj.mp4');
const thresholds = [0.85, 0.95, 0.95] as const;

/** Seconds of CPU from a /proc stat line's utime and stime (or cutime and cstime), in clock ticks of 1/100 s. */
function statSeconds(path: string, children: boolean): number | null {
  try {
    const text = readFileSync(path, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const [user, system] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
    return (Number(user) + Number(system)) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of the child processes waited for so far (ffmpeg, ffprobe). */
const childrenCpu = () => statSeconds('/proc/self/stat', true);
/** CPU seconds of this process's main thread alone. */
const mainThreadCpu = () => statSeconds(`/proc/self/task/${process.pid}/stat`, false);
/** CPU seconds of every thread of this process. */
const processCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const round = (value: number | null, digits = 2) => (value === null ? null : Number(value.toFixed(digits)));
const difference = (after: number | null, before: number | null) => (after === null || before === null ? null : after - before);

async function decodeOnly() {
  const [children, main, start] = [childrenCpu(), mainThreadCpu(), performance.now()];
  let frames = 0;
  for await (const frame of (await decodeVideo(clip)).frames) if (frame.image.data.length > 0) frames += 1;
  return {
    frames,
    wallS: round((performance.now() - start) / 1000),
    ffmpegCpuS: round(difference(childrenCpu(), children)),
    mainThreadCpuS: round(difference(mainThreadCpu(), main)),
  };
}

/** CPU ms of one half-size resize on this thread, over every 30th frame, three times. */
async function resizeCost(): Promise<{ frames: RgbImage[]; msPerFrame: number | null }> {
  const full: RgbImage[] = [];
  for await (const frame of (await decodeVideo(clip, { every: 30 })).frames) full.push(frame.image);
  resizeByScale(full[0]!, 0.5);
  const before = mainThreadCpu();
  for (let r = 0; r < 3; r++) for (const frame of full) resizeByScale(frame, 0.5);
  const cpu = difference(mainThreadCpu(), before);
  return { frames: full, msPerFrame: round(cpu === null ? null : (cpu * 1000) / (3 * full.length), 1) };
}

/**
 * Busy ms per frame of MTCNN in one worker on 32 half frames (the other workers idle), in the pool
 * the whole-video run then uses.
 */
async function mtcnnCost(pool: TaskPool, full: RgbImage[]) {
  const halves = Array.from({ length: 32 }, (_, i) => resizeByScale(full[i % full.length]!, 0.5));
  const options = { thresholds, minFaceSize: 20 };
  await pool.run('faces', { frames: halves.slice(0, 2), options });
  const busy = pool.busyMs();
  const start = performance.now();
  await pool.run('faces', { frames: halves, options });
  const worked = Math.max(...pool.busyMs().map((ms, w) => ms - busy[w]!));
  return { wallMsPerFrame: round((performance.now() - start) / 32, 1), busyMsPerFrame: round(worked / 32, 1) };
}

async function wholeVideo(pool: TaskPool) {
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-detect-costs-'));
  try {
    const settings = detectSettings.parse({ scale: '0.5' });
    const busy = pool.busyMs();
    const [children, main, all, loop, start] = [childrenCpu(), mainThreadCpu(), processCpu(), performance.eventLoopUtilization(), performance.now()];
    const outcome = await detectVideo(clip, join(dir, 'boxes.json'), settings, { pool, signal: new AbortController().signal, addFrames: () => undefined });
    const wallMs = performance.now() - start;
    const mainLoop = performance.eventLoopUtilization(loop);
    return {
      frames: outcome.frames,
      wallS: round(wallMs / 1000),
      processCpuS: round(processCpu() - all),
      ffmpegCpuS: round(difference(childrenCpu(), children)),
      mainThreadCpuS: round(difference(mainThreadCpu(), main)),
      mainThreadBusyShare: round(mainLoop.utilization),
      workerBusyShare: pool.busyMs().map((ms, w) => round((ms - busy[w]!) / wallMs)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function detectCosts(): Promise<Record<string, unknown>> {
  if (!existsSync(clip)) return { skipped: `${clip} is absent (the DFDC clips are in ../shared/media)` };
  const backend = await resolveBackend('auto');
  const workers = chooseWorkerCount(undefined).workers;
  const decode = await decodeOnly();
  const resize = await resizeCost();
  // One pool for both measurements: its workers are warm for the second.
  const pool = new TaskPool(backend, workers);
  let mtcnn;
  let detect;
  try {
    await Promise.all(Array.from({ length: workers }, () => pool.run('load', {})));
    mtcnn = await mtcnnCost(pool, resize.frames);
    detect = await wholeVideo(pool);
  } finally {
    await pool.close();
  }
  return {
    clip: 'dfdc/abqwwspghj.mp4 (1920x1080, 300 frames), scale 0.5',
    backend,
    workers,
    decodeOnly: decode,
    resizeCpuMsPerFrame: resize.msPerFrame,
    mtcnnOneWorker: mtcnn,
    detectVideo: detect,
  };
}
