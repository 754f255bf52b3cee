/**
 * Binary frames carry stream bytes without base64: a 9-byte header, then the payload.
 *
 *   byte 0     kind (1 = stream data)
 *   bytes 1-4  stream id, unsigned big-endian
 *   bytes 5-8  sequence number of this chunk within the stream, unsigned big-endian
 */
export const FrameKind = { StreamData: 1 } as const;
export const FRAME_HEADER_BYTES = 9;

export interface BinaryFrame {
  kind: number;
  streamId: number;
  seq: number;
  payload: Uint8Array;
}

export function encodeFrame(streamId: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  out.set(payload, FRAME_HEADER_BYTES);
  return frameInPlace(streamId, seq, out);
}

/**
 * Fills in the header of `frame`, whose first FRAME_HEADER_BYTES bytes the producer left free
 * before the payload: a large payload read straight into place is framed without being copied.
 */
export function frameInPlace(streamId: number, seq: number, frame: Uint8Array): Uint8Array {
  if (frame.byteLength < FRAME_HEADER_BYTES) throw new RangeError('a frame has room for its header');
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  view.setUint8(0, FrameKind.StreamData);
  view.setUint32(1, streamId);
  view.setUint32(5, seq >>> 0);
  return frame;
}

/** Parses a binary frame; returns undefined for one too short or of an unknown kind. */
export function decodeFrame(data: Uint8Array): BinaryFrame | undefined {
  if (data.byteLength < FRAME_HEADER_BYTES) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const kind = view.getUint8(0);
  if (kind !== FrameKind.StreamData) return undefined;
  return {
    kind,
    streamId: view.getUint32(1),
    seq: view.getUint32(5),
    payload: data.subarray(FRAME_HEADER_BYTES),
  };
}
