import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, scratchDir } from '../helpers/cli.js';
import { sampleRoot } from '../helpers/shared.js';

/**
 * Values that a job script or a typo gives, each refused with one line and exit 2 before any work,
 * instead of read as something else (an empty --shard-index as shard 0, ",," as thresholds 0,0,0).
 */
const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
  ['an empty --shard-index (an unset variable)', ['detect', '--shard-index', '', '--shard-count', '4'], {}, /^dfdc: --shard-index: must be a whole number/],
  ['thresholds with nothing between the commas', ['detect', '--thresholds', ',,'], {}, /^dfdc: --thresholds: must be 3 comma-separated numbers/],
  ['a tiny --min-face-size', ['detect', '--min-face-size', '1e-9'], {}, /^dfdc: --min-face-size: must be at least 8/],
  ['DFDC_SHARD_COUNT without an index', ['detect'], { DFDC_SHARD_COUNT: '2' }, /^dfdc: DFDC_SHARD_COUNT 2 needs a shard index/],
  ['a partial Slurm array without a count', ['detect'], { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '17' }, /not a full 0\.\.n-1 array/],
  ['--parts naming no part', ['detect', '--parts', '7'], {}, /^dfdc: --parts 7: no such part/],
];

for (const [what, args, env, message] of cases) {
  test(`${what} is refused in one line, exit 2`, () => {
    const out = scratchDir('bad-values');
    const result = runCli([...args, '--root-dir', sampleRoot, '--output-dir', out], { env });
    assert.equal(result.status, 2, result.stderr);
    assert.deepEqual(readdirSync(out).filter((name) => name !== '.run-state'), [], 'something was written');
    assert.equal(result.lines.length, 1, result.stderr);
    assert.match(result.lines[0]!, message);
  });
}

test('an --output-dir that is a file is refused in one line, exit 2, and the file is left as it was', () => {
  const file = join(scratchDir('bad-values'), 'README.md');
  writeFileSync(file, 'notes\n');
  const result = runCli(['detect', '--root-dir', sampleRoot, '--output-dir', file]);
  assert.equal(result.status, 2, result.stderr);
  assert.deepEqual(result.lines, [`dfdc: --output-dir ${file} is a file: give --output-dir a folder`]);
  assert.equal(readFileSync(file, 'utf8'), 'notes\n');
});

test("commander's own errors read as dfdc's, and name the --help that lists the options", () => {
  const cases: [string[], string[]][] = [
    [['detect', '--bogus'], ["dfdc: unknown option '--bogus'", '(dfdc detect --help lists every option)']],
    [['crops', '--root-dir'], ["dfdc: option '--root-dir <dir>' argument missing", '(dfdc crops --help lists every option)']],
    [['detectt'], ["dfdc: unknown command 'detectt'", '(Did you mean detect?)', '(dfdc --help lists the commands)']],
  ];
  for (const [args, lines] of cases) {
    const result = runCli(args);
    assert.equal(result.status, 2, result.stderr);
    assert.deepEqual(result.lines, lines);
  }
});
