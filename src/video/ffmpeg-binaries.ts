import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FatalError, messageOf } from '../util/errors.js';

/**
 * The one place that finds ffmpeg and ffprobe. The FFMPEG_PATH / FFPROBE_PATH environment
 * variables come first. Then, for ffmpeg on Linux x64, the static build shipped in the npm package
 * @ffmpeg-installer/ffmpeg (4.1): its RGB frames were checked byte for byte against Debian 12's 5.1
 * (the libraries the reference decoded with) on every frame of 43 clips, it is the same build on
 * every machine, and it starts in a hundredth of a second where Debian's, which loads about 200
 * shared libraries, takes a tenth (paid once per video: about a tenth of the crops stage's CPU);
 * then `ffmpeg` on PATH. Elsewhere, and for ffprobe (asked only about files the in-process probe
 * does not take, where Debian's 5.1 is the sturdier reader), PATH comes first and the npm builds
 * last. Each candidate must answer `-version`. The answer is cached per process.
 */

export type FfmpegSource = 'env' | 'system' | 'npm';

export interface FfmpegBinaries {
  readonly ffmpegPath: string;
  /** Where ffmpeg (the program whose libraries produce the RGB) came from. */
  readonly source: FfmpegSource;
  /** ffmpeg's own version string, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  readonly version: string;
  /** libavutil's major.minor, e.g. [57, 28]; null when `-version` does not list it. */
  readonly libavutil: readonly [number, number] | null;
  /** The output options that keep every decoded frame as is (no frame-rate conversion). */
  readonly passthroughArgs: readonly string[];
  /** The showinfo filter that reports a sparse decode's frames, without its checksums where the build allows. */
  readonly showinfoFilter: string;
}

interface Found {
  readonly path: string;
  readonly source: FfmpegSource;
  readonly versionText: string;
}

const fixMessage =
  'install ffmpeg (e.g. `apt-get install ffmpeg`), or set FFMPEG_PATH and FFPROBE_PATH to working binaries, ' +
  'or reinstall dfdc so that its optional @ffmpeg-installer/@ffprobe-installer binaries are present';

let cached: Promise<FfmpegBinaries> | undefined;
let cachedFfprobe: Promise<string> | undefined;

/**
 * The environment of every ffmpeg and ffprobe dfdc starts. Debian's ffmpeg links OpenBLAS (through
 * libavfilter's dependencies), which starts a thread per CPU it sees when it loads, in every
 * process, though no filter dfdc uses calls it: one thread is enough (on 2 cores it saves about a
 * quarter of a start's system time; on a 64-core node it saves 63 threads per video).
 */
export function ffmpegEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, OPENBLAS_NUM_THREADS: '1' };
}

/**
 * How an ffmpeg or ffprobe child that failed ended, for a video's failure line: its exit code, or
 * the signal that killed it. A crash (SIGSEGV, SIGABRT, ...) is the build's bug on this file (the npm static ffprobe, for
 * one, segfaults on some concatenated MPEG-TS files), so the line says what gets past it.
 */
