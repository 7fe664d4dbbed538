/**
 * The order in which an H.264 decoder shows a stream's pictures, from the pictures themselves:
 * picture order counts (POC) read from the slice headers, as the standard defines them (8.2.1).
 * A sparse decode numbers frames by the container's presentation times; the decoder shows them in
 * POC order. The two agree in any sane file, but a container whose times disagree would make the
 * sparse decode deliver other frames than the whole decode, so it is checked first
 * (src/video/sparse-input.ts). Pure arithmetic: bytes in, order out.
 *
 * The SPS is parsed as far as the frame size and pixel format too, for the in-process probe
 * (src/video/mp4-probe.ts). Of the slices, only what the order check needs is parsed, and anything
 * outside it answers "unknown" (the sparse decode then declines): POC type 0 (the one with
 * B-frames in display order of their own; type 2 streams have none, and a sparse decode needs
 * them), frame pictures only (frame_mbs_only_flag 1). A memory
 * management operation 5 (which restarts POC mid-stream) is not seen; x264 and common encoders do
 * not write it, and the decoder-side check of the sparse decode still sees frames out of order.
 */

/** Reads bits MSB first from a NAL unit's payload, with its emulation-prevention bytes removed. */
class BitReader {
  private readonly bytes: Uint8Array;
  private bit = 0;

  constructor(nal: Uint8Array, maxBytes = nal.length) {
    const out: number[] = [];
    let zeros = 0;
    // Skip the one-byte NAL header.
    for (let i = 1; i < nal.length && out.length < maxBytes; i++) {
      const byte = nal[i]!;
      if (zeros >= 2 && byte === 3) {
        zeros = 0;
        continue;
      }
      zeros = byte === 0 ? zeros + 1 : 0;
      out.push(byte);
    }
    this.bytes = Uint8Array.from(out);
  }

