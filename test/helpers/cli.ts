/**
 * The tests' one way to run the CLI and their one temporary-folder helper.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';

/** The built CLI (dist/src/cli/main.cjs, the `dfdc` command); a test that must signal or kill a run spawns it with `cliEnvironment()`. */
export const cliPath = join(packageRoot, 'dist', 'src', 'cli', 'main.cjs');

export interface CliOptions {
  /** Working folder; the package root by default. */
  cwd?: string;
  /** Variables set on top of `cliEnvironment()`'s; `undefined` removes one. */
  env?: NodeJS.ProcessEnv;
  /** An executable to run instead of `node dist/src/cli/main.cjs`, e.g. an installed `bin/dfdc`. */
  executable?: string;
}

export interface CliResult {
  /** Exit code; -1 when the process ended on a signal. */
  status: number;
  stdout: string;
  stderr: string;
  /** stderr split on newlines, without empty lines. */
  lines: string[];
}

/**
 * The environment of a CLI run: this process's, with NO_COLOR=1 and without DFDC_ROOT and
 * DFDC_DEBUG (which would change what a run reads or prints), then `env` on top (where
 * `undefined` removes a variable).
 */
export function cliEnvironment(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete merged.DFDC_ROOT;
  delete merged.DFDC_DEBUG;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/** Runs the built CLI as a user would, stdin closed, and waits for it to end. */
export function runCli(args: readonly string[], options: CliOptions = {}): CliResult {
  const [program, programArgs] = options.executable === undefined ? [process.execPath, [cliPath, ...args]] : [options.executable, [...args]];
  const result = spawnSync(program, programArgs, {
    cwd: options.cwd ?? packageRoot,
    env: cliEnvironment(options.env),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, lines: result.stderr.split('\n').filter((line) => line !== '') };
}

const scratchDirs: string[] = [];
let removalRegistered = false;

/**
 * A new empty temporary folder, removed when the test file's process exits (whether it is made at
 * the top of the file, in a hook or in a test).
 */
export function scratchDir(prefix: string): string {
  if (!removalRegistered) {
    removalRegistered = true;
    process.once('exit', () => {
      for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), `dfdc-${prefix}-`));
  scratchDirs.push(dir);
  return dir;
}

export interface SignalledRun {
  readonly status: number | null;
  /** The signal that ended it, when one did. */
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Whether it was still running `killAfterMs` after the signal, and was killed with SIGKILL. */
  readonly killedHard: boolean;
}

/**
 * Starts the CLI in a child process; once its stderr holds `stop.when`, sends it `stop.signal` (and again
 * `stop.againAfterMs` later, if set), and
 * SIGKILL `stop.killAfterMs` later if it is still running (a scheduler's grace period), and in any
 * case `stop.atMostMs` after it started. Without
 * `stop`, the run goes to its end. Resolves when it has exited.
 */
export function runCliStopped(
  args: readonly string[],
  stop?: { when: string; signal: NodeJS.Signals; killAfterMs?: number; againAfterMs?: number; atMostMs?: number },
): Promise<SignalledRun> {
  const child = spawn(process.execPath, [cliPath, ...args], { env: cliEnvironment(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let signalled = false;
  let killedHard = false;
  const killHard = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killedHard = true;
    child.kill('SIGKILL');
  };
  // A run that never prints `stop.when` (or hangs) must not hang the test process with it.
  if (stop?.atMostMs !== undefined) setTimeout(killHard, stop.atMostMs).unref();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stop && !signalled && stderr.includes(stop.when)) {
      signalled = true;
      child.kill(stop.signal);
      if (stop.againAfterMs !== undefined) setTimeout(() => child.kill(stop.signal), stop.againAfterMs).unref();
      if (stop.killAfterMs !== undefined) {
        setTimeout(killHard, stop.killAfterMs).unref();
      }
    }
  });
  return new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, stderr, killedHard })));
}
