import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { nativeEngineStatus } from '../../src/mtcnn/native-nets.js';
import { packageRoot } from '../../src/util/package-root.js';

/**
 * Where ../shared lives (the read-only reference material beside the repository). DFDC_SHARED
 * overrides it. Parity tests read it; outside CI they skip with a clear message when it is absent,
 * with CI=true its absence fails them.
 */
export const sharedDir = resolve(process.env.DFDC_SHARED ?? join(packageRoot, '..', 'shared'));
export const parityDir = join(sharedDir, 'parity');
export const mediaDir = join(sharedDir, 'media');
export const fixturesDir = join(packageRoot, 'fixtures');
/** The committed sample DATA_ROOT (scripts/make-fixtures.ts builds it; fixtures/sample/README.md lists it). */
export const sampleRoot = join(fixturesDir, 'sample');

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

function missingMessage(path: string): string {
  return `${path} is absent: parity tests need the reference outputs in ../shared (or DFDC_SHARED)`;
}

/**
 * A test that needs `path` under ../shared: skipped with a message when it is missing, failed when
 * it is missing in CI.
 */
export function sharedTest(name: string, path: string, fn: (t: TestContext) => unknown | Promise<unknown>): void {
  const present = existsSync(path);
  if (!present && !inCi) {
    test(name, { skip: missingMessage(path) }, () => {});
    return;
  }
  test(name, async (t) => {
    if (!present) throw new Error(missingMessage(path));
    await fn(t);
  });
}

/**
 * A test that needs the native MTCNN engine (onnxruntime-node, an optional dependency): skipped
 * with the reason where it does not load, failed with the reason in CI, which installs it.
 */
export async function nativeTest(name: string, fn: (t: TestContext) => unknown | Promise<unknown>): Promise<void> {
  const status = await nativeEngineStatus();
  if (!status.available && !inCi) {
    test(name, { skip: `the native engine is not available here: ${status.reason}` }, () => {});
    return;
  }
  test(name, async (t) => {
    if (!status.available) throw new Error(`the native engine does not load: ${status.reason}`);
    await fn(t);
  });
}