  u(count: number): number {
    let value = 0;
    for (let k = 0; k < count; k++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new RangeError('past the end of the NAL unit');
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit += 1;
    }
    return value;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      zeros += 1;
      if (zeros > 31) throw new RangeError('exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** Whether payload bits remain before the RBSP's stop bit (more_rbsp_data, 7.2). */
  moreData(): boolean {
    let last = this.bytes.length - 1;
    while (last >= 0 && this.bytes[last] === 0) last -= 1;
    if (last < 0) return false;
    const byte = this.bytes[last]!;
    let stop = 7;
    while (((byte >> (7 - stop)) & 1) === 0) stop -= 1;
    return this.bit < last * 8 + stop;
  }

  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -(code / 2);
  }
}

/** Reads past `count` scaling lists (7.3.2.1.1.1): the first six 4x4, the rest 8x8, each present or not. */
function skipScalingLists(bits: BitReader, count: number): void {
  for (let list = 0; list < count; list++) {
    if (bits.u(1) === 0) continue;
    let last = 8;
    let next = 8;
    for (let j = 0; j < (list < 6 ? 16 : 64); j++) {
      if (next !== 0) next = (last + bits.se() + 256) % 256;
      last = next === 0 ? last : next;
    }
  }
}

export interface SequenceParameters {
  readonly profile: number;
  readonly log2MaxFrameNum: number;
  readonly pocType: number;
  /** Meaningful for POC type 0 only. */
  readonly log2MaxPocLsb: number;
  readonly frameMbsOnly: boolean;
  readonly separateColourPlane: boolean;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  readonly chromaFormat: number;
  readonly bitDepthLuma: number;
  readonly bitDepthChroma: number;
  /** The coded size in macroblocks (height in frame macroblocks, fields counted twice). */
  readonly widthInMbs: number;
  readonly heightInMbs: number;
  /** frame_crop_*_offset as coded, in crop units (two samples each for 4:2:0 frames). */
  readonly crop: { readonly left: number; readonly right: number; readonly top: number; readonly bottom: number };
  /** From the VUI's video signal type; undefined when the SPS does not say. */
  readonly fullRange: boolean | undefined;
  readonly matrixCoefficients: number | undefined;
  /** Fields ffmpeg bounds (src/video/mp4-probe.ts declines past its limits). */
  readonly refFrames: number;
  readonly pocCycleLength: number;
  readonly aspectRatioIdc: number | undefined;
  /** The largest cpb_cnt of the HRD parameters (0 without). */
  readonly cpbCount: number;
  readonly maxNumReorderFrames: number | undefined;
  /** Whether the VUI parsed to its end (a truncated one leaves the fields after the cut unknown). */
  readonly vuiComplete: boolean;
}

export interface PictureParameters {
  readonly spsId: number;
  readonly bottomFieldPicOrderInFramePresent: boolean;
}

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * An SPS NAL unit (7.3.2.1.1) as far as the VUI's video signal type: its id and the fields POC,
 * frame size and pixel format need. Throws a RangeError when the unit ends early.
 */
export function parseSps(nal: Uint8Array): { id: number; sps: SequenceParameters } {
  const bits = new BitReader(nal);
  const profile = bits.u(8);
  bits.u(16); // constraint flags, level
  const id = bits.ue();
  let separateColourPlane = false;
  let chromaFormat = 1;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = bits.ue();
    if (chromaFormat === 3) separateColourPlane = bits.u(1) === 1;
    bitDepthLuma = bits.ue() + 8;
    bitDepthChroma = bits.ue() + 8;
    bits.u(1); // qpprime_y_zero_transform_bypass_flag
    if (bits.u(1) === 1) skipScalingLists(bits, chromaFormat === 3 ? 12 : 8); // seq_scaling_matrix_present_flag
  }
  const log2MaxFrameNum = bits.ue() + 4;
  const pocType = bits.ue();
  let log2MaxPocLsb = 0;
  let pocCycleLength = 0;
  if (pocType === 0) {
    log2MaxPocLsb = bits.ue() + 4;
  } else if (pocType === 1) {
    bits.u(1); // delta_pic_order_always_zero_flag
    bits.se(); // offset_for_non_ref_pic
    bits.se(); // offset_for_top_to_bottom_field
    pocCycleLength = bits.ue();
    for (let k = 0; k < Math.min(pocCycleLength, 256); k++) bits.se();
  }
  const refFrames = bits.ue(); // max_num_ref_frames
  bits.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = bits.ue() + 1;
  const heightInMapUnits = bits.ue() + 1;
  const frameMbsOnly = bits.u(1) === 1;
  if (!frameMbsOnly) bits.u(1); // mb_adaptive_frame_field_flag
  bits.u(1); // direct_8x8_inference_flag
  const crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (bits.u(1) === 1) {
    crop.left = bits.ue();
    crop.right = bits.ue();
    crop.top = bits.ue();
    crop.bottom = bits.ue();
  }
  let fullRange: boolean | undefined;
  let matrixCoefficients: number | undefined;
  let aspectRatioIdc: number | undefined;
  let cpbCount = 0;
  let maxNumReorderFrames: number | undefined;
  let vuiComplete = true;
  if (bits.u(1) === 1) {
    // vui_parameters (E.1.1): the video signal type, and the fields ffmpeg bounds.
    if (bits.u(1) === 1) {
      aspectRatioIdc = bits.u(8);
      if (aspectRatioIdc === 255) bits.u(32); // sar_width, sar_height
    }
    if (bits.u(1) === 1) bits.u(1); // overscan_appropriate_flag
    if (bits.u(1) === 1) {
      bits.u(3); // video_format
      fullRange = bits.u(1) === 1;
      if (bits.u(1) === 1) {
        bits.u(16); // colour_primaries, transfer_characteristics
        matrixCoefficients = bits.u(8);
      }
    }
    try {
      if (bits.u(1) === 1) {
        bits.ue(); // chroma_sample_loc_type_top_field
        bits.ue(); // chroma_sample_loc_type_bottom_field
      }
      if (bits.u(1) === 1) bits.u(65); // num_units_in_tick, time_scale, fixed_frame_rate_flag
      const hrd = () => {
        const count = bits.ue() + 1;
        cpbCount = Math.max(cpbCount, count);
        bits.u(8); // bit_rate_scale, cpb_size_scale
        for (let k = 0; k < Math.min(count, 33); k++) {
          bits.ue(); // bit_rate_value_minus1
          bits.ue(); // cpb_size_value_minus1
          bits.u(1); // cbr_flag
        }
        bits.u(20); // four 5-bit lengths and delays
      };
      const nalHrd = bits.u(1) === 1;
      if (nalHrd) hrd();
      const vclHrd = bits.u(1) === 1;
      if (vclHrd) hrd();
      if (nalHrd || vclHrd) bits.u(1); // low_delay_hrd_flag
      bits.u(1); // pic_struct_present_flag
      if (bits.u(1) === 1) {
        bits.u(1); // motion_vectors_over_pic_boundaries_flag
        for (let k = 0; k < 4; k++) bits.ue(); // max_bytes_per_pic_denom .. log2_max_mv_length_vertical
        maxNumReorderFrames = bits.ue();
        bits.ue(); // max_dec_frame_buffering
      }
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      vuiComplete = false;
    }
  }
  const sps: SequenceParameters = {
    profile,
    log2MaxFrameNum,
    pocType,
    log2MaxPocLsb,
    frameMbsOnly,
    separateColourPlane,
    chromaFormat,
    bitDepthLuma,
    bitDepthChroma,
    widthInMbs,
    heightInMbs: heightInMapUnits * (frameMbsOnly ? 1 : 2),
    crop,
    fullRange,
    matrixCoefficients,
    refFrames,
    pocCycleLength,
    aspectRatioIdc,
    cpbCount,
    maxNumReorderFrames,
    vuiComplete,
  };
  return { id, sps };
}

