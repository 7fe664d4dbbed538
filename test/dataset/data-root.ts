/**
 * Test support for the dataset and folds tests: a throw-away DATA_ROOT built from metadata text, the
 * parity inputs' metadata copied without their videos, and the real CLI run as a child process.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';

export interface PartSpec {
  /** metadata.json: raw text, or a value written as compact JSON. */
  readonly metadata: string | object;
  /** Names of (empty) files to create in the part folder. */
  readonly files?: readonly string[];
}

/** A new temporary folder; remove it with `rm(dir, { recursive: true, force: true })`. */
export function temporaryDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dfdc-dataset-test-'));
}

/** Writes `parts` into `root` (folder name -> contents). */
export async function writeParts(root: string, parts: Readonly<Record<string, PartSpec>>): Promise<void> {
  for (const [name, spec] of Object.entries(parts)) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'metadata.json'), typeof spec.metadata === 'string' ? spec.metadata : JSON.stringify(spec.metadata));
    for (const file of spec.files ?? []) await writeFile(join(dir, file), '');
  }
}

/** Copies each `<input>/<part>/metadata.json` of a parity data set into `root` (no videos). */
export async function copyParityMetadata(inputDir: string, root: string): Promise<void> {
  for (const name of await readdir(inputDir)) {
    await mkdir(join(root, name), { recursive: true });
    await copyFile(join(inputDir, name, 'metadata.json'), join(root, name, 'metadata.json'));
  }
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function inTemporaryDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await temporaryDir();
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr split into lines, without the empty last one. */
  readonly lines: string[];
}

export const cliPath = join(packageRoot, 'dist', 'src', 'cli', 'index.js');

/** Runs the built `dfdc` with `args` in `cwd`, stdin closed, DFDC_ROOT unset. */
export function runDfdc(args: readonly string[], cwd: string): Promise<CliResult> {
  const env = { ...process.env };
  delete env.DFDC_ROOT;
  delete env.DFDC_DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, lines: stderr.split('\n').filter((line) => line !== '') }));
  });
}
