import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/util/package-root.js';

/**
 * Timing a command as a user runs it: a separate process, its wall time, the CPU time of its whole
 * process tree, and its peak memory.
 *
 * CPU time comes from this process's `cutime`/`cstime` in /proc/self/stat, read before and after a
 * synchronous spawn: the kernel adds a child's CPU time, and that of every descendant it waited for
 * (dfdc's ffmpeg processes, the reference's Python pool workers), to its parent when the parent
 * reaps it. On a machine shared with other work, CPU seconds move much less than wall seconds, so
 * they are the steadier figure for the cost model.
 */

/**
 * Clock ticks per second of /proc's times: USER_HZ, which Linux fixes at 100 on every architecture
 * Node supports (it is part of the user ABI; `getconf CLK_TCK` prints it). Node cannot ask sysconf.
 */
const USER_HZ = 100;

/**
 * The children's CPU ticks in a /proc/<pid>/stat text: fields 16 (cutime) and 17 (cstime). The
 * command name (field 2) is in parentheses and may itself hold spaces and parentheses, so fields
 * are counted from the last `)`.
 */
export function parseChildrenCpuTicks(stat: string): { user: number; system: number } | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After the `)`: field 3 (state) is at index 0, so field n is at index n - 3.
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const user = Number(fields[16 - 3]);
  const system = Number(fields[17 - 3]);
  if (!Number.isInteger(user) || !Number.isInteger(system) || user < 0 || system < 0) return undefined;
  return { user, system };
}

/** CPU seconds of this process's reaped children so far, or undefined where /proc is absent. */
function childrenCpuSeconds(): number | undefined {
  try {
    const ticks = parseChildrenCpuTicks(readFileSync('/proc/self/stat', 'utf8'));
    return ticks === undefined ? undefined : (ticks.user + ticks.system) / USER_HZ;
  } catch {
    return undefined;
  }
}

export interface Timed {
  /** Wall seconds, spawn to exit. */
  seconds: number;
  /** User + system CPU seconds of the process and every descendant it waited for. */
  cpuSeconds?: number;
  exitCode: number;
}

const round2 = (value: number): number => Number(value.toFixed(2));

/**
 * Runs `file args` to completion with its output in a log file (the reference's progress bars
 * would fill a pipe), and returns its times; on failure the log's tail goes to stderr.
 */
export function timeProcess(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; label: string }): Timed {
  const logDir = mkdtempSync(join(tmpdir(), 'dfdc-bench-log-'));
  const logPath = join(logDir, 'output.log');
  const log = openSync(logPath, 'w');
  try {
    const cpuBefore = childrenCpuSeconds();
    const start = process.hrtime.bigint();
    const result = spawnSync(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', log, log] });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpuAfter = childrenCpuSeconds();
    const exitCode = result.status ?? -1;
    if (exitCode !== 0) {
      const tail = readFileSync(logPath, 'utf8').slice(-2000);
      process.stderr.write(`bench: ${options.label} exited ${exitCode}${result.error ? ` (${result.error.message})` : ''}:\n${tail}\n`);
    }
    return {
      seconds: round2(seconds),
      ...(cpuBefore === undefined || cpuAfter === undefined ? {} : { cpuSeconds: round2(cpuAfter - cpuBefore) }),
      exitCode,
    };
  } finally {
    closeSync(log);
    rmSync(logDir, { recursive: true, force: true });
  }
}

export interface DfdcTimed extends Timed {
  /** Peak resident memory of the dfdc (node) process, worker threads included, ffmpeg not. */
  peakRssMb?: number;
}

// The `dfdc` command itself (its entry sizes libuv's thread pool), as users run it.
const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.cjs');
const rusageHook = pathToFileURL(join(packageRoot, 'dist', 'bench', '_rusage-hook.js')).href;

/** `dfdc <args> --quiet` as a separate process, with the peak RSS the rusage hook records at its exit. */
export function timeDfdc(args: readonly string[]): DfdcTimed {
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-rusage-'));
  const rusage = join(dir, 'rusage.json');
  try {
    process.stderr.write(`bench:   dfdc ${args.join(' ')}\n`);
    const timed = timeProcess(process.execPath, ['--import', rusageHook, cli, ...args, '--quiet'], {
      env: { ...process.env, DFDC_BENCH_RUSAGE: rusage },
      label: `dfdc ${args[0]}`,
    });
    if (!existsSync(rusage)) return timed;
    const { maxRssKb } = JSON.parse(readFileSync(rusage, 'utf8')) as { maxRssKb: number };
    return { ...timed, peakRssMb: Math.round(maxRssKb / 1024) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** reference seconds / dfdc seconds, two decimals: above 1, dfdc is faster. */
export function speedRatio(referenceSeconds: number | undefined, dfdcSeconds: number | undefined): number | undefined {
  if (referenceSeconds === undefined || dfdcSeconds === undefined || !(dfdcSeconds > 0)) return undefined;
  return round2(referenceSeconds / dfdcSeconds);
}

export interface DecodeFloor {
  /** What was run for each video. */
  command: string;
  videos: number;
  /** Sum over the videos of one single-threaded decode each, wall seconds. */
  singleThreadSeconds: number;
  /** The same decodes' CPU seconds: on a machine shared with other work, wall seconds include waiting for a core, CPU seconds do not. */
  cpuSeconds?: number;
  cores: number;
  /** singleThreadSeconds / cores: no crops run on these cores can be faster than decoding its videos once. */
  seconds: number;
}

/**
 * The decode floor of a set of videos: each decoded once to RGB by one ffmpeg thread and thrown
 * away, timed one after another, summed, and divided by the cores this process may use (the best
 * any tool spreading whole videos over those cores could do).
 */
export function decodeFloor(ffmpegPath: string, videos: readonly string[], cores: number): DecodeFloor {
  let total = 0;
  let cpu: number | undefined = 0;
  for (const video of videos) {
    const timed = timeProcess(ffmpegPath, ['-nostdin', '-threads', '1', '-i', video, '-pix_fmt', 'rgb24', '-f', 'null', '-'], { label: `ffmpeg decode of ${video}` });
    total += timed.seconds;
    cpu = cpu === undefined || timed.cpuSeconds === undefined ? undefined : cpu + timed.cpuSeconds;
  }
  return {
    command: 'ffmpeg -nostdin -threads 1 -i VIDEO -pix_fmt rgb24 -f null -',
    videos: videos.length,
    singleThreadSeconds: round2(total),
    ...(cpu === undefined ? {} : { cpuSeconds: round2(cpu) }),
    cores,
    seconds: round2(total / cores),
  };
}