/**
 * Whether ffmpeg 5.1 would take a PPS for the SPS `sps` (h264_ps.c): it parses to its end, uses
 * one slice group (ffmpeg does not parse slice group maps and would misread what follows), and
 * its reference counts and QP offsets are in range.
 */
export function ppsAcceptable(nal: Uint8Array, sps: SequenceParameters): boolean {
  try {
    const bits = new BitReader(nal);
    bits.ue(); // pic_parameter_set_id
    bits.ue(); // seq_parameter_set_id
    bits.u(2); // entropy_coding_mode_flag, bottom_field_pic_order_in_frame_present_flag
    if (bits.ue() !== 0) return false; // num_slice_groups_minus1
    if (bits.ue() > 31 || bits.ue() > 31) return false; // num_ref_idx_l0/l1_default_active_minus1
    bits.u(3); // weighted_pred_flag, weighted_bipred_idc
    const qpRange = 26 + 6 * (sps.bitDepthLuma - 8);
    const initQp = bits.se();
    const initQs = bits.se();
    if (initQp < -qpRange || initQp > 25 || initQs < -26 || initQs > 25) return false;
    if (Math.abs(bits.se()) > 12) return false; // chroma_qp_index_offset
    bits.u(3); // deblocking_filter_control_present_flag, constrained_intra_pred_flag, redundant_pic_cnt_present_flag
    if (bits.moreData()) {
      const transform8x8 = bits.u(1) === 1;
      if (bits.u(1) === 1) skipScalingLists(bits, 6 + (transform8x8 ? (sps.chromaFormat === 3 ? 6 : 2) : 0)); // pic_scaling_matrix_present_flag
      if (Math.abs(bits.se()) > 12) return false; // second_chroma_qp_index_offset
    }
    return !bits.moreData();
  } catch {
    return false;
  }
}

/** The pic_parameter_set_id of a slice (NAL type 1 or 5); throws a RangeError when the unit ends early. */
export function slicePpsId(nal: Uint8Array): number {
  const bits = new BitReader(nal, 16);
  bits.ue(); // first_mb_in_slice
  bits.ue(); // slice_type
  return bits.ue();
}

export function parsePps(nal: Uint8Array): { id: number; pps: PictureParameters } {
  const bits = new BitReader(nal, 16);
  const id = bits.ue();
  const spsId = bits.ue();
  bits.u(1); // entropy_coding_mode_flag
  return { id, pps: { spsId, bottomFieldPicOrderInFramePresent: bits.u(1) === 1 } };
}

/**
 * Follows a stream's pictures in decode order and gives each one's place in display order: its
 * coded video sequence (a new one at each IDR picture) and its POC within it.
 */
export class PictureOrder {
  private readonly sps = new Map<number, SequenceParameters>();
  private readonly pps = new Map<number, PictureParameters>();
  private sequence = -1;
  private prevMsb = 0;
  private prevLsb = 0;

  /** Takes a parameter set (NAL type 7 or 8); false when its kind of POC cannot be followed or it does not parse. */
  parameterSet(nal: Uint8Array): boolean {
    const type = nal[0]! & 31;
    try {
      if (type === 7) {
        const parsed = parseSps(nal);
        if (parsed.sps.pocType !== 0 || !parsed.sps.frameMbsOnly) return false;
        this.sps.set(parsed.id, parsed.sps);
      } else if (type === 8) {
        const parsed = parsePps(nal);
        this.pps.set(parsed.id, parsed.pps);
      }
    } catch {
      return false;
    }
    return true;
  }

