import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { rotateClockwise } from '../image/rotate.js';
import type { Rect, RgbImage } from '../image/rgb-image.js';
import { FatalError, UnitError } from '../util/errors.js';
import { failedChild, ffmpegEnvironment, locateFfmpeg, type FfmpegBinaries } from './ffmpeg-binaries.js';
import { cleanLine, firstLine, probeVideo, type VideoProbe } from './probe.js';
import { showinfoRank, sparseSelectFilter, type SparsePlan } from './sparse-decode.js';
import { prepareSparseDecode, type SparseSource } from './sparse-input.js';

/**
 * Decodes a video's frames to RGB exactly as the reference's OpenCV VideoCapture delivers them
 * (converted BGR to RGB): ffmpeg with passthrough timing (no frame dropped or duplicated), default
 * scaler flags, OpenCV's colour matrix, rgb24 on a pipe, one frame at a time with backpressure.
 * Rotation: OpenCV 4.6 rotates each converted frame by the display matrix (quarter turns only), so
 * ffmpeg is told not to rotate (`-noautorotate`: it would rotate before the colour conversion) and
 * the RGB frame is rotated here. Known difference: a stream whose frame size changes midway keeps
 * its first size (later frames are scaled back to it), where OpenCV would deliver the new size.
 * When only every n-th frame is wanted, the pictures nothing refers to are not decoded at all where
 * that is known to give the same frames (src/video/sparse-decode.ts; DFDC_SPARSE_DECODE=0 turns it
 * off). See docs/exactness.md §2 (Sparse decoding).
 */

export interface DecodeOptions {
  /** Deliver only frames whose index is a multiple of this (every frame is still decoded). Default 1. */
  readonly every?: number;
  /** Stops decoding (ffmpeg is killed) and makes the iteration throw the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Reuse a frame's buffer for a later frame once the loop asks for the next one, for consumers
   * that copy what they keep (crops). A fresh 6 MB buffer per 1080p frame costs page faults and
   * garbage collections: measured, about a quarter of the main thread's time. Default false: every
   * frame gets a buffer the consumer owns.
   */
  readonly recycleFrames?: boolean;
  /**
   * The probe of this video when the caller has it already, so that it is not probed twice: an
   * ffprobe costs 0.2-0.4 s of CPU, mostly loading its 200 shared libraries (a tenth of a 1080p
   * clip's decoding). A rejected promise fails the decoding as probeVideo's own error would.
   */
  readonly probe?: Promise<VideoProbe>;
  /**
   * The decoder's threads (ffmpeg's `-threads` for the input), asked when ffmpeg starts; default
   * ffmpeg's own choice (one more than the machine's cores). Frame threads cost CPU of their own
   * (about 4% on a 1080p clip): a caller that decodes as many videos at once as it has cores
   * gets more done with one thread each. The frames are the same whatever the count.
   */
  readonly decoderThreads?: () => number;
  /**
   * The only part of each frame the consumer needs (frame coordinates). Where the cut is exact
   * (exactRegion), ffmpeg cuts it before the colour conversion, so only it crosses the pipe: a
   * pipe costs about as much CPU per byte as decoding makes them (a 1080p frame is 6 MB), and a
   * face's crops are a tenth of a frame. `VideoDecoding.region` says what each image covers.
   */
  readonly region?: Rect;
  /**
   * The last frame index the consumer needs: ffmpeg stops decoding after it (`-frames:v`), which
   * spares the end of a clip whose last faces come before its last frame. Frames are delivered
   * as without it, up to that index.
   */
  readonly lastFrame?: number;
}

export interface DecodedFrame {
  /** The frame's true 0-based index in decode order. */
  readonly index: number;
  /**
   * The frame (or the `region` of it, see VideoDecoding) in a fresh buffer the consumer owns; with
   * `recycleFrames`, valid only until the next frame is asked for.
   */
  readonly image: RgbImage;
}

