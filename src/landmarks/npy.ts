/**
 * NumPy .npy files of a 2-D int16 array (stage 3's `landmarks/<id>/<frame>_<actor>.npy`, shape
 * (5, 2)), written byte for byte as NumPy 1.24's `np.save` writes them (format 1.0):
 * magic `\x93NUMPY`, version 1 0, little-endian uint16 header length, then the header text
 * `{'descr': '<i2', 'fortran_order': False, 'shape': (5, 2), }`, followed by
 * 21 - len(str(shape[0])) spaces (NumPy's room to grow the first axis in place), padded with spaces
 * and a final `\n` so that magic + version + length + header end on a multiple of 64 bytes, then the
 * values, little-endian, row-major. The decoder reads back exactly that kind of file.
 * See docs/exactness.md §7.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREFIX_LENGTH = MAGIC.length + 2 + 2; // magic, version, uint16 header length
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

export interface NpyInt16 {
  readonly shape: [number, number];
  readonly values: Int16Array;
}

function checkShape(shape: readonly [number, number], length: number): void {
  const [rows, columns] = shape;
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(columns) || rows < 0 || columns < 0) {
    throw new RangeError(`Expected a shape of two non-negative integers but received (${rows}, ${columns})`);
  }
  if (rows * columns !== length) {
    throw new RangeError(`Expected ${rows * columns} values for shape (${rows}, ${columns}) but received ${length}`);
  }
}

/** The .npy bytes NumPy 1.24 writes for `np.save(path, array)` of an int16 array of `shape`. */
export function encodeNpyInt16(values: Int16Array, shape: readonly [number, number]): Uint8Array {
  checkShape(shape, values.length);
  const [rows, columns] = shape;
  const dict = `{'descr': '<i2', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  const growth = ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(rows).length));
  const textLength = dict.length + growth.length + 1; // + the final newline
  const padding = ARRAY_ALIGN - ((PREFIX_LENGTH + textLength) % ARRAY_ALIGN);
  const headerLength = textLength + padding;
  if (headerLength > 0xffff) throw new RangeError(`The .npy header of shape (${rows}, ${columns}) is too long for format 1.0`);
  const header = `${dict}${growth}${' '.repeat(padding)}\n`;

  const bytes = new Uint8Array(PREFIX_LENGTH + headerLength + 2 * values.length);
  bytes.set(MAGIC, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  view.setUint16(8, headerLength, true);
  for (let i = 0; i < header.length; i++) bytes[PREFIX_LENGTH + i] = header.charCodeAt(i);
  const dataStart = PREFIX_LENGTH + headerLength;
  for (let i = 0; i < values.length; i++) view.setInt16(dataStart + 2 * i, values[i]!, true);
  return bytes;
}

/** Reads a format 1.0 .npy file of a 2-D little-endian int16 array in C order. */
export function decodeNpyInt16(bytes: Uint8Array): NpyInt16 {
  if (bytes.length < PREFIX_LENGTH || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw new Error('Expected a .npy file (magic \\x93NUMPY) but received other bytes');
  }
  if (bytes[6] !== 1 || bytes[7] !== 0) {
    throw new Error(`Expected .npy format version 1.0 but received ${bytes[6]}.${bytes[7]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(8, true);
  const dataStart = PREFIX_LENGTH + headerLength;
  if (dataStart > bytes.length) throw new Error(`Expected a .npy header of ${headerLength} bytes but the file ends first`);
  const header = String.fromCharCode(...bytes.subarray(PREFIX_LENGTH, dataStart));
  const match = /^\{'descr': '([^']*)', 'fortran_order': (True|False), 'shape': \((\d+), (\d+)\), \} *\n$/.exec(header);
  if (!match) throw new Error(`Expected a 2-D .npy header but received ${JSON.stringify(header.trimEnd())}`);
  if (match[1] !== '<i2') throw new Error(`Expected dtype '<i2' in the .npy header but received '${match[1]}'`);
  if (match[2] !== 'False') throw new Error('Expected a C-order .npy array but received fortran_order True');
  const shape: [number, number] = [Number(match[3]), Number(match[4])];
  const count = shape[0] * shape[1];
  if (bytes.length !== dataStart + 2 * count) {
    throw new Error(`Expected ${2 * count} data bytes for shape (${shape[0]}, ${shape[1]}) but received ${bytes.length - dataStart}`);
  }
  const values = new Int16Array(count);
  for (let i = 0; i < count; i++) values[i] = view.getInt16(dataStart + 2 * i, true);
  return { shape, values };
}
