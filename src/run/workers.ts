import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, posix } from 'node:path';

/**
 * How many worker threads (and videos in flight for crops) a run may have: the smallest of the
 * CPUs of the process's affinity, its cgroup CPU quota (v1 and v2), and what its memory limit
 * allows at a worker's measured need. Computed here once; the runner passes the count to every
 * stage (`RunContext.workers`), so no stage asks the machine itself.
 *
 * Two parts: `workerBudget` is pure (the facts as plain data, so tests give it synthetic ones),
 * and `readMachineFacts` gathers the facts from /proc and /sys/fs/cgroup under a root directory
 * (tests point it at a synthetic tree in a temp folder).
 */

const MiB = 2 ** 20;

/**
 * Memory one more worker adds to a run at its peak, in bytes: the worker thread (its TF.js WASM
 * backend and MTCNN with its batch) plus what comes with it in the main thread (one more video in
 * flight: its ffmpeg process and its decoded frames).
 *
 * Measured (Node 20.20, --backend wasm, x64, 2 CPUs, defaults otherwise) with `dfdc detect` on a
 * copy of fixtures/sample and on three 1920x1080 DFDC clips of 300 frames (/work/shared/media/dfdc,
 * symlinked into a DFDC part, `--limit 3`), each run alone in its own cgroup v1 memory group,
 * sampling the summed VmRSS of the group's processes (node and every ffmpeg) every 20 ms, next to
 * the group's memory.max_usage_in_bytes and node's own peak from `/usr/bin/time -v`. Peaks, MiB:
 *
 *                        summed RSS   cgroup   node alone
 *   sample,  --workers 1     394        265       272
 *   sample,  --workers 2     506        373       382
 *   1080p,   --workers 1     821        690       568
 *   1080p,   --workers 2    1132        999       903
 *   1080p,   --workers 3    1457       1284      1100
 *
 * 1080p is the worst case: +311 and +325 MiB a worker summed (+309/+285 in the cgroup, +335/+197
 * for node alone). 384 MiB is the largest of these with about 15% to spare. (Summed RSS counts
 * shared libraries once per ffmpeg, so it errs on the safe side.)
 */
export const WORKER_MEMORY_BYTES = 384 * MiB;

/**
 * Memory a run needs besides its workers, in bytes: Node and the main thread (data set index,
 * pool, outputs) with the two videos detect always has in flight and their ffmpeg processes. From
 * the runs above: 1080p with 1 worker peaked at 821 MiB summed, less 311 for that worker, rounded
 * up. 512 + n x 384 MiB is above every peak measured (1664 for 3 workers against 1457).
 */
export const MAIN_MEMORY_BYTES = 512 * MiB;

/** The facts a budget is made of, as read from the machine (or made up by a test). */
export interface MachineFacts {
  /** CPUs in the process's affinity mask (`Cpus_allowed_list`), or os.availableParallelism(). */
  readonly affinity: number;
  /** The affinity list as written (`0-3,8,10-11`), for the message; absent when not read. */
  readonly affinityList?: string;
  /** cgroup v2 `cpu.max` texts (`max 100000`, `200000 100000`), from the process's cgroup up to the root. */
  readonly cpuMax?: readonly string[];
  /** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` texts, from the process's cgroup up to the root. */
  readonly cfs?: readonly { readonly quota: string; readonly period: string }[];
  /** cgroup v2 `memory.max` texts (`max` or bytes), from the process's cgroup up to the root. */
  readonly memoryMax?: readonly string[];
  /** cgroup v1 `memory.limit_in_bytes` texts, from the process's cgroup up to the root. */
  readonly memoryLimitInBytes?: readonly string[];
  /** Bytes one more worker needs (default WORKER_MEMORY_BYTES). */
  readonly workerBytes?: number;
  /** Bytes the run needs besides its workers (default MAIN_MEMORY_BYTES). */
  readonly mainBytes?: number;
}

export type WorkerLimit = 'affinity' | 'cpu quota' | 'memory limit';

export interface WorkerBudget {
  /** At least 1. */
  readonly workers: number;
  readonly limitedBy: WorkerLimit;
  /** What limits it, in words: `the CPUs this process may use (cgroup quota 2)`. */
  readonly reason: string;
  /** The tightest CPU quota in CPUs (1.5 for `150000 100000`), when there is one. */
  readonly quota?: number;
  /** The tightest memory limit in bytes, when there is one. */
  readonly memoryLimit?: number;
}

/**
 * The number of CPUs in a Linux CPU list (`0-3,8,10-11` -> 7), as in /proc/<pid>/status
 * `Cpus_allowed_list` and cpuset.cpus; undefined when it is not one.
 */
export function countCpuList(list: string): number | undefined {
  const text = list.trim();
  if (text === '') return undefined;
  let count = 0;
  for (const item of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?(?::(\d+)\/(\d+))?$/.exec(item.trim());
    if (!match) return undefined;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) return undefined;
    // The kernel also accepts `0-15:2/4` (used/group) in a list, though it never writes it.
    if (match[3] !== undefined && match[4] !== undefined) {
      const used = Number(match[3]);
      const group = Number(match[4]);
      if (group === 0 || used > group) return undefined;
      for (let cpu = first; cpu <= last; cpu += 1) if ((cpu - first) % group < used) count += 1;
    } else {
      count += last - first + 1;
    }
  }
  return count > 0 ? count : undefined;
}