export interface DecodeSummary {
  readonly framesDelivered: number;
  /** Index of the last frame delivered, -1 when none was. */
  readonly lastIndex: number;
  readonly width: number;
  readonly height: number;
  /** False when the consumer stopped before the end of the stream. */
  readonly complete: boolean;
  /** Set when the video broke midway: the frames before it were delivered, later ones are missing. */
  readonly error?: string;
  /** ffmpeg's complaints (or a short count) that did not lose frames, at most a few lines. */
  readonly warnings: readonly string[];
}

export interface VideoDecoding {
  readonly path: string;
  readonly probe: VideoProbe;
  /** Frame size as delivered (after rotation). */
  readonly width: number;
  readonly height: number;
  /** The part of each frame its image holds: the whole frame unless a region could be cut exactly. */
  readonly region: Rect;
  /** The frames, in decode order; iterate once. ffmpeg starts on the first `next()` and is killed if the loop stops early. */
  readonly frames: AsyncIterable<DecodedFrame>;
  /** What happened, once the iteration has ended (normally or early); throws before that. */
  summary(): DecodeSummary;
}

const maxStderrChars = 16_384;
const maxWarnings = 5;

/**
 * Probes `path` (a UnitError if it is not a readable video) and returns its frames to iterate.
 * The iteration throws a UnitError with ffmpeg's first error line when no frame at all can be
 * decoded; a video that breaks later ends the iteration normally with `summary().error` set.
 */
export async function decodeVideo(path: string, options: DecodeOptions = {}): Promise<VideoDecoding> {
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`every must be a positive integer, got ${every}`);
  const binaries = await locateFfmpeg();
  const probe = await (options.probe ?? probeVideo(path, { packets: sparseDecodeAllowed(every) }));
  const cut = options.region ? exactRegion(probe, options.region) : undefined;
  let summary: DecodeSummary | undefined;
  let started = false;
  const frames: AsyncIterable<DecodedFrame> = {
    [Symbol.asyncIterator]() {
      if (started) throw new Error(`${path}: the frames of a decodeVideo() result can be iterated only once`);
      started = true;
      return readFrames(path, binaries, probe, every, cut, options, (s) => {
        summary = s;
      });
    },
  };
  return {
    path,
    probe,
    width: probe.width,
    height: probe.height,
    region: cut ?? { x: 0, y: 0, width: probe.width, height: probe.height },
    frames,
    summary() {
      if (summary === undefined) throw new Error(`${path}: summary() called before the frames were iterated to the end`);
      return summary;
    },
  };
}

/**
 * The colour conversion OpenCV 4.6 asks libswscale for: it calls sws_getCachedContext with
 * SWS_BICUBIC and never sets colour details, so YUV is read with the default BT.601 matrix and the
 * range implied by the pixel format (full for yuvj*, limited otherwise), whatever the stream's
 * colour tags say. ffmpeg's scale filter instead honours a tagged stream (e.g. bt709, tv), which
 * changes the RGB of every pixel: pin the matrix and range for YUV formats. For untagged streams
 * this is what the filter does anyway (the output is byte-identical).
 */
export function colourConversionFilter(pixFmt: string): string {
  const range = pixFmt.startsWith('yuvj') ? 'pc' : /^(yuv|nv)/.test(pixFmt) ? 'tv' : undefined;
  return range === undefined ? 'scale=flags=bicubic' : `scale=flags=bicubic:in_color_matrix=bt601:in_range=${range}`;
}

/**
 * Pixel formats whose conversion to RGB gives a pixel the same bytes whether the frame is converted
 * whole, or first cut at even coordinates to an even size (libswscale converts each pixel from its
 * own samples: no position enters). Checked region by region on real and generated videos
 * (test/video/region.test.ts). Not so for higher bit depths: their conversion dithers by position.
 */
const regionExactFormats: ReadonlySet<string> = new Set(['yuv420p', 'yuvj420p', 'yuv422p', 'yuv444p']);

/**
 * The rectangle ffmpeg may cut out of each frame before the colour conversion, holding `wanted`
 * (frame coordinates) with the same pixels as a cut after it: `wanted` widened to even
 * coordinates and size. Undefined, meaning the whole frame, where that is not known to hold (another
 * pixel format, a rotated stream, an odd frame edge in the way) or would not save anything.
 */
