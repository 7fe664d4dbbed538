import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { packageRoot } from '../../src/util/package-root.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { fixturesDir, nativeTest } from '../helpers/shared.js';

/**
 * The package works when installed from its `npm pack` tarball: the tarball carries the built CLI,
 * the MTCNN weights and (through its dependencies) the wasm files, ffmpeg and the native engine's
 * CPU library, and the installed `dfdc` runs from a folder that is not this checkout. npm runs
 * dependencies' install scripts on a global install, so the native engine must be a version with
 * none (onnxruntime-node >= 1.17 downloads CUDA libraries in its postinstall: README, "Why each
 * dependency").
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
  assert.ok(packedFiles.includes('dist/src/cli/main.cjs'));
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
  assert.match(help.stdout, /^MTCNN engine \(--backend auto\): (native \(ONNX Runtime [\d.]+|wasm \(the native engine is not available)/m);
});

// In CI, `npm install -g` must bring the native engine (it is optional only so that a machine it cannot
// load on still installs dfdc); outside CI, only where this checkout has it too.
await nativeTest('the installed package has the native engine, from its own tarball, with no install script', () => {
  const help = runCli(['--help'], { executable: dfdcBin, cwd: scratch });
  assert.match(help.stdout, /^MTCNN engine \(--backend auto\): native \(ONNX Runtime [\d.]+ \(onnxruntime-node\), CPU\)$/m);
  const ort = join(prefix, 'lib', 'node_modules', 'dfdc', 'node_modules', 'onnxruntime-node', 'package.json');
  const manifest = JSON.parse(readFileSync(ort, 'utf8')) as { scripts?: Record<string, string> };
  const installScripts = Object.keys(manifest.scripts ?? {}).filter((name) => ['preinstall', 'install', 'postinstall'].includes(name));
  assert.deepEqual(installScripts, [], 'onnxruntime-node runs a script at install time');
  const run = runCli(['faces', join(fixturesDir, 'source', 'astronaut-head.png'), '--backend', 'native', '--json'], { executable: dfdcBin, cwd: scratch });
  assert.equal(run.status, 0, run.stderr);
  const [result] = JSON.parse(run.stdout) as Array<{ faces: Array<{ probability: number }> }>;
  assert.equal(result?.faces.length, 1);
});

/** Every package.json under `dir`'s node_modules, however deep (npm may nest a dependency). */
function installedManifests(dir: string): string[] {
  const modules = join(dir, 'node_modules');
  if (!existsSync(modules)) return [];
  const packages = readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(modules, name)).map((scoped) => join(modules, name, scoped)) : name.startsWith('.') ? [] : [join(modules, name)],
  );
  return packages.flatMap((pkg) => (existsSync(join(pkg, 'package.json')) ? [join(pkg, 'package.json'), ...installedManifests(pkg)] : []));
}

test('nothing in the installed tree downloads at install time: the only install scripts are the ffmpeg packages chmod', () => {
  const scripts = installedManifests(join(prefix, 'lib', 'node_modules', 'dfdc')).flatMap((file) => {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name: string; scripts?: Record<string, string> };
    return ['preinstall', 'install', 'postinstall'].flatMap((hook) => (manifest.scripts?.[hook] ? [`${manifest.name} ${hook}: ${manifest.scripts[hook]}`] : []));
  });
  assert.ok(scripts.length > 0 || !existsSync(join(prefix, 'lib', 'node_modules', 'dfdc', 'node_modules')), 'no installed packages found');
  assert.deepEqual(scripts.filter((line) => !/^@ff(mpeg|probe)-installer\/[\w-]+ postinstall: chmod u\+x ff(mpeg|probe)$/.test(line)), []);
});

test('installed dfdc folds runs on the fixtures', () => {
  const out = join(scratch, 'folds.csv');
  // Crops of one pair (folds reads only their names): without any, folds writes nothing and exits 1.
  for (const video of ['real_a', 'fake_a_blur']) {
    mkdirSync(join(scratch, 'out', 'crops', video), { recursive: true });
    writeFileSync(join(scratch, 'out', 'crops', video, '0_0.png'), '');
  }
  const run = runCli(['folds', '--root-dir', join(fixturesDir, 'sample'), '--output-dir', join(scratch, 'out'), '--out', 'folds.csv'], { executable: dfdcBin, cwd: scratch });
  assert.equal(run.status, 0, run.stderr);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines.map((line) => line.split(',').slice(0, 3).join(',')).sort(), ['fake_a_blur,0_0.png,1', 'real_a,0_0.png,0', 'video,file,label']);
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
