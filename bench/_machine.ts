import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { resolveBackend } from '../src/mtcnn/engine.js';
import { nativeEngineStatus } from '../src/mtcnn/native-nets.js';
import { machineWorkerBudget, readMachineFacts } from '../src/run/workers.js';
import { describeFfmpeg, locateFfmpeg } from '../src/video/ffmpeg-binaries.js';
import { packageRoot } from '../src/util/package-root.js';

/**
 * The machine a benchmark ran on, printed beside every figure: dfdc's speed depends on the CPU's
 * vector instructions (the native MTCNN engine uses AVX2/AVX-512/NEON, WebAssembly SIMD is 128-bit
 * whatever the CPU), on the cores this process may use (not the cores the machine has), and on the
 * ffmpeg that decodes. A figure without these cannot be compared with another.
 *
 * `parseCpuInfo` is pure (tests give it sample /proc/cpuinfo texts); `describeMachine` reads this
 * machine.
 */

/** x86 flags worth naming, in the order of the instruction sets' arrival. */
export const X86_SIMD_FLAGS = [
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_tile',
] as const;

/** Arm `Features` worth naming: Advanced SIMD (`asimd` on 64-bit, `neon` on 32-bit), its dot product, SVE. */
export const ARM_SIMD_FEATURES = ['neon', 'asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2'] as const;

/**
 * Arm cores by `CPU implementer` and `CPU part` (the MIDR fields the kernel prints), for the server
 * and board CPUs a run is likely to meet. Unknown pairs are printed as numbers.
 */
const ARM_IMPLEMENTERS: Record<string, string> = { '0x41': 'Arm', '0x61': 'Apple', '0xc0': 'Ampere', '0x51': 'Qualcomm', '0x48': 'HiSilicon' };
const ARM_PARTS: Record<string, string> = {
  '0x41:0xd03': 'Cortex-A53',
  '0x41:0xd08': 'Cortex-A72',
  '0x41:0xd0b': 'Cortex-A76',
  '0x41:0xd0c': 'Neoverse-N1',
  '0x41:0xd40': 'Neoverse-V1',
  '0x41:0xd49': 'Neoverse-N2',
  '0x41:0xd4f': 'Neoverse-V2',
  '0x41:0xd84': 'Neoverse-V3',
  '0xc0:0xac3': 'AmpereOne',
  '0x48:0xd01': 'Kunpeng-920',
};

export interface CpuInfo {
  /** `AMD EPYC 7B13`, `Arm Neoverse-N1`, or `unknown`. */
  readonly model: string;
  readonly architecture: 'x86' | 'arm' | 'unknown';
  /** x86 only: `family 25 model 1 stepping 1` (a virtual machine often hides the model name's number; these still say the generation). */
  readonly cpuid?: string;
  /** The SIMD extensions found, in X86_SIMD_FLAGS / ARM_SIMD_FEATURES order. */
  readonly simd: readonly string[];
  /** Processor entries in the text: the CPUs online, not the ones this process may use. */
  readonly logicalCpus: number;
  /** x86 `hypervisor` flag: a virtual machine, whose neighbours may share its cores. */
  readonly virtualised: boolean;
}

/**
 * `key: value` fields, keys lower-cased, the first occurrence of each: the first processor's (the
 * kernel lists the same model and flags for each), and machine-wide ones that some Arm kernels
 * print once after all processors (`Hardware`).
 */
function cpuinfoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  return fields;
}

/** What a /proc/cpuinfo text says about the CPU. */
export function parseCpuInfo(text: string): CpuInfo {
  const fields = cpuinfoFields(text);
  const logicalCpus = (text.match(/^processor\s*:/gm) ?? []).length;
  const flags = fields.get('flags');
  if (flags !== undefined) {
    const set = new Set(flags.split(/\s+/));
    const family = fields.get('cpu family');
    const model = fields.get('model');
    const stepping = fields.get('stepping');
    return {
      model: fields.get('model name') ?? 'unknown',
      architecture: 'x86',
      ...(family !== undefined && model !== undefined ? { cpuid: `family ${family} model ${model}${stepping === undefined ? '' : ` stepping ${stepping}`}` } : {}),
      simd: X86_SIMD_FLAGS.filter((flag) => set.has(flag)),
      logicalCpus,
      virtualised: set.has('hypervisor'),
    };
  }
  const features = fields.get('features');
  if (features !== undefined) {
    const set = new Set(features.split(/\s+/));
    const implementer = fields.get('cpu implementer')?.toLowerCase();
    const part = fields.get('cpu part')?.toLowerCase();
    let byParts: string | undefined;
    if (implementer !== undefined && part !== undefined) {
      const vendor = ARM_IMPLEMENTERS[implementer] ?? `implementer ${implementer}`;
      byParts = `${vendor} ${ARM_PARTS[`${implementer}:${part}`] ?? `part ${part}`}`;
    }
    // 32-bit kernels print a `model name` (`ARMv7 Processor rev 4 (v7l)`) that says less than the part.
    return {
      model: byParts ?? fields.get('model name') ?? fields.get('hardware') ?? 'unknown',
      architecture: 'arm',
      simd: ARM_SIMD_FEATURES.filter((feature) => set.has(feature)),
      logicalCpus,
      virtualised: false,
    };
  }
  return { model: fields.get('model name') ?? 'unknown', architecture: 'unknown', simd: [], logicalCpus, virtualised: false };
}