export function exactRegion(probe: VideoProbe, wanted: Rect): Rect | undefined {
  if (probe.rotation !== 0 || !regionExactFormats.has(probe.pixFmt)) return undefined;
  const { width, height } = probe;
  // libswscale converts a frame of odd height with its generic scaler, whose chroma depends on the
  // row, and an even cut with its unscaled converter: the bytes differ (found on 64x47 4:2:0).
  if (width % 2 !== 0 || height % 2 !== 0) return undefined;
  if (wanted.width <= 0 || wanted.height <= 0 || wanted.x < 0 || wanted.y < 0 || wanted.x + wanted.width > width || wanted.y + wanted.height > height) {
    return undefined;
  }
  const even = (value: number) => value + (value % 2);
  const x = wanted.x - (wanted.x % 2);
  const y = wanted.y - (wanted.y % 2);
  const right = even(wanted.x + wanted.width);
  const bottom = even(wanted.y + wanted.height);
  if (right > width || bottom > height) return undefined;
  if (right - x === width && bottom - y === height) return undefined;
  return { x, y, width: right - x, height: bottom - y };
}

export interface DecodeCommand {
  readonly every: number;
  /** The output options that keep every decoded frame (FfmpegBinaries.passthroughArgs). */
  readonly passthroughArgs: readonly string[];
  /** The filter that reports a sparse decode's frames (FfmpegBinaries.showinfoFilter); default `showinfo`. */
  readonly showinfo?: string;
  /** The stream's pixel format, which picks the colour conversion. */
  readonly pixFmt: string;
  readonly decoderThreads?: number;
  /** An exactRegion to cut from each frame. */
  readonly region?: Rect;
  /** How many frames to deliver before stopping (after selection). */
  readonly frames?: number;
  /** The stream's frame size as stored (the probe's): every frame is brought to it first. */
  readonly size: { readonly width: number; readonly height: number };
  /**
   * A sparse decode's plan: the input is then its FLV stream on standard input, the frames are
   * selected by the rank their timestamps carry, and showinfo reports each one (at log level info,
   * each line tagged with its level).
   */
  readonly sparse?: SparsePlan;
}

