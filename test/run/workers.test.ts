import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAIN_MEMORY_BYTES,
  WORKER_MEMORY_BYTES,
  capWorkers,
  chooseWorkerCount,
  countCpuList,
  defaultWorkerCount,
  machineWorkerBudget,
  readMachineFacts,
  workerBudget,
} from '../../src/run/workers.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** cgroup v1's "no limit" in memory.limit_in_bytes: the largest page-aligned 64-bit value. */
const V1_UNLIMITED = '9223372036854771712';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A synthetic machine: files (relative to the root) and their texts, in a fresh temp folder. */
function machine(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'dfdc-cgroup-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const status = (list: string): string => `Name:\tnode\nThreads:\t11\nCpus_allowed:\tffffffff,ffffffff\nCpus_allowed_list:\t${list}\nMems_allowed_list:\t0\n`;

test('CPU lists as the kernel writes them', () => {
  assert.equal(countCpuList('0-3,8,10-11'), 7);
  assert.equal(countCpuList('0'), 1);
  assert.equal(countCpuList('0-63'), 64);
  assert.equal(countCpuList('5,7'), 2);
  assert.equal(countCpuList('0-15:2/4'), 8); // used/group form: 0,1,4,5,8,9,12,13
  assert.equal(countCpuList(''), undefined);
  assert.equal(countCpuList('3-1'), undefined);
  assert.equal(countCpuList('zero'), undefined);
});

test('cgroup v2: a 2-CPU pod on a 64-core node gets 2 workers, named by its quota', () => {
  const root = machine({
    'proc/self/status': status('0-63'),
    'proc/self/cgroup': '0::/kubepods.slice/pod1/cri-abc\n',
    'sys/fs/cgroup/kubepods.slice/pod1/cri-abc/cpu.max': '200000 100000\n',
    'sys/fs/cgroup/kubepods.slice/pod1/cri-abc/memory.max': 'max\n',
    'sys/fs/cgroup/kubepods.slice/cpu.max': 'max 100000\n',
  });
  const facts = readMachineFacts(root);
  assert.equal(facts.affinity, 64);
  const budget = workerBudget(facts);
  assert.equal(budget.workers, 2);
  assert.equal(budget.limitedBy, 'cpu quota');
  assert.equal(budget.quota, 2);
  assert.equal(capWorkers(1000, budget).warning, '--workers 1000: capped at 2, the CPUs this process may use (cgroup quota 2)');
});

test('cgroup v2: a parent tighter than the process\'s own group wins; `max` everywhere is no quota', () => {
  const nested = machine({
    'proc/self/status': status('0-31'),
    'proc/self/cgroup': '0::/a/b/c\n',
    'sys/fs/cgroup/a/b/c/cpu.max': '800000 100000\n',
    'sys/fs/cgroup/a/b/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/a/cpu.max': '300000 100000\n',
    'sys/fs/cgroup/a/b/c/memory.max': 'max\n',
    'sys/fs/cgroup/a/memory.max': String(64 * GiB),
  });
  const budget = workerBudget(readMachineFacts(nested));
  assert.equal(budget.quota, 3);
  assert.equal(budget.workers, 3);

  const unlimited = machine({
    'proc/self/status': status('0-3,8,10-11'),
    'proc/self/cgroup': '0::/user.slice\n',
    'sys/fs/cgroup/user.slice/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/user.slice/memory.max': 'max\n',
  });
  const free = workerBudget(readMachineFacts(unlimited));
  assert.equal(free.workers, 7);
  assert.equal(free.limitedBy, 'affinity');
  assert.equal(free.quota, undefined);
  assert.equal(free.memoryLimit, undefined);
  assert.equal(capWorkers(8, free).warning, '--workers 8: capped at 7, the CPUs this process may use (affinity 0-3,8,10-11: 7 CPUs)');
});

test('a fractional quota rounds up, and no quota gives less than 1 worker', () => {
  const facts = (cpuMax: string) => ({ affinity: 16, cpuMax: [cpuMax], workerBytes: 100 * MiB, mainBytes: 100 * MiB });
  assert.equal(workerBudget(facts('150000 100000')).workers, 2);
  assert.equal(workerBudget(facts('150000 100000')).quota, 1.5);
  assert.equal(capWorkers(4, workerBudget(facts('150000 100000'))).warning, '--workers 4: capped at 2, the CPUs this process may use (cgroup quota 1.5 CPUs)');
  assert.equal(workerBudget(facts('50000 100000')).workers, 1);
  assert.equal(workerBudget(facts('1000 100000')).workers, 1);
  assert.equal(workerBudget(facts('200000 100000')).workers, 2); // exactly 2: not 3
  assert.equal(workerBudget(facts('1600000 100000')).workers, 16);
  assert.equal(workerBudget(facts('max')).workers, 16);
  assert.equal(workerBudget(facts('garbage')).workers, 16);
});

test('cgroup v1: cpu,cpuacct quota and memory limit, with the host path of a container without a cgroup namespace', () => {
  // Docker without a cgroup namespace: /proc/self/cgroup names /docker/<id>, but the container's
  // own group is what is mounted at /sys/fs/cgroup/<controller>.
  const root = machine({
    'proc/self/status': status('0-63'),
    'proc/self/cgroup': '12:memory:/docker/0123abcd\n4:cpu,cpuacct:/docker/0123abcd\n1:name=systemd:/docker/0123abcd\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '400000\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/memory/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
  });
  const facts = readMachineFacts(root);
  assert.deepEqual(facts.cfs, [{ quota: '400000\n', period: '100000\n' }]);
  const budget = workerBudget(facts);
  assert.equal(budget.workers, 4);
  assert.equal(budget.limitedBy, 'cpu quota');
  assert.equal(budget.memoryLimit, undefined); // v1's "unlimited" is no limit
});

test('cgroup v1: -1 is no quota; a nested group under a tighter parent; cpu mounted alone', () => {
  const root = machine({
    'proc/self/status': status('0-15'),
    'proc/self/cgroup': '3:cpuacct:/batch/job7\n2:cpu:/batch/job7\n1:memory:/batch/job7\n',
    'sys/fs/cgroup/cpu/batch/job7/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu/batch/job7/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/cpu/batch/cpu.cfs_quota_us': '500000\n',
    'sys/fs/cgroup/cpu/batch/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
    'sys/fs/cgroup/memory/batch/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
  });
  const budget = workerBudget(readMachineFacts(root));
  assert.equal(budget.quota, 5);
  assert.equal(budget.workers, 5);
});

test('cgroup v1: the controller list as /proc writes it need not be the mount\'s name', () => {
  // Older kernels list `cpuacct,cpu` while the mount is named cpu,cpuacct (with a `cpu` symlink).
  const root = machine({
    'proc/self/status': status('0-63'),
    'proc/self/cgroup': '3:cpuacct,cpu:/slurm/job_42\n',
    'sys/fs/cgroup/cpu,cpuacct/slurm/job_42/cpu.cfs_quota_us': '250000\n',
    'sys/fs/cgroup/cpu,cpuacct/slurm/job_42/cpu.cfs_period_us': '100000\n',
  });
  const budget = workerBudget(readMachineFacts(root));
  assert.equal(budget.quota, 2.5);
  assert.equal(budget.workers, 3);
});

test('the memory limit divided by a worker\'s need, after the run\'s own, when it is the tightest', () => {
  const v1 = machine({
    'proc/self/status': status('0-63'),
    'proc/self/cgroup': '4:memory:/kubepods/pod9/ctr\n3:cpu,cpuacct:/kubepods/pod9/ctr\n',
    'sys/fs/cgroup/cpu,cpuacct/kubepods/pod9/ctr/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu,cpuacct/kubepods/pod9/ctr/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/memory/kubepods/pod9/ctr/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
    'sys/fs/cgroup/memory/kubepods/pod9/memory.limit_in_bytes': `${2 * GiB}\n`,
  });
  const facts = { ...readMachineFacts(v1), workerBytes: 500 * MiB, mainBytes: 300 * MiB };
  const budget = workerBudget(facts);
  assert.equal(budget.memoryLimit, 2 * GiB);
  assert.equal(budget.workers, 3); // (2048 - 300) / 500 = 3.5
  assert.equal(budget.limitedBy, 'memory limit');
  assert.equal(capWorkers(64, budget).warning, '--workers 64: capped at 3, what the memory limit allows (2.0 GiB: 300 MiB for the run and 500 MiB a worker)');

  const v2 = machine({
    'proc/self/status': status('0-7'),
    'proc/self/cgroup': '0::/job\n',
    'sys/fs/cgroup/job/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/job/memory.max': `${1 * GiB}\n`,
  });
  // Less than one worker's worth is still one worker: the run goes on, slower.
  const tiny = workerBudget({ ...readMachineFacts(v2), workerBytes: 2 * GiB, mainBytes: 300 * MiB });
  assert.equal(tiny.workers, 1);
  assert.equal(tiny.limitedBy, 'memory limit');
});

test('the measured figures: a README-sized pod (2 CPU, 2 GiB) is held to its CPUs, not to 64 cores', () => {
  assert.ok(WORKER_MEMORY_BYTES > 50 * MiB && WORKER_MEMORY_BYTES < 2 * GiB, `WORKER_MEMORY_BYTES ${WORKER_MEMORY_BYTES}`);
  assert.ok(MAIN_MEMORY_BYTES > 50 * MiB && MAIN_MEMORY_BYTES < 2 * GiB, `MAIN_MEMORY_BYTES ${MAIN_MEMORY_BYTES}`);
  const pod = { affinity: 64, cpuMax: ['200000 100000'], memoryMax: [String(2 * GiB)] };
  const budget = workerBudget(pod);
  assert.ok(budget.workers <= 2 && budget.workers >= 1, `workers ${budget.workers}`);
  // And the memory term alone never allows more than fits.
  const memoryOnly = workerBudget({ affinity: 64, memoryMax: [String(2 * GiB)] });
  assert.ok(MAIN_MEMORY_BYTES + memoryOnly.workers * WORKER_MEMORY_BYTES <= 2 * GiB || memoryOnly.workers === 1);
  assert.equal(memoryOnly.limitedBy, 'memory limit');
});

test('a hybrid host: the v2 line without controllers adds nothing, the v1 controllers count', () => {
  // As on this project's build machine: every controller on v1, the unified tree mounted apart.
  const root = machine({
    'proc/self/status': status('0-1'),
    'proc/self/cgroup': '4:memory:/process_api/abc\n1:cpu:/\n0::/\n',
    'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/memory/memory.limit_in_bytes': `${V1_UNLIMITED}\n`,
    'sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': `${8 * GiB}\n`,
    'sys/fs/cgroup/unified/cgroup.procs': '',
  });
  const facts = readMachineFacts(root);
  assert.deepEqual(facts.cpuMax, []);
  assert.equal(workerBudget(facts).workers, 2);
  assert.equal(workerBudget(facts).limitedBy, 'affinity');
  assert.equal(workerBudget(facts).memoryLimit, 8 * GiB);
});

test('no /proc, no cgroup: os.availableParallelism()', () => {
  const root = machine({});
  const facts = readMachineFacts(root);
  assert.equal(facts.affinity, availableParallelism());
  assert.equal(workerBudget(facts).workers, availableParallelism());
  assert.equal(workerBudget(facts).limitedBy, 'affinity');
});

test('an explicit --workers at or under the budget is kept without a word; above it, capped with one line', () => {
  const budget = workerBudget({ affinity: 64, cfs: [{ quota: '200000', period: '100000' }] });
  assert.deepEqual(capWorkers(1, budget), { workers: 1 });
  assert.deepEqual(capWorkers(2, budget), { workers: 2 });
  const capped = capWorkers(1000, budget);
  assert.equal(capped.workers, 2);
  assert.equal(capped.warning, '--workers 1000: capped at 2, the CPUs this process may use (cgroup quota 2)');
  assert.equal(capped.warning?.includes('\n'), false);
  assert.deepEqual(chooseWorkerCount(undefined, budget), { workers: 2 });
  assert.deepEqual(chooseWorkerCount(1000, budget), capped);
});

test('on this machine: the default is the budget, at least 1 and at most the cores', () => {
  const budget = machineWorkerBudget();
  assert.equal(defaultWorkerCount(), budget.workers);
  assert.ok(budget.workers >= 1 && budget.workers <= availableParallelism());
});
