import { z } from 'zod';

/**
 * How every option of dfdc is declared, once: a zod schema that parses the text given on the
 * command line (with its default, when it has one), carrying its help as metadata. src/commands/
 * turns these declarations into commander options and `--help` text, so a setting's flag, help and
 * default live in one place: the stage, run or dataset module that owns it.
 */
export interface OptionHelp {
  /** One line for `--help`. */
  help: string;
  /** The placeholder of the value in `--help` (`--thresholds <a,b,c>`); a boolean flag takes none. */
  value?: string;
  /** How the default reads in `--help` when it is not the value itself (e.g. "the root dir"). */
  defaultText?: string;
  /** An environment variable read when the flag is absent. */
  env?: string;
  /** The only values accepted, listed in `--help`. */
  choices?: readonly string[];
  /**
   * The flag in `dfdc run` when two stages share the stage flag's name (`--landmark-thresholds` for
   * stage 3's `--thresholds`), or false when `dfdc run` sets the value itself.
   */
  runFlag?: string | false;
  /** A hint given when outputs made with another value are found (e.g. how `dfdc run` sets it). */
  hint?: string;
}

/** Attaches help to an option's schema. */
export function option<T extends z.ZodType>(schema: T, help: OptionHelp): T {
  return schema.meta(help as unknown as Record<string, unknown>) as T;
}

/** The help attached by option(), or undefined. */
export function optionHelp(schema: z.core.$ZodType): OptionHelp | undefined {
  const meta = z.globalRegistry.get(schema) as Partial<OptionHelp> | undefined;
  return meta && typeof meta.help === 'string' ? (meta as OptionHelp) : undefined;
}

/** `minFaceSize` -> `--min-face-size`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Whether an option is a flag without a value (`--saturate`). */
export function isBooleanFlag(schema: z.core.$ZodType): boolean {
  let current = schema._zod.def as { type: string; innerType?: z.core.$ZodType };
  while ((current.type === 'default' || current.type === 'optional') && current.innerType) current = current.innerType._zod.def as typeof current;
  return current.type === 'boolean';
}

/**
 * The flags that give the options of `shape` these `values`, leaving out each value equal to its
 * entry in `defaults`: `['--every 10', '--thresholds 0.8,0.9,0.9']`.
 */
export function flagsFor(shape: Readonly<Record<string, z.core.$ZodType>>, values: Record<string, unknown>, defaults: Record<string, unknown>): string[] {
  const flags: string[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    const value = values[key];
    if (value === undefined || JSON.stringify(value) === JSON.stringify(defaults[key])) continue;
    if (isBooleanFlag(schema)) {
      if (value === true) flags.push(flagOf(key));
    } else {
      flags.push(`${flagOf(key)} ${Array.isArray(value) ? value.join(',') : String(value)}`);
    }
  }
  return flags;
}

/**
 * A number given as text, refused with `message` when it is not one. An empty text (an unset
 * variable in a job script) is refused rather than read as 0, as Number('') would.
 */
function numberText(message: string) {
  return z.union([z.string(), z.number()]).transform((value, context) => {
    const text = String(value).trim();
    const number = text === '' ? Number.NaN : Number(text);
    if (Number.isNaN(number)) {
      context.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return number;
  });
}

/** A whole number of at least `min`, given as text. */
export function wholeNumber(min: number) {
  return numberText('must be a whole number').pipe(z.number().int('must be a whole number').min(min, `must be at least ${min}`));
}

/** A safe integer (of at least `min`, when given), given as text; `what` replaces "must be an integer" when it is not one. */
export function integer(min?: number, what = 'must be an integer') {
  const value = z.number().int(what);
  return numberText(what).pipe(min === undefined ? value : value.min(min, `must be at least ${min}`));
}

/** A positive finite number, given as text. */
export function positiveNumber() {
  return numberText('must be a positive number').pipe(z.number().positive('must be a positive number').finite('must be a finite number'));
}

/**
 * MTCNN's smallest face, in pixels of the image it looks at. It enlarges the image by 12/px, so
 * below 8 a 1080p frame outgrows what a typed array can hold.
 */
export function faceSize() {
  return positiveNumber().pipe(z.number().min(8, 'must be at least 8 (MTCNN enlarges the image by 12/px: below 8 frames outgrow memory)'));
}

/** A comma-separated list of `count` numbers, e.g. `--thresholds 0.85,0.95,0.95`. */
export function numberList(count: number) {
  return z
    .string()
    .transform((text) => text.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part.trim()))))
    .refine((values) => values.length === count && values.every((v) => Number.isFinite(v)), {
      message: `must be ${count} comma-separated numbers`,
    });
}

/** MTCNN's three face thresholds (P-Net, R-Net, O-Net), each a probability. */
export function thresholds() {
  return numberList(3)
    .refine((values) => values.every((v) => v >= 0 && v <= 1), 'must be probabilities between 0 and 1')
    .transform((values) => values as [number, number, number]);
}

/** A comma-separated list of names (`--parts 0,3,dfdc_train_part_7`), at least one. */
export function nameList(what: string) {
  return z
    .string()
    .transform((text) => text.split(',').map((part) => part.trim()).filter((part) => part !== ''))
    .refine((list) => list.length > 0, `must name at least one ${what}`);
}
