import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding dfdc's package.json (where models/ and fixtures/ live), found by walking up from
 * this file, so it works from src (tests), dist/src (built) and an installed tarball alike.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'dfdc') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('dfdc: cannot find its own package.json');
    dir = parent;
  }
})();

export const packageVersion: string = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;
