import { errors } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
// A flat character class, not groups of four: a grouped pattern backtracks its way to a stack
// overflow on a multi-megabyte chunk.
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes to a JSON string; utf8 refuses bytes that are not UTF-8 rather than silently mangling them. */
export function encodeContent(bytes: Uint8Array, encoding: 'utf8' | 'base64'): string {
  if (encoding === 'base64')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  try {
    return utf8.decode(bytes);
  } catch {
    throw errors.invalidParams("the content is not valid UTF-8; read it with encoding: 'base64'");
  }
}

/** A JSON string to bytes; base64 is checked strictly (Node's decoder would skip bad characters). */
export function decodeContent(content: string, encoding: 'utf8' | 'base64', field = 'content'): Buffer {
  if (encoding === 'utf8') return Buffer.from(content, 'utf8');
  if (content.length % 4 !== 0 || !base64.test(content))
    throw errors.invalidParams(`${field} is not valid base64 (standard alphabet, padded)`);
  return Buffer.from(content, 'base64');
}
