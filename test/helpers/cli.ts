import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { packageRoot } from '../../src/util/package-root.js';

/** Runs the built CLI as a user would; returns its exit code and output. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(packageRoot, 'dist', 'src', 'cli', 'index.js'), ...args], {
    cwd: options.cwd ?? packageRoot,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A temporary folder removed after the test file ends. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dfdc-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copies a folder (e.g. a parity input DATA_ROOT) into a scratch folder, since stages write into it. */
export function copyInto(source: string, destination: string): string {
  cpSync(source, destination, { recursive: true });
  return destination;
}
