#!/usr/bin/env node
/**
 * The `dfdc` command: sizes libuv's thread pool, then loads the CLI (index.ts).
 *
 * The pool runs zlib for the PNG encoding of crops and diff masks (src/image/png-encode.ts) and the
 * file system calls; its default of 4 threads would cap them on a many-core node. It takes its
 * size from UV_THREADPOOL_SIZE when first used, and the ES module loader uses it to read the
 * modules: so this entry is CommonJS, which sets the variable before any module is loaded. One
 * thread per CPU of the host (an upper bound of what the process may use; an idle thread costs
 * only its stack), at least libuv's 4; a value the user set is kept.
 */
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(Math.min(1024, Math.max(4, availableParallelism())));
// A CLI that cannot load (a native module that fails, a broken install) must fail the command,
// whatever NODE_OPTIONS says of unhandled rejections (--unhandled-rejections=warn would exit 0).
import('./index.js').catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