/** The ffmpeg command line (after the program name) that writes the selected frames (or `region` of them) as rgb24 to stdout. */
export function ffmpegDecodeArgs(path: string, command: DecodeCommand): string[] {
  const { every, passthroughArgs, pixFmt, decoderThreads, region, frames, size, sparse, showinfo = 'showinfo' } = command;
  // select's n counts the frames entering the filter graph, i.e. decoded frames, from 0: the frames
  // that come out are byte-identical to the same frames of a full decode (tested), and only they
  // are cut (an exactRegion) and converted to RGB and piped.
  const selection = sparse ? [sparseSelectFilter(sparse), showinfo] : every > 1 ? [`select='not(mod(n\\,${every}))'`] : [];
  const filters = [
    ...selection,
    // A frame of the stream's size passes unchanged; one of another size (a stream whose size
    // changes midway) is scaled back to it here, in YUV, so that a region is cut from the same
    // geometry as the whole frame (docs/exactness.md §2, known difference).
    `scale=${size.width}:${size.height}`,
    ...(region ? [`crop=${region.width}:${region.height}:${region.x}:${region.y}`] : []),
    colourConversionFilter(pixFmt),
  ];
  // A sparse decode keeps the FLV's timestamps (-copyts): they carry each picture's frame number.
  const input = sparse ? ['-copyts', '-f', 'flv', '-i', 'pipe:0'] : ['-i', path];
  return [
    '-nostdin',
    '-hide_banner',
    ...(sparse ? ['-loglevel', 'level+info', '-nostats'] : ['-v', 'error']),
    '-noautorotate',
    // A stream whose parameters change midway (two clips joined) makes ffmpeg rebuild the filters
    // by default, which restarts select's frame count n: keep the one graph (scale copes with it).
    '-reinit_filter',
    '0',
    ...(decoderThreads === undefined ? [] : ['-threads', String(decoderThreads)]),
    ...input,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filters.join(','),
    ...passthroughArgs,
    ...(frames === undefined ? [] : ['-frames:v', String(frames)]),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
}

/** Whether a sparse decode may be tried (DFDC_SPARSE_DECODE=0 turns it off, to compare or to rule it out). */
function sparseDecodeAllowed(every: number): boolean {
  return every > 1 && process.env.DFDC_SPARSE_DECODE !== '0';
}

async function* readFrames(
  path: string,
  binaries: FfmpegBinaries,
  probe: VideoProbe,
  every: number,
  region: Rect | undefined,
  options: DecodeOptions,
  report: (summary: DecodeSummary) => void,
): AsyncGenerator<DecodedFrame> {
  options.signal?.throwIfAborted();
  const threads = options.decoderThreads?.();
  // Frames to deliver when the consumer needs none after lastFrame: delivered k is frame k * every.
  const limit = options.lastFrame === undefined ? undefined : Math.floor(Math.max(0, options.lastFrame) / every) + 1;
  const command: DecodeCommand = {
    every,
    passthroughArgs: binaries.passthroughArgs,
    showinfo: binaries.showinfoFilter,
    pixFmt: probe.pixFmt,
    size: { width: probe.storedWidth, height: probe.storedHeight },
    ...(threads === undefined ? {} : { decoderThreads: threads }),
    ...(region === undefined ? {} : { region }),
    ...(limit === undefined ? {} : { frames: limit }),
  };
  // Frames delivered by a sparse decode; the summary of one the consumer stopped early says how many.
  const sparseProgress = { delivered: 0 };
  let reported = false;
  const reportOnce = (summary: DecodeSummary) => {
    reported = true;
    report(summary);
  };
  try {
    if (sparseDecodeAllowed(every)) {
      const lastFrame = options.lastFrame === undefined ? {} : { lastFrame: options.lastFrame };
      // A file that cannot be read this way is left to the whole decode, which says what is wrong with it.
      const sparse = await prepareSparseDecode(path, probe, { every, ...lastFrame }).catch((error: unknown) => ({ reason: String(error) }));
      if (!('reason' in sparse)) {
        const complete = yield* readSparse(binaries, probe, sparse, { ...command, sparse: sparse.plan }, region, options, sparseProgress);
        if (complete) {
          reportOnce(summaryOf(sparseProgress.delivered, every, probe, true, undefined, []));
          return;
        }
      }
    }
    // Every frame a sparse decode delivered was checked; the whole decode takes over from the next one.
    yield* readWhole(path, binaries, probe, command, region, options, sparseProgress.delivered, reportOnce);
  } finally {
    if (!reported) report(summaryOf(sparseProgress.delivered, every, probe, false, undefined, []));
  }
}

/**
 * How long ffmpeg may go without giving the next frame's bytes while dfdc waits for them
 * (DFDC_STALL_SECONDS, default 300): a decoder caught in a loop by a hostile file, or a read from
 * storage that stopped answering, would otherwise hold a worker, and the run, forever. Between two
 * delivered frames ffmpeg decodes those skipped in between (`--every`): seconds at most on any
 * real video. A consumer that is slow to take frames does not count.
 */
export function stallSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env.DFDC_STALL_SECONDS);
  return Number.isFinite(given) && given > 0 ? given : 300;
}

/** Why a video whose ffmpeg stalled failed, and what to do. */
function stalledMessage(seconds: number): string {
  return `ffmpeg gave no frame for ${seconds} s and was stopped (a decoder stuck on this file, or storage that stopped answering): check that the file can be read (e.g. copy it), re-encode it, or raise DFDC_STALL_SECONDS, then rerun`;
}

/** Whether ffmpeg was stopped for giving no output; `waitingSince` (performance.now()) while dfdc waits for it. */
interface Stall {
  readonly seconds: number;
  stalled: boolean;
  waitingSince: number | undefined;
}

