import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { processExists } from '../util/processes.js';

/**
 * onnxruntime-node 1.16.3's native binding (`onnxruntime_binding.node`), loaded so that several
 * threads of one process can each have it.
 *
 * Why not `require('onnxruntime-node')` in every worker: the binding keeps its class constructor in
 * one process-wide static. Each thread (Node environment) that loads it overwrites that static and,
 * in doing so, deletes the reference the previous thread stored, from the wrong thread, and after
 * that thread has exited from freed memory. Threads that come and go (a pool per stage) corrupt the
 * heap: "free(): invalid pointer", "Check failed: node->IsInUse()" (onnxruntime issue #23794; later
 * versions keep per-environment data, but every later version downloads GPU libraries at install,
 * docs/mtcnn.md §14). A shared library is one instance per file, so each worker thread loads its
 * own copy of the binding, placed in a fresh private folder and deleted as soon as it is mapped;
 * the main thread loads the installed file. ONNX Runtime itself (libonnxruntime) stays one instance,
 * found through a link beside the copy: it is made for many sessions on many threads.
 */

/** A tensor as the binding reads and writes it. */
export interface BindingTensor {
  type: string;
  dims: readonly number[];
  data: Float32Array;
}

/** One model, as the binding's `InferenceSession` class exposes it. */
export interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  /** Synchronous: runs the model on this thread. `fetches` maps output names to null. */
  run(feeds: Record<string, BindingTensor>, fetches: Record<string, null>): Record<string, BindingTensor>;
}

export interface OrtBinding {
  InferenceSession: new () => BindingSession;
}

export type OrtBindingLoad =
  | { binding: OrtBinding; version: string }
  | { binding?: undefined; reason: string };

/** The package name in a variable: dfdc installs and runs without it (it is optional). */
const ortPackage = 'onnxruntime-node';

/** Where a private copy may go; the first that allows loading code wins (a /tmp may be noexec). */
function copyFolders(): string[] {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return [...new Set([tmpdir(), '/dev/shm', cache])];
}

/** Links (or copies, where links are refused) `from` as `to`. */
function place(from: string, to: string): void {
  try {
    symlinkSync(from, to);
  } catch {
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
}


/**
 * The prefix of this process's copy folders: `dfdc-ort-<host>-<pid>-`, so that the copies of a
 * process killed while loading (kill -9 in the few milliseconds a copy exists) can be recognised
 * and removed by a later one on the same host. Characters a host name may have that a file name
 * should not are replaced.
 */
const copyPrefix = (pid: number) => `dfdc-ort-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${pid}-`;

/** Removes the copy folders in `parent` that processes of this host no longer running left there. */
function removeStaleCopies(parent: string): void {
  const ours = copyPrefix(0).slice(0, -2);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(ours)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(ours.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processExists(pid)) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // another process removed it first, or it is not ours to remove
    }
  }
}

function dlopen(file: string): OrtBinding {
  const module = { exports: {} as OrtBinding };
  process.dlopen(module, file);
  return module.exports;
}

/**
 * Loads `binaryDir`'s binding from a private copy: the binding itself copied (a new file, so a new
 * instance with its own statics), the libraries beside it linked (the same files, so one instance).
 * The folder is removed once loaded; the mapping stays valid.
 */
function dlopenPrivateCopy(binaryDir: string): OrtBinding {
  const failures: string[] = [];
  for (const parent of copyFolders()) {
    let folder: string | undefined;
    try {
      removeStaleCopies(parent);
      folder = mkdtempSync(join(parent, copyPrefix(process.pid)));
      for (const name of readdirSync(binaryDir)) {
        if (name === 'onnxruntime_binding.node') copyFileSync(join(binaryDir, name), join(folder, name));
        else place(join(binaryDir, name), join(folder, name));
      }
      return dlopen(join(folder, 'onnxruntime_binding.node'));
    } catch (error) {
      failures.push(`${parent}: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      // Windows refuses to delete a loaded library: there the folder stays in the temporary folder.
      if (folder) {
        try {
          rmSync(folder, { recursive: true, force: true });
        } catch {
          // left for the system's temporary-file cleaning
        }
      }
    }
  }
  throw new Error(
    `no folder could hold a private copy of its binding (${failures.join('; ')}); set TMPDIR to a writable folder that allows executables`,
  );
}

let loaded: OrtBindingLoad | undefined;

/** This thread's binding, loaded on first use; or why it cannot load. */
export function loadOrtBinding(): OrtBindingLoad {
  loaded ??= (() => {
    const require = createRequire(import.meta.url);
    let packageJson: string;
    try {
      packageJson = require.resolve(`${ortPackage}/package.json`);
    } catch {
      return { reason: `${ortPackage} is not installed` };
    }
    const { version } = require(packageJson) as { version: string };
    const binaryDir = join(dirname(packageJson), 'bin', 'napi-v3', process.platform, process.arch);
    const file = join(binaryDir, 'onnxruntime_binding.node');
    if (!existsSync(file)) return { reason: `${ortPackage} ${version} has no library for ${process.platform}/${process.arch}` };
    try {
      const binding = isMainThread ? dlopen(file) : dlopenPrivateCopy(binaryDir);
      if (typeof binding.InferenceSession !== 'function') return { reason: `${ortPackage} ${version}: its binding has no InferenceSession` };
      return { binding, version };
    } catch (error) {
      return { reason: `${ortPackage} failed to load: ${(error as Error).message.split('\n')[0]}` };
    }
  })();
  return loaded;
}