  /**
   * The display place of the picture whose first slice is `nal` (type 1 or 5), given in decode
   * order: [sequence, POC], or undefined when it cannot be told.
   */
  picture(nal: Uint8Array): [sequence: number, poc: number] | undefined {
    const type = nal[0]! & 31;
    const refIdc = (nal[0]! >> 5) & 3;
    const bits = new BitReader(nal, 48);
    bits.ue(); // first_mb_in_slice
    bits.ue(); // slice_type
    const pps = this.pps.get(bits.ue());
    const sps = pps && this.sps.get(pps.spsId);
    if (!pps || !sps) return undefined;
    if (sps.separateColourPlane) bits.u(2);
    bits.u(sps.log2MaxFrameNum); // frame_num
    if (type === 5) {
      bits.ue(); // idr_pic_id
      this.sequence += 1;
      this.prevMsb = 0;
      this.prevLsb = 0;
    }
    if (this.sequence < 0) return undefined;
    const lsb = bits.u(sps.log2MaxPocLsb);
    const bottomDelta = pps.bottomFieldPicOrderInFramePresent ? bits.se() : 0;
    const max = 2 ** sps.log2MaxPocLsb;
    let msb = this.prevMsb;
    if (lsb < this.prevLsb && this.prevLsb - lsb >= max / 2) msb += max;
    else if (lsb > this.prevLsb && lsb - this.prevLsb > max / 2) msb -= max;
    if (refIdc !== 0) {
      this.prevMsb = msb;
      this.prevLsb = lsb;
    }
    const top = msb + lsb;
    return [this.sequence, Math.min(top, top + bottomDelta)];
  }
}

/** The SPS and PPS NAL units of an avcC box's content (ISO/IEC 14496-15), or undefined if it does not parse. */
export function avcConfigParameterSets(config: Uint8Array): Uint8Array[] | undefined {
  const units: Uint8Array[] = [];
  let offset = 6;
  const take = (count: number): boolean => {
    for (let k = 0; k < count; k++) {
      if (offset + 2 > config.length) return false;
      const length = config[offset]! * 256 + config[offset + 1]!;
      offset += 2;
      if (length === 0 || offset + length > config.length) return false;
      units.push(config.subarray(offset, offset + length));
      offset += length;
    }
    return true;
  };
  if (config.length < 7 || config[0] !== 1 || !take(config[5]! & 31) || offset >= config.length) return undefined;
  return take(config[offset++]!) ? units : undefined;
}

/**
 * Whether the pictures' display order (sequence, then POC) ranks every packet as `rank` does (the
 * container's presentation times). `packets` gives each packet's NAL units, in decode order;
 * `parameterSets` are those of the avcC. False when any picture's place cannot be told.
 */
export function displayOrderAgrees(parameterSets: readonly Uint8Array[], packets: Iterable<readonly Uint8Array[]>, rank: Int32Array): boolean {
  const order = new PictureOrder();
  for (const unit of parameterSets) if (!order.parameterSet(unit)) return false;
  const places: [number, number][] = [];
  try {
    for (const units of packets) {
      let place: [number, number] | undefined;
      for (const unit of units) {
        const type = unit[0]! & 31;
        if (type === 7 || type === 8) {
          if (!order.parameterSet(unit)) return false;
        } else if ((type === 1 || type === 5) && place === undefined) {
          place = order.picture(unit);
          if (place === undefined) return false;
        }
      }
      if (place === undefined) return false;
      places.push(place);
    }
  } catch {
    return false;
  }
  if (places.length !== rank.length) return false;
  const byDisplay = places.map((_, i) => i).sort((a, b) => places[a]![0] - places[b]![0] || places[a]![1] - places[b]![1]);
  // Two pictures of one place (equal POC in one sequence) have no order of their own.
  for (let k = 1; k < byDisplay.length; k++) {
    const [a, b] = [places[byDisplay[k - 1]!]!, places[byDisplay[k]!]!];
    if (a[0] === b[0] && a[1] === b[1]) return false;
  }
  return byDisplay.every((packet, position) => rank[packet] === position);
}