/** ffmpeg decoding to rgb24 on its standard output, with its standard error kept. */
function startFfmpeg(binaries: FfmpegBinaries, args: string[], signal: AbortSignal | undefined, input: boolean) {
  const child = spawn(binaries.ffmpegPath, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: ffmpegEnvironment() });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, spawnError: error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', kill, { once: true });
  // The pipes exist: stdio asked for them.
  const stdout = child.stdout!;
  const stderr = child.stderr!.setEncoding('utf8');
  // Checked a few times per limit rather than timed per read: stdout comes in 64 KB reads, tens
  // of thousands per 1080p video. rawFrames sets waitingSince while it waits for the next read.
  const stall: Stall = { seconds: stallSeconds(), stalled: false, waitingSince: undefined };
  const watchdog = setInterval(
    () => {
      if (stall.waitingSince !== undefined && performance.now() - stall.waitingSince > stall.seconds * 1000) {
        stall.stalled = true;
        kill();
      }
    },
    Math.min(stall.seconds * 250, 10_000),
  ).unref();
  child.once('close', () => clearInterval(watchdog));
  child.once('error', () => clearInterval(watchdog));
  return { stdin: child.stdin, stdout, stderr, exited, kill, stall, release: () => signal?.removeEventListener('abort', kill) };
}

/**
 * The frames of ffmpeg's rgb24 output, `frameBytes` each; `state.filled` holds the bytes of a last
 * frame cut short. After each frame, `reuse()` says whether its buffer may take the next one.
 */
async function* rawFrames(
  stdout: Readable,
  frameBytes: number,
  reuse: () => boolean,
  state: { filled: number },
  stall: Stall,
): AsyncGenerator<Buffer> {
  let frame: Buffer | undefined;
  const chunks = (stdout as Readable & AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      stall.waitingSince = performance.now();
      const next = await chunks.next();
      stall.waitingSince = undefined;
      if (next.done) break;
      const chunk = next.value;
      let offset = 0;
      while (offset < chunk.length) {
        frame ??= Buffer.allocUnsafeSlow(frameBytes);
        const n = Math.min(frameBytes - state.filled, chunk.length - offset);
        chunk.copy(frame, state.filled, offset, offset + n);
        state.filled += n;
        offset += n;
        if (state.filled === frameBytes) {
          const full = frame;
          frame = undefined;
          state.filled = 0;
          yield full;
          if (reuse()) frame = full;
        }
      }
    }
  } finally {
    // As `for await` would: a consumer that stops early closes the pipe.
    await chunks.return?.();
  }
}

/** Bytes of one delivered image: the region, or the whole frame as stored (a region is only cut from unrotated streams). */
function deliveredBytes(probe: VideoProbe, region: Rect | undefined): { width: number; height: number; bytes: number } {
  const width = region?.width ?? probe.storedWidth;
  const height = region?.height ?? probe.storedHeight;
  return { width, height, bytes: width * height * 3 };
}

/**
 * A sparse decode (src/video/sparse-decode.ts): each frame is delivered only once showinfo has
 * said which picture it is and that is the one due; `progress.delivered` counts them. It returns
 * whether it delivered every frame due, cleanly; it stops early, false, on anything else: a frame
 * out of place, a decoder complaint, a short or failed stream. An abort throws.
 */
