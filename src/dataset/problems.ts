/**
 * A problem found in the data set (a bad metadata.json, a bad record, a missing original), kept as
 * data rather than thrown: commands print each as one line, put them in their run report, go on with
 * the rest, and exit non-zero at the end.
 */
export interface Problem {
  /** The file the problem is in, relative to DATA_ROOT with `/` separators, e.g. `dfdc_train_part_3/metadata.json`. */
  readonly file: string;
  /** What is wrong and what was done about it, e.g. `"abc.mp4".label must be REAL or FAKE (got "real")`. */
  readonly message: string;
}

/** The one-line form: `<file>: <message>`. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}: ${problem.message}`;
}
