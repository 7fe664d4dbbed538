import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRgbImage } from '../../src/image/png.js';
import { withCropAdvice } from '../../src/stages/units.js';
import { UnitError } from '../../src/util/errors.js';
import { scratchDir } from '../helpers/cli.js';

/**
 * The advice that goes with a crop a later stage cannot read: a broken crop is deleted and cut
 * again; a crop that was listed and is gone when read (another process put the video's crops anew
 * in place meanwhile) is no crop's fault, and a rerun is the fix.
 */
test('a crop gone when read gets "rerun", a broken one the advice to delete it and cut it again', async () => {
  const cropsDir = join(scratchDir('units'), 'crops');
  mkdirSync(join(cropsDir, 'v'), { recursive: true });
  const broken = join(cropsDir, 'v', '0_0.png');
  writeFileSync(broken, 'not a png');
  const gone = join(cropsDir, 'v', '10_0.png');
  const adviceFor = async (path: string) => {
    const error = await readRgbImage(path).then(
      () => assert.fail(`${path} was read`),
      (caught: unknown) => caught,
    );
    const advised = withCropAdvice(error, cropsDir);
    assert.ok(advised instanceof UnitError);
    return advised;
  };
  const brokenAdvice = await adviceFor(broken);
  assert.equal(brokenAdvice.remedy?.stage, 'crops');
  assert.match(brokenAdvice.message, /: not a readable image \(.+\): delete it and rerun dfdc crops, which cuts that video's crops again$/);
  const goneAdvice = await adviceFor(gone);
  assert.equal(goneAdvice.remedy, undefined);
  assert.equal(goneAdvice.message, `${gone}: gone while this unit read it (the video's crops cut anew meanwhile, by another process such as dfdc crops --force?): rerun when that is done`);
});