async function* readSparse(
  binaries: FfmpegBinaries,
  probe: VideoProbe,
  source: SparseSource,
  command: DecodeCommand & { sparse: SparsePlan },
  region: Rect | undefined,
  options: DecodeOptions,
  progress: { delivered: number },
): AsyncGenerator<DecodedFrame, boolean> {
  const { signal } = options;
  const plan = command.sparse;
  const size = deliveredBytes(probe, region);
  const ffmpeg = startFfmpeg(binaries, ffmpegDecodeArgs('pipe:0', command), signal, true);
  const feeding = feed(source.stream(), ffmpeg.stdin!);
  const ranks: number[] = [];
  let complaint = false;
  let stderrOpen = true;
  let wake: (() => void) | undefined;
  let partial = '';
  const onLine = (line: string) => {
    const rank = showinfoRank(line, plan);
    if (rank !== undefined) ranks.push(rank);
    else if (/\[(error|fatal|panic)\]/.test(line)) complaint = true;
  };
  ffmpeg.stderr.on('data', (text: string) => {
    const lines = (partial + text).split(/\r?\n/);
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
    wake?.();
  });
  ffmpeg.stderr.on('close', () => {
    onLine(partial);
    stderrOpen = false;
    wake?.();
  });
  const state = { filled: 0 };
  let inPlace = true;
  let reachedEnd = false;
  try {
    for await (const data of rawFrames(ffmpeg.stdout, size.bytes, () => options.recycleFrames ?? false, state, ffmpeg.stall)) {
      // showinfo writes a frame's line before ffmpeg writes the frame: wait until it has been read.
      const delivered = progress.delivered;
      // The watchdog covers this wait too: a frame whose line never comes is a stall like any other.
      ffmpeg.stall.waitingSince = performance.now();
      while (ranks.length <= delivered && stderrOpen) await new Promise<void>((resolve) => (wake = resolve));
      ffmpeg.stall.waitingSince = undefined;
      const index = delivered * plan.every;
      if (complaint || ranks[delivered] !== index || delivered >= plan.frames) {
        inPlace = false;
        break;
      }
      progress.delivered += 1;
      yield { index, image: rotateClockwise({ width: size.width, height: size.height, data }, probe.rotation) };
      signal?.throwIfAborted();
    }
    reachedEnd = inPlace;
  } finally {
    if (!reachedEnd) ffmpeg.kill();
    const exit = await ffmpeg.exited;
    const fed = await feeding;
    ffmpeg.release();
    if (reachedEnd) {
      const clean = exit.code === 0 && fed && !complaint && state.filled === 0 && ranks.length === progress.delivered;
      reachedEnd = clean && progress.delivered === plan.frames;
    }
  }
  signal?.throwIfAborted();
  return reachedEnd;
}

/**
 * Writes `chunks` to ffmpeg's standard input; whether all of them went. ffmpeg may stop reading
 * (killed, or done), and a broken pipe is then expected, not a failure. The source is closed (its
 * file too) before this returns.
 */
async function feed(chunks: AsyncGenerator<Uint8Array>, stdin: Writable): Promise<boolean> {
  let broken = false;
  stdin.on('error', () => {
    broken = true;
  });
  try {
    for await (const chunk of chunks) {
      if (broken || stdin.destroyed) return false;
      if (!stdin.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stdin.off('drain', done);
            stdin.off('close', done);
            resolve();
          };
          stdin.on('drain', done);
          stdin.on('close', done);
        });
      }
    }
    if (broken || stdin.destroyed) return false;
    stdin.end();
    return true;
  } catch {
    stdin.destroy();
    return false;
  }
}

/**
 * The whole decode: every frame decoded, the selected ones delivered from frame index
 * `from * every` on (the frames before it were delivered by a sparse decode that stopped).
 */
