/**
 * numpy's default `np.argsort` (kind='quicksort', numpy 1.24: an introsort) reproduced step by step,
 * because the reference's 'Min' NMS and its final largest-first ordering use it, and on equal keys
 * (O-Net scores that saturate at 1.0, equal areas) its unstable order decides which box wins.
 * Median-of-3 quicksort, insertion sort for partitions of at most 16 elements, heapsort when the
 * recursion depth exceeds 2*floor(log2(n)); `less` is float `<` (no NaN here). See docs/mtcnn.md §9.
 */

/** floor(log2(n)) for n >= 1, as npy_get_msb. */
function msb(n: number): number {
  let depth = 0;
  while ((n >>= 1) > 0) depth++;
  return depth;
}

/** Partitions with pr - pl <= this (at most 16 elements) are insertion-sorted (numpy's SMALL_QUICKSORT). */
const smallQuicksort = 15;

/** numpy's aheapsort_ on tosort[lo .. lo+n). */
function heapSortIndices(values: ArrayLike<number>, tosort: Int32Array, lo: number, n: number): void {
  // 1-based heap indexing over a = tosort[lo - 1 + k].
  const a = (k: number) => tosort[lo - 1 + k]!;
  const set = (k: number, v: number) => {
    tosort[lo - 1 + k] = v;
  };
  /** Moves `tmp` down from heap slot `i` (children from `j`) within a heap of `size` slots. */
  const siftDown = (tmp: number, i: number, j: number, size: number): void => {
    while (j <= size) {
      if (j < size && values[a(j)]! < values[a(j + 1)]!) j += 1;
      if (values[tmp]! < values[a(j)]!) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  };
  for (let l = n >> 1; l > 0; --l) siftDown(a(l), l, l << 1, n);
  for (; n > 1; ) {
    const tmp = a(n);
    set(n, a(1));
    n -= 1;
    siftDown(tmp, 1, 2, n);
  }
}

/** The indices that sort `values` ascending, in exactly the order numpy 1.24's np.argsort returns. */
export function numpyArgsort(values: ArrayLike<number>): Int32Array {
  const num = values.length;
  const tosort = new Int32Array(num);
  for (let i = 0; i < num; i++) tosort[i] = i;
  if (num < 2) return tosort;
  const v = values;
  const swap = (p: number, q: number) => {
    const t = tosort[p]!;
    tosort[p] = tosort[q]!;
    tosort[q] = t;
  };
  let pl = 0;
  let pr = num - 1;
  const stack: number[] = [];
  const depthStack: number[] = [];
  let cdepth = msb(num) * 2;
  for (;;) {
    if (cdepth < 0) {
      heapSortIndices(v, tosort, pl, pr - pl + 1);
    } else {
      while (pr - pl > smallQuicksort) {
        const pm = pl + ((pr - pl) >> 1);
        if (v[tosort[pm]!]! < v[tosort[pl]!]!) swap(pm, pl);
        if (v[tosort[pr]!]! < v[tosort[pm]!]!) swap(pr, pm);
        if (v[tosort[pm]!]! < v[tosort[pl]!]!) swap(pm, pl);
        const vp = v[tosort[pm]!]!;
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi;
          while (v[tosort[pi]!]! < vp);
          do --pj;
          while (vp < v[tosort[pj]!]!);
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // Push the larger partition, continue with the smaller one.
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depthStack.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = tosort[pi]!;
        const vpi = v[vi]!;
        let pj = pi;
        let pk = pi - 1;
        while (pj > pl && vpi < v[tosort[pk]!]!) tosort[pj--] = tosort[pk--]!;
        tosort[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depthStack.pop()!;
  }
  return tosort;
}
