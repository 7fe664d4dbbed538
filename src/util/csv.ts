/** A CSV field quoted the way Python's csv module (pandas) does by default: only when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