async function* readWhole(
  path: string,
  binaries: FfmpegBinaries,
  probe: VideoProbe,
  command: DecodeCommand,
  region: Rect | undefined,
  options: DecodeOptions,
  from: number,
  report: (summary: DecodeSummary) => void,
): AsyncGenerator<DecodedFrame> {
  const { signal } = options;
  const { every } = command;
  const recycle = options.recycleFrames ?? false;
  const size = deliveredBytes(probe, region);
  const ffmpeg = startFfmpeg(binaries, ffmpegDecodeArgs(path, command), signal, false);
  const { exited } = ffmpeg;
  let stderr = '';
  ffmpeg.stderr.on('data', (text: string) => {
    if (stderr.length < maxStderrChars) stderr += text;
  });

  let delivered = 0;
  let skipped = false;
  const state = { filled: 0 };
  let reachedEnd = false;
  try {
    for await (const data of rawFrames(ffmpeg.stdout, size.bytes, () => recycle || skipped, state, ffmpeg.stall)) {
      const index = delivered * every;
      delivered += 1;
      skipped = delivered <= from;
      if (skipped) continue;
      yield { index, image: rotateClockwise({ width: size.width, height: size.height, data }, probe.rotation) };
      // Frames already in the pipe are not delivered after an abort.
      signal?.throwIfAborted();
    }
    reachedEnd = true;
  } finally {
    ffmpeg.release();
    if (!reachedEnd) {
      ffmpeg.kill();
      await exited;
      report(summaryOf(delivered, every, probe, false, undefined, []));
    }
  }

  const exit = await exited;
  if (signal?.aborted) {
    report(summaryOf(delivered, every, probe, false, undefined, []));
    signal.throwIfAborted();
  }
  /** Ends the decode as the video's failure: `reason` in the summary, `message` (default the reason) in the error. */
  const failWith = (reason: string, message = reason): never => {
    report(summaryOf(delivered, every, probe, true, reason, []));
    throw new UnitError(`${path}: ${message}`, { file: path });
  };
  // Stopped for giving no frame (a sparse decode that stalls hands over to this one, which then stalls too).
  if (ffmpeg.stall.stalled) failWith(`ffmpeg gave no frame for ${ffmpeg.stall.seconds} s`, stalledMessage(ffmpeg.stall.seconds));
  const complaint = firstLine(stderr);
  // ffmpeg was found and answered -version before the run: failing to start it now is the machine's problem.
  if (exit.spawnError !== undefined) throw new FatalError(`cannot run ffmpeg ${binaries.ffmpegPath} (${exit.spawnError.message}): check that the machine has memory and processes to spare, then rerun`);
  if (delivered === 0) {
    const why = exit.signal !== null ? failedChild('ffmpeg', exit.code, exit.signal) : (complaint ?? (exit.code !== 0 ? failedChild('ffmpeg', exit.code, null) : undefined));
    failWith('no frame could be decoded', `no frame could be decoded${why ? ` (${why})` : ''}`);
  }
  // A decoder that crashed (or was killed) says nothing about the video: unlike a file that ends
  // early, whose frames up to the break are what the reference reads too, its frames so far are no
  // outputs. The video fails, so that a rerun decodes it again.
  if (exit.signal !== null) failWith(`decoding stopped after frame ${(delivered - 1) * every}: ${failedChild('ffmpeg', exit.code, exit.signal)}`);
  let error: string | undefined;
  const warnings: string[] = [];
  const because = complaint ?? failedChild('ffmpeg', exit.code, null);
  const lastIndex = (delivered - 1) * every;
  // ffmpeg writes whole frames, also of a file that ends early: a frame cut short means its output
  // was cut (a broken pipe, a wrapper, a crash it did not report), which says nothing about the video.
  if (state.filled > 0) {
    const reason = `ffmpeg's output stopped inside the frame after ${lastIndex} (${because})`;
    failWith(reason, `${reason}: nothing of it is kept; rerun, and if it happens again, use another ffmpeg build (FFMPEG_PATH)`);
  }
  const announced = probe.frameCount === null ? null : Math.ceil(probe.frameCount / every);
  const expected = announced === null || command.frames === undefined ? announced : Math.min(announced, command.frames);
  if (exit.code !== 0) {
    error = `decoding stopped after frame ${lastIndex}: ${because}`;
  } else if (expected !== null && delivered < expected && complaint !== undefined) {
    error = `decoding stopped after frame ${lastIndex} of ${probe.frameCount}: ${complaint}`;
  } else {
    if (expected !== null && delivered < expected) {
      warnings.push(`decoded frames 0..${lastIndex}, the container announces ${probe.frameCount}`);
    }
    for (const line of stderr.split(/\r?\n/).map(cleanLine)) {
      if (line !== '' && warnings.length < maxWarnings && !warnings.includes(line)) warnings.push(line);
    }
  }
  report(summaryOf(delivered, every, probe, true, error, warnings));
}

function summaryOf(
  delivered: number,
  every: number,
  probe: VideoProbe,
  complete: boolean,
  error: string | undefined,
  warnings: readonly string[],
): DecodeSummary {
  return {
    framesDelivered: delivered,
    lastIndex: delivered === 0 ? -1 : (delivered - 1) * every,
    width: probe.width,
    height: probe.height,
    complete,
    ...(error === undefined ? {} : { error }),
    warnings,
  };
}

/**
 * The warning a stage records for a video that did not decode cleanly (it broke midway, or gave
 * fewer frames than its container announces), with what was kept; none for a clean decode.
 */
export function decodeWarning(summary: DecodeSummary, kept: string): { warning?: string } {
  if (summary.error) return { warning: `${summary.error}; ${kept}` };
  if (summary.warnings.length > 0) return { warning: `${summary.warnings.join('; ')}; ${kept}` };
  return {};
}