export function failedChild(program: 'ffmpeg' | 'ffprobe', code: number | null, signal: string | null): string {
  if (signal === null) return `${program} exit code ${code}`;
  // Nothing in dfdc kills a child it still waits for: SIGKILL comes from outside, most often the kernel's out-of-memory killer.
  if (signal === 'SIGKILL') return `${program} was killed (SIGKILL), most often by the kernel when memory runs out: free memory or lower --workers, then rerun`;
  // A stop from outside (a scheduler, a user's kill) is not the build's fault on this file.
  if (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGHUP') return `${program} was stopped by ${signal} from outside dfdc: rerun`;
  const variable = program === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  return `${program} crashed with ${signal} on it: use another ${program} build (${variable}), or re-encode the video`;
}

/** Finds ffmpeg once per process; a FatalError (exit 3) that says how to fix it if it is missing. */
export function locateFfmpeg(): Promise<FfmpegBinaries> {
  cached ??= locate().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/**
 * Finds ffprobe once per process, the first time a file needs it (one the in-process probe does
 * not take): a run over plain MP4 files never starts it, not even for `-version` (a tenth of a
 * second of CPU for Debian's). A FatalError (exit 3) that says how to fix it if it is missing.
 */
export function locateFfprobe(): Promise<string> {
  cachedFfprobe ??= find('ffprobe', 'FFPROBE_PATH', () => npmBinaryPath('@ffprobe-installer/ffprobe'), false).then(
    (found) => found.path,
    (error: unknown) => {
      cachedFfprobe = undefined;
      throw error;
    },
  );
  return cachedFfprobe;
}

/** One line for `--help` and provenance: `ffmpeg 5.1.9-0+deb12u1 from PATH (/usr/bin/ffmpeg)`. */
export function describeFfmpeg(binaries: FfmpegBinaries): string {
  const where = { env: 'FFMPEG_PATH', system: 'PATH', npm: 'the @ffmpeg-installer npm package' }[binaries.source];
  return `ffmpeg ${binaries.version} from ${where} (${binaries.ffmpegPath})`;
}

async function locate(): Promise<FfmpegBinaries> {
  const ffmpeg = await find('ffmpeg', 'FFMPEG_PATH', () => npmBinaryPath('@ffmpeg-installer/ffmpeg'), npmFfmpegFirst());
  const version = parseFfmpegVersion(ffmpeg.versionText);
  const libavutil = parseLibraryVersion(ffmpeg.versionText, 'libavutil');
  return {
    ffmpegPath: ffmpeg.path,
    source: ffmpeg.source,
    version,
    libavutil,
    passthroughArgs: supportsFpsMode(version, libavutil) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'],
    showinfoFilter: showinfoFilter(parseLibraryVersion(ffmpeg.versionText, 'libavfilter')),
  };
}

/**
 * Whether ffmpeg from npm is tried before the one on PATH: on Linux x64, where the npm package's
 * build is the one checked against the reference's libraries (docs/exactness.md §2). The npm
 * packages of other platforms hold other builds, which nobody checked: there the system's comes first.
 */
function npmFfmpegFirst(): boolean {
  return process.platform === 'linux' && process.arch === 'x64';
}

async function find(name: 'ffmpeg' | 'ffprobe', envName: string, npmPath: () => Promise<string | undefined>, npmFirst: boolean): Promise<Found> {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') {
    try {
      return { path: fromEnv, source: 'env', versionText: await versionText(fromEnv) };
    } catch (error) {
      throw new FatalError(`${envName}=${fromEnv} does not run (${messageOf(error)}): point it at a working ${name}, or unset it`);
    }
  }
  const fromSystem = async (): Promise<Found | undefined> => {
    const onPath = searchPath(name);
    if (onPath === undefined) return undefined;
    // A broken system binary (a missing library): the next candidate.
    return versionText(onPath).then((text) => ({ path: onPath, source: 'system' as const, versionText: text }), () => undefined);
  };
  // The npm binary, or the error that kept it from running (undefined when the package has none).
  const fromNpm = async (): Promise<Found | { shipped: string; error: unknown } | undefined> => {
    const shipped = await npmPath();
    if (shipped === undefined) return undefined;
    return versionText(shipped).then((text) => ({ path: shipped, source: 'npm' as const, versionText: text }), (error: unknown) => ({ shipped, error }));
  };
  let npmFailure: { shipped: string; error: unknown } | undefined;
  for (const candidate of npmFirst ? [fromNpm, fromSystem] : [fromSystem, fromNpm]) {
    const found = await candidate();
    if (found === undefined) continue;
    if ('error' in found) npmFailure = found;
    else return found;
  }
  // The npm package's postinstall makes its binary executable by its owner only: a dfdc installed
  // by root and run by another user finds the file but may not run it.
  if (npmFailure && (npmFailure.error as NodeJS.ErrnoException).code === 'EACCES') {
    const { shipped } = npmFailure;
    throw new FatalError(
      `${name} from the npm package is at ${shipped} but this user may not run it: run \`chmod a+x ${shipped}\` as its owner, or install ffmpeg (e.g. \`apt-get install ffmpeg\`), or set ${envName}`,
    );
  }
  throw new FatalError(`${name} not found: ${fixMessage}`);
}

/** The first executable `name` in PATH, as an absolute path. */
function searchPath(name: string): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const file of names) {
      const candidate = join(dir, file);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not there, or not executable
      }
    }
  }
  return undefined;
}

/** The `.path` of an installer package, imported only when needed; undefined when it is absent or has no binary for this platform. */
async function npmBinaryPath(packageName: string): Promise<string | undefined> {
  try {
    const module = (await import(packageName)) as { default?: { path?: unknown }; path?: unknown };
    const path = module.default?.path ?? module.path;
    return typeof path === 'string' ? path : undefined;
  } catch {
    return undefined;
  }
}

function versionText(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-version'], { timeout: 20_000, maxBuffer: 1 << 20, env: ffmpegEnvironment() }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/** `ffmpeg version 5.1.9-0+deb12u1 Copyright ...` -> `5.1.9-0+deb12u1`. */
export function parseFfmpegVersion(text: string): string {
  const match = /^\S+ version (\S+)/m.exec(text);
  return match?.[1] ?? 'unknown';
}

/** `libavutil      57. 28.100 / 57. 28.100` -> [57, 28] for `libavutil`; null when `-version` does not list it. */
export function parseLibraryVersion(text: string, library: 'libavutil' | 'libavfilter'): [number, number] | null {
  const match = new RegExp(`^${library}\\s+(\\d+)\\.\\s*(\\d+)\\.`, 'm').exec(text);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/**
 * showinfo hashes every plane of every frame it reports and computes each plane's mean and
 * deviation (0.13 s of CPU on a 1080p DFDC clip's 30 kept frames, a tenth of its sparse decode);
 * only the frame's time is read. `checksum=0` turns that off; the oldest build known to take it is
 * the npm package's ffmpeg 4.1 snapshot (libavfilter 7.46), so older or unknown builds keep the hashing.
 */
export function showinfoFilter(libavfilter: readonly [number, number] | null): string {
  const knowsChecksum = libavfilter !== null && (libavfilter[0] > 7 || (libavfilter[0] === 7 && libavfilter[1] >= 46));
  return knowsChecksum ? 'showinfo=checksum=0' : 'showinfo';
}

/**
 * `-fps_mode` first shipped in ffmpeg 5.1 (libavutil 57.28); older builds only know `-vsync`, which
 * newer ones still accept but deprecate. Undated git builds are judged by their libavutil.
 */
export function supportsFpsMode(version: string, libavutil: readonly [number, number] | null): boolean {
  if (libavutil !== null) return libavutil[0] > 57 || (libavutil[0] === 57 && libavutil[1] >= 28);
  const release = /^(\d+)\.(\d+)/.exec(version);
  if (release) return Number(release[1]) > 5 || (Number(release[1]) === 5 && Number(release[2]) >= 1);
  return false;
}
