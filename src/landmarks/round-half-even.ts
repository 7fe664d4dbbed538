/**
 * Stage 3's conversion of MTCNN landmark coordinates to integers, as the reference does it:
 * `np.around(points).astype(np.int16)`. `np.around` with 0 decimals is `rint`: round half to even
 * (2.5 -> 2, 3.5 -> 4, -2.5 -> -2). The cast to int16 is x86 NumPy's C conversion: the value (already
 * an integer here) keeps its low 16 bits, so out-of-range values wrap (32768 -> -32768,
 * 40000 -> -25536). Landmarks of a face inside a crop are far inside the int16 range; the wrap is
 * reproduced only so that no value is ever silently clamped differently from the reference.
 * See docs/exactness.md §7.
 */

/**
 * `np.around(x)` (= `np.rint`): the nearest integer, ties to the even one. NaN stays NaN; the sign of
 * a zero result is not kept (-0.4 gives 0, where NumPy gives -0.0), which no integer cast can see.
 */
export function roundHalfEven(x: number): number {
  const nearest = Math.round(x); // ties toward +Infinity; exact for every double
  const isTie = nearest - x === 0.5; // exact: nearest and x are within 0.5 of each other
  return (isTie && nearest % 2 !== 0 ? nearest - 1 : nearest) + 0;
}

/**
 * x86 NumPy's `astype(np.int16)` of a float: truncate toward zero to a 32-bit integer (cvttsd2si),
 * keep the low 16 bits as a signed value. Outside the int32 range and for NaN the hardware gives
 * 0x80000000, whose low 16 bits are 0.
 */
export function castToInt16(x: number): number {
  const t = Math.trunc(x);
  if (!(t >= -2147483648 && t <= 2147483647)) return 0;
  return (t << 16) >> 16;
}

/** `np.around(values).astype(np.int16)` over a flat, row-major list of coordinates. */
export function roundToInt16(values: ArrayLike<number>): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = castToInt16(roundHalfEven(values[i]!));
  return out;
}
