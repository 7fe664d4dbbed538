import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { packageRoot } from '../../src/util/package-root.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { fixturesDir } from '../helpers/shared.js';

/**
 * The package works when installed from its `npm pack` tarball: the tarball carries the built CLI,
 * the MTCNN weights and (through its dependencies) the wasm files and ffmpeg, and the installed
 * `dfdc` runs from a folder that is not this checkout.
 */
const scratch = scratchDir('pack');
const prefix = join(scratch, 'prefix');
const dfdcBin = join(prefix, 'bin', 'dfdc');
let packedFiles: string[] = [];

function npm(args: string[], cwd = packageRoot): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

before(() => {
  // The suite has just built dist/; --ignore-scripts skips the prepack rebuild.
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch])) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const entry = packed[0];
  assert.ok(entry, 'npm pack printed no entry');
  packedFiles = entry.files.map((file) => file.path);
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(scratch, entry.filename)], scratch);
});

test('the tarball carries the CLI and the MTCNN weights, not the tests or fixtures', () => {
  assert.ok(packedFiles.includes('dist/src/cli/index.js'));
  assert.ok(packedFiles.includes('models/mtcnn/mtcnn_model-shard1'), 'weights missing from the tarball');
  assert.ok(packedFiles.includes('models/mtcnn/LICENSE'), 'weights licence missing from the tarball');
  assert.ok(!packedFiles.some((path) => path.startsWith('dist/test/') || path.startsWith('fixtures/')));
});

test('installed dfdc --help lists the commands', () => {
  assert.ok(existsSync(dfdcBin), `${dfdcBin} was not installed`);
  const help = runCli(['--help'], { executable: dfdcBin, cwd: scratch });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: dfdc/);
  assert.match(help.stdout, /folds/);
});

test('installed dfdc folds runs on the fixtures', () => {
  const out = join(scratch, 'folds.csv');
  const run = runCli(['folds', '--root-dir', join(fixturesDir, 'sample'), '--output-dir', join(scratch, 'out'), '--out', 'folds.csv'], { executable: dfdcBin, cwd: scratch });
  assert.equal(run.status, 0, run.stderr);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], 'video,file,label,original,frame,fold');
});

test('installed dfdc faces finds the face with the weights and wasm files from the installed package', () => {
  const image = join(fixturesDir, 'source', 'astronaut-head.png');
  const run = runCli(['faces', image, '--json'], { executable: dfdcBin, cwd: scratch });
  assert.equal(run.status, 0, run.stderr);
  const [result] = JSON.parse(run.stdout) as Array<{ image: string; faces: Array<{ box: number[]; probability: number }> }>;
  assert.equal(result?.image, image);
  assert.equal(result?.faces.length, 1);
  assert.ok((result?.faces[0]?.probability ?? 0) > 0.99);
});