/** CPUs a cgroup v2 `cpu.max` allows (`200000 100000` -> 2), or undefined for `max` or anything unreadable. */
export function quotaOfCpuMax(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return ratio(quota, period);
}

/** CPUs a cgroup v1 quota allows (`150000`/`100000` -> 1.5), or undefined for -1 (none) or anything unreadable. */
export function quotaOfCfs(quota: string, period: string): number | undefined {
  return ratio(quota.trim(), period.trim());
}

function ratio(quota: string, period: string): number | undefined {
  if (!/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined; // -1: no quota
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

/**
 * Bytes a cgroup memory limit allows, or undefined for none: v2 `max`, and v1's "unlimited", which
 * is the largest page-aligned 64-bit value (9223372036854771712), so anything from 2^62 up.
 */
export function bytesOfMemoryLimit(text: string): number | undefined {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return undefined;
  const bytes = Number(value);
  return bytes > 0 && bytes < 2 ** 62 ? bytes : undefined;
}

function tightest(values: readonly (number | undefined)[]): number | undefined {
  let least: number | undefined;
  for (const value of values) if (value !== undefined && (least === undefined || value < least)) least = value;
  return least;
}

const cpuWord = (n: number): string => `${n} CPU${n === 1 ? '' : 's'}`;
const mib = (bytes: number): string => `${Math.round(bytes / MiB)} MiB`;
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** The budget the facts allow. Pure: no file, no clock, no machine. */
export function workerBudget(facts: MachineFacts): WorkerBudget {
  const affinity = Math.max(1, Math.floor(facts.affinity));
  const quota = tightest([...(facts.cpuMax ?? []).map(quotaOfCpuMax), ...(facts.cfs ?? []).map(({ quota: q, period }) => quotaOfCfs(q, period))]);
  const memoryLimit = tightest([...(facts.memoryMax ?? []), ...(facts.memoryLimitInBytes ?? [])].map(bytesOfMemoryLimit));

  // A quota is rounded UP to whole CPUs, never below 1. The pod the issue is about (and the
  // README's example) asks for 2 CPUs: 2 either way. For a fraction, rounding down wastes what the
  // quota grants (1.9 CPUs would run 1 worker and leave almost half idle), while rounding up only
  // means CFS throttles the run to its quota: it is as fast as the quota allows, no faster and no
  // slower. Memory, the thing that kills a container, is bounded separately below. (The JVM and
  // .NET round up the same way.)
  const byQuota = quota === undefined ? undefined : Math.max(1, Math.ceil(quota - 1e-9));
  const workerBytes = facts.workerBytes ?? WORKER_MEMORY_BYTES;
  const mainBytes = facts.mainBytes ?? MAIN_MEMORY_BYTES;
  const byMemory = memoryLimit === undefined || workerBytes <= 0 ? undefined : Math.max(1, Math.floor((memoryLimit - mainBytes) / workerBytes));

  const cpus = cpuWord(affinity);
  const candidates: { workers: number; limitedBy: WorkerLimit; reason: string }[] = [];
  // In this order, so that on a tie the message names the limit a user set on purpose.
  if (byQuota !== undefined) {
    candidates.push({ workers: byQuota, limitedBy: 'cpu quota', reason: `the CPUs this process may use (cgroup quota ${formatQuota(quota as number)})` });
  }
  if (byMemory !== undefined) {
    candidates.push({
      workers: byMemory,
      limitedBy: 'memory limit',
      reason: `what the memory limit allows (${gib(memoryLimit as number)}: ${mib(mainBytes)} for the run and ${mib(workerBytes)} a worker)`,
    });
  }
  candidates.push({ workers: affinity, limitedBy: 'affinity', reason: `the CPUs this process may use (affinity ${facts.affinityList === undefined ? cpus : `${facts.affinityList.trim()}: ${cpus}`})` });

  let best = candidates[0] as (typeof candidates)[number];
  for (const candidate of candidates) if (candidate.workers < best.workers) best = candidate;
  return { ...best, ...(quota === undefined ? {} : { quota }), ...(memoryLimit === undefined ? {} : { memoryLimit }) };
}

function formatQuota(quota: number): string {
  return Number.isInteger(quota) ? String(quota) : `${Number(quota.toFixed(2))} CPUs`;
}

/**
 * The count for an explicit `--workers N`: N when the budget allows it, else the budget with one
 * warning line (`--workers 1000: capped at 2, the CPUs this process may use (cgroup quota 2)`).
 */
export function capWorkers(requested: number, budget: WorkerBudget): { workers: number; warning?: string } {
  if (requested <= budget.workers) return { workers: requested };
  return { workers: budget.workers, warning: `--workers ${requested}: capped at ${budget.workers}, ${budget.reason}` };
}

// --- reading the machine ----------------------------------------------------------------------

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `/a/b/c` -> [`/a/b/c`, `/a/b`, `/a`, `/`]: a cgroup and its ancestors, whose limits all apply. */
function selfAndAncestors(cgroupPath: string): string[] {
  let path = posix.normalize(`/${cgroupPath.trim()}`);
  // With a cgroup namespace, a process outside it sees `/../..`: nothing of that is under the mount.
  if (path.includes('..')) path = '/';
  const paths = [path];
  while (path !== '/') {
    path = posix.dirname(path);
    paths.push(path);
  }
  return paths;
}

/**
 * The texts of `files` in the cgroup directory `mount + path` and in each of its ancestors, the
 * directories that exist only. Without a cgroup namespace a container sees its own cgroup mounted
 * at the mount point while /proc/self/cgroup names the host's path (`/docker/<id>`), which does not
 * exist under the mount: walking up reaches the mount point, the container's own group.
 */
function limitsUpTo(mount: string, cgroupPath: string, files: readonly string[]): (string | undefined)[][] {
  const found: (string | undefined)[][] = [];
  for (const path of selfAndAncestors(cgroupPath)) {
    const dir = join(mount, path);
    if (!existsSync(dir)) continue;
    found.push(files.map((file) => readText(join(dir, file))));
  }
  return found;
}

/**
 * The facts of this process, read under `root` (default `/`; tests give a synthetic tree):
 * - affinity: `Cpus_allowed_list` of proc/self/status (Node has no sched_getaffinity), else
 *   os.availableParallelism();
 * - cgroup v2 (`0::/path` in proc/self/cgroup): cpu.max and memory.max of sys/fs/cgroup/<path>
 *   and of every ancestor up to sys/fs/cgroup (the tightest applies);
 * - cgroup v1 (`n:cpu,cpuacct:/path`, `n:memory:/path`): cpu.cfs_quota_us, cpu.cfs_period_us and
 *   memory.limit_in_bytes of sys/fs/cgroup/<controllers>/<path> and its ancestors.
 * Both versions are read where present (a hybrid host has both); missing files mean no limit.
 */
export function readMachineFacts(root = '/'): MachineFacts {
  const status = readText(join(root, 'proc/self/status')) ?? '';
  const listLine = /^Cpus_allowed_list:\s*(.*)$/m.exec(status);
  const affinityList = listLine?.[1]?.trim();
  const fromList = affinityList === undefined ? undefined : countCpuList(affinityList);

  const cpuMax: string[] = [];
  const cfs: { quota: string; period: string }[] = [];
  const memoryMax: string[] = [];
  const memoryLimitInBytes: string[] = [];
  const cgroupRoot = join(root, 'sys/fs/cgroup');
  const cgroups = readText(join(root, 'proc/self/cgroup')) ?? '';
  for (const line of cgroups.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllerList = '', path = '/'] = match;
    if (id === '0' && controllerList === '') {
      for (const [max, memory] of limitsUpTo(cgroupRoot, path, ['cpu.max', 'memory.max'])) {
        if (max !== undefined) cpuMax.push(max);
        if (memory !== undefined) memoryMax.push(memory);
      }
      continue;
    }
    const controllers = controllerList.split(',');
    if (controllers.includes('cpu')) {
      // Mounted as `cpu,cpuacct` (with `cpu` a symlink to it) on most distributions, alone on some.
      const mount = [controllerList, 'cpu,cpuacct', 'cpuacct,cpu', 'cpu'].map((name) => join(cgroupRoot, name)).find((dir) => existsSync(dir));
      if (mount !== undefined) {
        for (const [quota, period] of limitsUpTo(mount, path, ['cpu.cfs_quota_us', 'cpu.cfs_period_us'])) {
          if (quota !== undefined && period !== undefined) cfs.push({ quota, period });
        }
      }
    }
    if (controllers.includes('memory')) {
      for (const [limit] of limitsUpTo(join(cgroupRoot, 'memory'), path, ['memory.limit_in_bytes'])) {
        if (limit !== undefined) memoryLimitInBytes.push(limit);
      }
    }
  }

  return {
    affinity: fromList ?? availableParallelism(),
    ...(fromList === undefined || affinityList === undefined ? {} : { affinityList }),
    cpuMax,
    cfs,
    memoryMax,
    memoryLimitInBytes,
  };
}

/** The budget of this process. */
export function machineWorkerBudget(root = '/'): WorkerBudget {
  return workerBudget(readMachineFacts(root));
}

/**
 * The default number of worker threads (and of videos in flight for crops): the smallest of the
 * CPUs of the process's affinity, its cgroup CPU quota, and what its memory limit allows.
 */
export function defaultWorkerCount(): number {
  return machineWorkerBudget().workers;
}

/**
 * The worker count of a run: `--workers N` when given and within the budget, the budget when N is
 * above it (with the one warning line to print), the budget when not given.
 */
export function chooseWorkerCount(requested: number | undefined, budget: WorkerBudget = machineWorkerBudget()): { workers: number; warning?: string } {
  return requested === undefined ? { workers: budget.workers } : capWorkers(requested, budget);
}
