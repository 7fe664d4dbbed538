import { readFile } from 'node:fs/promises';
import { UnitError, messageOf } from '../util/errors.js';
import { pythonFloatRepr } from '../util/python-float.js';

/**
 * The stage-1 output `boxes/<id>.json`, in the reference's exact text: one key per detected frame,
 * the frame index as a string, in frame order; a list of `[x1, y1, x2, y2]` (float32 values in
 * half-size pixels, largest face first) or `null` for "looked, found no face"; written as Python's
 * `json.dump` writes it (`", "` and `": "` separators, float repr).
 */
export type Box = readonly [number, number, number, number];

/** Frame index -> boxes (null: no face). Frames that were not looked at have no entry. */
export type FrameBoxes = ReadonlyMap<number, readonly Box[] | null>;

export function serializeBoxes(frames: FrameBoxes): string {
  const indices = [...frames.keys()].sort((a, b) => a - b);
  const entries = indices.map((index) => {
    const boxes = frames.get(index);
    const value = !boxes || boxes.length === 0 ? 'null' : `[${boxes.map((box) => `[${box.map(pythonFloatRepr).join(', ')}]`).join(', ')}]`;
    return `"${index}": ${value}`;
  });
  return `{${entries.join(', ')}}`;
}

/** Parses a boxes file; throws an Error naming what is wrong (the caller adds the path). */
export function parseBoxes(text: string): Map<number, Box[] | null> {
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('is not a JSON object of frame -> boxes');
  const out = new Map<number, Box[] | null>();
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0) throw new Error(`has a key "${key}" that is not a frame index`);
    if (value === null) {
      out.set(index, null);
      continue;
    }
    if (!Array.isArray(value) || !value.every((box) => Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === 'number'))) {
      throw new Error(`frame ${key} is not a list of [x1, y1, x2, y2] boxes`);
    }
    out.set(index, value as Box[]);
  }
  return out;
}

const redetect = { stage: 'detect', does: "detects that video's faces again" };

/**
 * Reads a boxes file; one that is not a boxes file (cut short, written by another tool) fails the
 * unit that reads it, naming the file and the fix: without it, `dfdc detect` finds the video's
 * boxes missing and detects them again.
 */
export async function readBoxesFile(path: string): Promise<Map<number, Box[] | null>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') throw error;
    throw new UnitError(`${path} cannot be read (${code ?? messageOf(error)})`, { file: path, cause: error, remedy: redetect });
  }
  try {
    return parseBoxes(text);
  } catch (error) {
    const what = error instanceof SyntaxError ? 'is not valid JSON' : messageOf(error);
    throw new UnitError(`${path} ${what}`, { file: path, cause: error, remedy: redetect });
  }
}
