/**
 * What a probe tells about a video's first video stream (src/video/probe.ts from ffprobe,
 * src/video/mp4-probe.ts from the MP4 boxes), and the packet index a sparse decode plans from.
 */

/** A clockwise quarter turn count, in degrees, as OpenCV 4.6's VideoCapture applies it by default. */
export type Rotation = 0 | 90 | 180 | 270;

export interface VideoProbe {
  /** Width of the frames as decoded, after rotation. */
  readonly width: number;
  /** Height of the frames as decoded, after rotation. */
  readonly height: number;
  /** Size as stored in the stream, before rotation. */
  readonly storedWidth: number;
  readonly storedHeight: number;
  /** The container's frame count (nb_frames), null when the container does not say. */
  readonly frameCount: number | null;
  /** Clockwise rotation applied to every frame (from the display matrix; 0 when none or not a quarter turn). */
  readonly rotation: Rotation;
  readonly pixFmt: string;
  readonly codec: string;
}

/**
 * The packets of an H.264 stream in an MP4/MOV file, in decode order, as ffprobe lists them without
 * decoding: what a sparse decode needs to know which frames it may skip (src/video/sparse-decode.ts).
 */
export interface PacketIndex {
  /** Presentation timestamps (stream time base); NaN where the container gives none. */
  readonly pts: Float64Array;
  /** Byte offset of each packet's data in the file. */
  readonly pos: Float64Array;
  readonly size: Float64Array;
  /** PACKET_KEY and PACKET_DISCARD bits. */
  readonly flags: Uint8Array;
  /** The size of the stream's decoder configuration (the MP4 avcC box), to check the one read from the file. */
  readonly extradataSize: number;
  /** The decoder's reorder delay: 0 when no picture is shown after a later-decoded one (no B-frames). */
  readonly reorderDelay: number;
}

export const PACKET_KEY = 1;
export const PACKET_DISCARD = 2;