export interface Machine {
  /** One line: `AMD EPYC (family 25 model 1 stepping 1), 2 of 2 CPUs allowed, avx2 fma ...`. */
  readonly summary: string;
  readonly cpu: CpuInfo;
  readonly cores: {
    /** CPUs the machine has online. */
    readonly online: number;
    /** CPUs this process may run on: its affinity, and its cgroup quota when that is tighter (may be fractional). */
    readonly allowed: number;
    readonly affinity: number;
    readonly quota?: number;
    /** What dfdc runs with when --workers is not given (src/run/workers.ts), and why. */
    readonly defaultWorkers: number;
    readonly defaultWorkersReason: string;
  };
  readonly memory: {
    readonly totalMb: number;
    /** The cgroup memory limit, when there is one below the total. */
    readonly allowedMb: number;
    readonly freeMb: number;
  };
  /** 1, 5 and 15 minute load averages when the benchmark started: above `cores.allowed`, the figures include waiting for others. */
  readonly loadAverage: readonly number[];
  readonly node: string;
  readonly platform: string;
  readonly ffmpeg: string;
  /** What `--backend auto` resolves to here, with the engine's own description. */
  readonly mtcnnBackend: string;
  /** The commit of the dfdc measured (with `+changes` when the work tree differs), when it is a git checkout. */
  readonly dfdcCommit?: string;
}

const MiB = 2 ** 20;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['-C', packageRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', packageRoot, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? head : `${head}+changes`;
  } catch {
    return undefined;
  }
}

/** Cores this process may use: affinity, or the cgroup quota when it is tighter. */
export function allowedCores(affinity: number, quota: number | undefined): number {
  return quota === undefined ? affinity : Math.min(affinity, quota);
}

type StaticPart = Omit<Machine, 'loadAverage' | 'memory'> & { memory: Omit<Machine['memory'], 'freeMb'> };
let staticPart: Promise<StaticPart> | undefined;

async function readStaticPart(): Promise<StaticPart> {
  const cpuinfo = readText('/proc/cpuinfo');
  const cpu: CpuInfo = cpuinfo === undefined ? { model: cpus()[0]?.model ?? 'unknown', architecture: 'unknown', simd: [], logicalCpus: cpus().length, virtualised: false } : parseCpuInfo(cpuinfo);
  const facts = readMachineFacts();
  const budget = machineWorkerBudget();
  const allowed = allowedCores(facts.affinity, budget.quota);
  const totalMb = Math.round(totalmem() / MiB);
  const allowedMb = budget.memoryLimit === undefined ? totalMb : Math.min(totalMb, Math.round(budget.memoryLimit / MiB));

  let ffmpeg: string;
  try {
    ffmpeg = describeFfmpeg(await locateFfmpeg());
  } catch (error) {
    ffmpeg = `none (${error instanceof Error ? error.message : String(error)})`;
  }
  const backend = await resolveBackend('auto');
  const status = await nativeEngineStatus();
  const mtcnnBackend = backend === 'native' ? `native: ${status.description}` : `${backend} (native engine unavailable: ${status.reason})`;
  const commit = gitCommit();

  const model = `${cpu.model}${cpu.cpuid === undefined ? '' : ` (${cpu.cpuid})`}`;
  const summary = `${model}${cpu.virtualised ? ', virtualised' : ''}; ${allowed} of ${cpu.logicalCpus || cpus().length} CPUs allowed; SIMD ${cpu.simd.join(' ') || 'none found'}; MTCNN ${backend}`;
  return {
    summary,
    cpu,
    cores: {
      online: cpus().length,
      allowed,
      affinity: facts.affinity,
      ...(budget.quota === undefined ? {} : { quota: budget.quota }),
      defaultWorkers: budget.workers,
      defaultWorkersReason: budget.reason,
    },
    memory: { totalMb, allowedMb },
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    ffmpeg,
    mtcnnBackend,
    ...(commit === undefined ? {} : { dfdcCommit: commit }),
  };
}

/** This machine, now (the load average and free memory are read at each call; the rest once per process). */
export async function describeMachine(): Promise<Machine> {
  staticPart ??= readStaticPart();
  const fixed = await staticPart;
  return {
    ...fixed,
    memory: { ...fixed.memory, freeMb: Math.round(freemem() / MiB) },
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
  };
}
