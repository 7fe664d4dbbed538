import { z } from 'zod';
import type { Problem } from './problems.js';

/**
 * Reads one metadata.json: `{"<name>.mp4": {"label": "REAL" | "FAKE", "original": "<name>.mp4" | null, ...}}`.
 * Pure (text in, records and problems out). Compact or spaced JSON and extra keys are fine. A file that
 * is not a JSON object is one problem and yields no records; a bad record is one problem naming it and
 * is left out; the other records are kept. Every name must be a plain `<id>.mp4` file name inside its
 * part folder, so no output path built from an id can escape its folder.
 */

export type Label = 'REAL' | 'FAKE';

/** One accepted metadata record. */
export interface MetadataRecord {
  /** The file name, e.g. `aagfhgtpmv.mp4`. */
  readonly name: string;
  /** The name without `.mp4`: the key of every output of this video. */
  readonly id: string;
  readonly label: Label;
  /** A FAKE's original as written (a file name such as `vudstovrck.mp4`); null for a REAL. */
  readonly original: string | null;
}

export interface ParsedMetadata {
  /** False when the file is not a JSON object: the whole part is skipped (see problems). */
  readonly readable: boolean;
  /** Accepted records, in the file's order. */
  readonly records: MetadataRecord[];
  /** Names of records that were left out because of a problem (so a FAKE naming one can say so). */
  readonly rejectedNames: string[];
  readonly problems: Problem[];
}

export const VIDEO_EXTENSION = '.mp4';

/** The id of a video file name: the name without `.mp4`. */
export function videoIdOf(name: string): string {
  return name.endsWith(VIDEO_EXTENSION) ? name.slice(0, -VIDEO_EXTENSION.length) : name;
}

/**
 * Why `name` cannot be a video file name in a part folder, or null when it can: it must be a plain
 * file name (no `/` or `\`, not absolute, not `.` or `..`), end in `.mp4`, and leave a usable id.
 */
export function videoNameProblem(name: string): string | null {
  if (name === '') return 'is empty: a video name must be a file name such as "abc.mp4"';
  if (/[/\\\0]/.test(name) || /^[A-Za-z]:/.test(name) || name === '.' || name === '..') {
    return 'must be a plain file name in the part folder (no path separators, not absolute, not . or ..)';
  }
  // Names are printed in one-line messages and written into CSV files.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters (line breaks, tabs): rename the file';
  if (!name.endsWith(VIDEO_EXTENSION)) return 'must end in .mp4 (a video id is its file name without .mp4)';
  const id = videoIdOf(name);
  if (id === '' || id === '.' || id === '..') return 'must be <id>.mp4 with an id other than "", "." or ".."';
  return null;
}

const recordSchema = z.object(
  {
    label: z.enum(['REAL', 'FAKE'], {
      error: (issue) => (issue.input === undefined ? 'is missing (must be REAL or FAKE)' : `must be REAL or FAKE (got ${show(issue.input)})`),
    }),
    original: z
      .string({ error: (issue) => `must be a video file name such as "abc.mp4" or null (got ${show(issue.input)})` })
      .nullable()
      .optional(),
  },
  { error: (issue) => `must be an object such as {"label": "REAL"} (got ${show(issue.input)})` },
);

/** Parses the text of `file` (named relative to DATA_ROOT, for messages). */
export function parseMetadata(text: string, file: string): ParsedMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return unreadable(file, `not valid JSON (${oneLine(error instanceof Error ? error.message : String(error))}); part skipped`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return unreadable(file, `not a JSON object mapping video file names to records but ${kindOf(json)}; part skipped`);
  }
  const records: MetadataRecord[] = [];
  const rejectedNames: string[] = [];
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(json)) {
    const checked = checkRecord(name, value);
    if (typeof checked === 'string') {
      rejectedNames.push(name);
      problems.push({ file, message: checked });
    } else {
      records.push(checked);
    }
  }
  return { readable: true, records, rejectedNames, problems };
}

/** The record `name`, or its one-line problem. */
function checkRecord(name: string, value: unknown): MetadataRecord | string {
  const quoted = JSON.stringify(name);
  const nameProblem = videoNameProblem(name);
  if (nameProblem !== null) return `${quoted} ${nameProblem}`;
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => `${quoted}${issue.path.map((key) => `.${String(key)}`).join('')} ${issue.message}`).join('; ');
  }
  const { label, original } = parsed.data;
  if (label === 'FAKE') {
    if (original === undefined || original === null) {
      return `${quoted}.original is ${original === null ? 'null' : 'missing'}: a FAKE must name its REAL original, e.g. "xyz.mp4"`;
    }
    const originalProblem = videoNameProblem(original);
    if (originalProblem !== null) return `${quoted}.original ${JSON.stringify(original)} ${originalProblem}`;
    return { name, id: videoIdOf(name), label, original };
  }
  // A REAL's `original` is ignored, as the reference ignores it: the label decides.
  return { name, id: videoIdOf(name), label, original: null };
}

function unreadable(file: string, message: string): ParsedMetadata {
  return { readable: false, records: [], rejectedNames: [], problems: [{ file, message }] };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A short JSON rendering of a bad value for a message. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
