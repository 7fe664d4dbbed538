/**
 * A real single-node Slurm cluster for the tests: its own munged (on its own socket, as user munge),
 * slurmctld and slurmd in the foreground as children of the test process, a slurm.conf with free
 * ports and every state, spool and log file in one scratch folder, no accounting and no systemd.
 * Needs root and Debian's `slurm-wlm` and `munge` (.ci/run installs them). `slurmClusterMissing()`
 * says why a cluster cannot be brought up here; `stop()` ends every daemon it started (and any job
 * still queued); if the process ends first (an exception, Ctrl-C, SIGTERM), the daemons are killed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchDir } from './cli.js';

const TOOLS = ['munged', 'munge', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'scontrol', 'scancel'] as const;
type Tool = (typeof TOOLS)[number];
const MUNGE_KEY = '/etc/munge/munge.key';

/** A tool's path: on PATH, or in /usr/sbin or /sbin (where Debian puts the daemons, and a PATH may not look). */
function locate(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function tool(name: Tool): string {
  const path = locate(name);
  if (!path) throw new Error(`${name} not found on PATH nor in /usr/sbin, /sbin`);
  return path;
}

/** Why a Slurm cluster cannot be brought up on this machine, or undefined when it can. */
export function slurmClusterMissing(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `needs root to start munged as user munge and slurmctld/slurmd (running as ${uid === undefined ? 'a non-POSIX user' : `uid ${uid}`})`;
  const absent = TOOLS.filter((name) => locate(name) === undefined);
  if (absent.length > 0) return `${absent.join(', ')} not installed: apt-get install slurm-wlm munge (Debian), as .ci/run does`;
  if (!existsSync(MUNGE_KEY)) return `${MUNGE_KEY} is absent: the munge package makes it on install`;
  if (spawnSync('id', ['-u', 'munge'], { stdio: 'ignore' }).status !== 0) return 'user munge is absent: the munge package makes it on install';
  return undefined;
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface JobTask {
  taskId: number;
  state: string;
  exitCode: string;
}

export class SlurmCluster {
  /** The environment of every Slurm client: the given one, with SLURM_CONF. */
  readonly env: NodeJS.ProcessEnv;
  readonly conf: string;
  /** The node's (and controller's) name: this host's, as slurmd -C gives it. */
  node = '';
  private readonly children: { name: string; child: ChildProcess; log: string }[] = [];
  private readonly jobs: string[] = [];
  private readonly onExit = () => this.killNow();
  /** Ctrl-C or a SIGTERM ends the process without its 'exit' event: the daemons go first, then the signal is raised again. */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killNow();
    this.unhook();
    process.kill(process.pid, signal);
  };

  private constructor(
    readonly dir: string,
    baseEnv: NodeJS.ProcessEnv,
  ) {
    this.conf = join(dir, 'slurm.conf');
    this.env = { ...baseEnv, SLURM_CONF: this.conf };
    // Before scratchDir's hook removes the folders the daemons write in.
    process.prependOnceListener('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /**
   * Starts munged, slurmctld and slurmd with their files in a new scratch folder (removed when the
   * process exits), and waits until the node is idle. `env` is the environment of the Slurm clients,
   * which sbatch exports to the jobs.
   */
  static async start(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<SlurmCluster> {
    const cluster = new SlurmCluster(scratchDir('slurm-cluster'), env);
    try {
      await cluster.bringUp(timeoutMs);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async bringUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const { dir } = this;
    // munged, as user munge, checks that it may reach its socket's folder through every parent
    // (the scratch folder is made 0700; the temporary folder above it is open to all).
    chmodSync(dir, 0o755);
    const mungeDir = join(dir, 'munge');
    mkdirSync(mungeDir);
    const munge = { uid: idOf('-u'), gid: idOf('-g') };
    chownSync(mungeDir, munge.uid, munge.gid);
    chmodSync(mungeDir, 0o755);
    // Its own socket, not /run/munge's: a munged the machine runs already (a systemd host starts one
    // on install) is left alone, and this one ends with the test.
    const socket = join(mungeDir, 'munge.socket');
    this.daemon('munged', ['--foreground', `--socket=${socket}`, `--key-file=${MUNGE_KEY}`, `--pid-file=${join(mungeDir, 'munged.pid')}`, `--seed-file=${join(mungeDir, 'munged.seed')}`, `--log-file=${join(mungeDir, 'munged.log')}`], munge);
    await this.waitFor('munged to answer on its socket', deadline, () => spawnSync(tool('munge'), ['--no-input', `--socket=${socket}`], { stdio: 'ignore' }).status === 0);

    for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub));
    const [ctldPort, slurmdPort] = await freePorts(2);
    // The node as slurmd sees it (CPUs, sockets, memory); its first line only (the second is its uptime).
    const probed = spawnSync(tool('slurmd'), ['-C'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const nodeLine = (probed.stdout ?? '').split('\n')[0]!.trim();
    const name = /^NodeName=(\S+) /.exec(nodeLine)?.[1];
    if (!name) throw new Error(`slurmd -C gave no node line: ${JSON.stringify(probed.stdout)} ${probed.stderr ?? ''}`);
    this.node = name;
    writeFileSync(
      this.conf,
      [
        'ClusterName=dfdctest',
        `SlurmctldHost=${this.node}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${socket}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool')}`,
        `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
        `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/none',
        'MpiDefault=none',
        'MailProg=/bin/true',
        // One CPU per task, so that the tasks of an array share the node instead of queueing for all of it.
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'ReturnToService=2',
        // Finished jobs stay known to scontrol (there is no accounting to ask) for the test's length.
        'MinJobAge=600',
        `${nodeLine} NodeAddr=127.0.0.1 NodeHostname=${this.node} State=UNKNOWN`,
        'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
        '',
      ].join('\n'),
    );
    // -D: in the foreground, as children whose pids this process holds; -c: no state of an earlier cluster.
    this.daemon('slurmctld', ['-D', '-c', '-f', this.conf]);
    this.daemon('slurmd', ['-D', '-f', this.conf]);
    await this.waitFor(`node ${this.node} to be idle in sinfo`, deadline, () => {
      const state = spawnSync(tool('sinfo'), ['-h', '-n', this.node, '-o', '%T'], { env: this.env, encoding: 'utf8' });
      return state.status === 0 && state.stdout.trim() === 'idle';
    });
  }

  /** Starts a daemon in the foreground, its output in log/<name>.out (or the munge folder). */
  private daemon(name: 'munged' | 'slurmctld' | 'slurmd', args: string[], as?: { uid: number; gid: number }): void {
    const log = join(this.dir, name === 'munged' ? 'munge' : 'log', `${name}.out`);
    const fd = openSync(log, 'a');
    if (as) chownSync(log, as.uid, as.gid);
    try {
      const child = spawn(tool(name), args, { env: this.env, stdio: ['ignore', fd, fd], ...(as ?? {}) });
      child.on('error', () => {}); // reported by waitFor, with the log
      this.children.push({ name, child, log });
    } finally {
      closeSync(fd);
    }
  }

  private async waitFor(what: string, deadline: number, ready: () => boolean): Promise<void> {
    while (!ready()) {
      const died = this.children.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
      if (died) throw new Error(`${died.name} stopped (${died.child.exitCode ?? died.child.signalCode}) while waiting for ${what}:\n${this.logs()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${this.logs()}`);
      await sleep(250);
    }
  }

  /** The last lines of every daemon's output, for a failure's message. */
  logs(): string {
    return this.children.map(({ name, log }) => `--- ${name} (${log}):\n${tail(log, 15)}`).join('\n');
  }

  /** Runs a Slurm client (sbatch, squeue, ...) with the cluster's environment. */
  client(program: 'sbatch' | 'squeue' | 'scontrol' | 'scancel', args: readonly string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    const result = spawnSync(tool(program), args, { env: { ...this.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    if (result.error) throw result.error;
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** `sbatch --parsable args...`: the job id. */
  submit(args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
    const result = this.client('sbatch', ['--parsable', ...args], env);
    if (result.status !== 0) throw new Error(`sbatch ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`);
    const id = result.stdout.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new Error(`sbatch gave no job id: ${JSON.stringify(result.stdout)}`);
    this.jobs.push(id);
    return id;
  }

  /**
   * Waits until no task of job `id` is pending or running (squeue -h -j, since there is no
   * accounting), then returns each task's final state and exit code from scontrol.
   */
  async wait(id: string, timeoutMs: number): Promise<JobTask[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const queued = this.client('squeue', ['-h', '-j', id, '-o', '%i %T']);
      // A job slurmctld has forgotten is "Invalid job id": finished too.
      const gone = queued.status !== 0 && /invalid job id/i.test(queued.stderr);
      if (queued.status !== 0 && !gone) throw new Error(`squeue -j ${id} failed (${queued.status}): ${queued.stderr.trim()}\n${this.logs()}`);
      if (gone || queued.stdout.trim() === '') break;
      if (Date.now() > deadline) {
        this.client('scancel', [id]);
        throw new Error(`job ${id} still queued after ${timeoutMs / 1000} s:\n${queued.stdout}\n${this.logs()}`);
      }
      await sleep(500);
    }
    const shown = this.client('scontrol', ['show', 'job', '-o', id]);
    if (shown.status !== 0) throw new Error(`scontrol show job ${id} failed: ${shown.stderr.trim()}`);
    return shown.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => ({
        taskId: Number(/\bArrayTaskId=(\d+)/.exec(line)?.[1] ?? Number.NaN),
        state: /\bJobState=(\S+)/.exec(line)?.[1] ?? '?',
        exitCode: /\bExitCode=(\S+)/.exec(line)?.[1] ?? '?',
      }))
      .sort((a, b) => a.taskId - b.taskId);
  }

  /** Cancels the jobs it submitted that are still queued, then stops every daemon (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.cancelJobs(10_000);
    // slurmd first (its jobs' steps end with it), munged last (the others authenticate through it).
    for (const name of ['slurmd', 'slurmctld', 'munged']) {
      for (const { child } of this.children.filter((entry) => entry.name === name)) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const stopped = await Promise.race([exited.then(() => true), sleep(10_000, false, { ref: false })]);
        if (!stopped) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    }
    this.unhook();
  }

  private unhook(): void {
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }

  /**
   * Cancels the jobs it submitted and waits (blocking: it also serves the 'exit' hook) until none is
   * queued, running or completing, so that no job step outlives the daemons.
   */
  private cancelJobs(timeoutMs: number): void {
    const ctld = this.children.find(({ name }) => name === 'slurmctld')?.child;
    if (this.jobs.length === 0 || !ctld || ctld.exitCode !== null || ctld.signalCode !== null) return;
    try {
      this.client('scancel', this.jobs);
      const deadline = Date.now() + timeoutMs;
      const pause = new Int32Array(new SharedArrayBuffer(4));
      while (Date.now() < deadline && this.client('squeue', ['-h', '-j', this.jobs.join(',')]).stdout.trim() !== '') Atomics.wait(pause, 0, 0, 250);
    } catch {
      // the daemons are stopped whatever happens
    }
  }

  /** The 'exit' hook and the signal handler: the jobs are cancelled, then whatever still runs is killed. */
  private killNow(): void {
    this.cancelJobs(5_000);
    for (const { child } of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function idOf(flag: '-u' | '-g'): number {
  const result = spawnSync('id', [flag, 'munge'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`id ${flag} munge failed: ${result.stderr.trim()}`);
  return Number(result.stdout.trim());
}

/** `count` TCP ports free on this machine now (the OS picks them). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '0.0.0.0', () => resolve((server.address() as { port: number }).port));
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`;
  }
}
