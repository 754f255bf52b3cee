import { z } from 'zod';
import { defineMethod } from './define.js';
import { diskInfoSchema } from './klient.js';

/** A path on the machine: absolute, or relative to the Klient user's home. */
const path = z
  .string()
  .min(1, 'path must not be empty')
  .max(4096)
  .refine((p) => !p.includes('\0'), {
    message: 'path must not contain NUL bytes',
  });
const bytes = z.number().int().nonnegative();
/** Permission bits (e.g. 0o644 = 420), including setuid/setgid/sticky. */
const mode = z.number().int().min(0).max(0o7777);
/** Lowercase hex SHA-256 of a file's whole content, as returned by fs.readFile / fs.getInfo. */
const contentHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'ifMatch must be a lowercase hex sha256 as returned by fs.readFile');
const encoding = z.enum(['utf8', 'base64']);

export const fsEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  /** The entry itself (lstat): a symlink is `symlink`; `targetType` says what it points at. */
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: bytes,
  mode,
  /** Modification time, epoch milliseconds. */
  mtime: z.number(),
  target: z.string().optional(),
  targetType: z.enum(['file', 'directory', 'other']).optional(),
  /** A symlink whose target does not exist (or cannot be reached). */
  broken: z.boolean().optional(),
  readable: z.boolean(),
  writable: z.boolean(),
});
export type FsEntry = z.infer<typeof fsEntrySchema>;

/** What a directory watch stream carries (JSON `stream.data`). */
export const fsWatchEventSchema = z.object({
  type: z.enum(['added', 'removed', 'changed']),
  name: z.string(),
  path: z.string(),
  /** Absent for `removed`. */
  entry: fsEntrySchema.optional(),
});
export type FsWatchEvent = z.infer<typeof fsWatchEventSchema>;

const writeResult = z.object({ path: z.string(), size: bytes, hash: z.string(), mtime: z.number() });

/**
 * What fs.commitWrite reports of the file's content: `hash` (its sha256, what ifMatch takes), or
 * with `checksum: 'crc32'` at fs.openWrite its CRC-32 instead, as 8 lowercase hex digits: a
 * caller that only checks the transfer (kd cp) saves two thirds of the hashing at each end.
 */
export const uploadChecksumSchema = z.enum(['sha256', 'crc32']);
const commitResult = writeResult.extend({
  hash: z.string().optional(),
  crc32: z
    .string()
    .regex(/^[0-9a-f]{8}$/)
    .optional(),
});

/** Where and how a write lands; shared by fs.writeFile and fs.openWrite. */
const writeTarget = {
  path,
  /** Mode for a new file; an existing file keeps its own unless this is given. */
  mode: mode.optional(),
  /** Add to the end of the existing content. */
  append: z.boolean().default(false),
  /** Overwrite starting at this byte of the existing content, keeping the rest. */
  offset: bytes.optional(),
  /** Refuse (Conflict) unless the file's current content has this hash. */
  ifMatch: contentHash.optional(),
  /** Refuse (Conflict) if the file already exists. */
  ifNotExists: z.boolean().default(false),
  /** Create missing parent directories. */
  createParents: z.boolean().default(false),
};
const oneWriteMode = (p: { append: boolean; offset?: number }) => !(p.append && p.offset !== undefined);
const oneWriteModeMessage = { message: 'give append or offset, not both', path: ['offset'] };

/** fs.*: files and directories on the machine, as the Klient user. */
export const fsMethods = {
  'fs.readDirectory': defineMethod({
    summary:
      'List a directory in pages (sorted by name); optionally watch it for added/removed/changed entries.',
    access: 'read',
    streams: true,
    params: z
      .object({
        path,
        /** `nextCursor` of the previous page. */
        cursor: z.string().max(8192).optional(),
        limit: z.number().int().min(1).max(10_000).default(1000),
        /** Open a watch stream on this directory (events until fs.unwatch, cancel or disconnect). */
        watch: z.boolean().default(false),
      })
      .strict(),
    result: z.object({
      path: z.string(),
      entries: z.array(fsEntrySchema),
      /** Pass back as `cursor` for the next page; null on the last page. */
      nextCursor: z.string().nullable(),
      /** Stream id of the watch, when `watch` was asked. */
      watchId: z.number().int().optional(),
    }),
  }),
  'fs.unwatch': defineMethod({
    summary: 'Stop a directory watch opened by fs.readDirectory on this connection.',
    access: 'read',
    params: z.object({ watchId: z.number().int() }).strict(),
    result: z.object({ stopped: z.boolean() }),
  }),
  'fs.readFile': defineMethod({
    summary:
      'Read a file (or a byte range): inline for small reads, or as a binary stream with `stream: true`.',
    access: 'read',
    streams: true,
    params: z
      .object({
        path,
        offset: bytes.default(0),
        length: bytes.optional(),
        encoding: encoding.default('utf8'),
        /** Send the bytes as binary stream frames instead of inline; needed above the inline limit. */
        stream: z.boolean().default(false),
      })
      .strict(),
    result: z.object({
      path: z.string(),
      /** Size of the whole file. */
      size: bytes,
      mtime: z.number(),
      /** Bytes this read covers (inline) or will send (stream). */
      length: bytes,
      /** Hash of the whole file, for a later ifMatch; present when the read covers the whole file inline. */
      hash: z.string().optional(),
      content: z.string().optional(),
      encoding: encoding.optional(),
      /** With `stream: true`: binary frames, then `stream.end` with `{ bytes, hash? }`. */
      streamId: z.number().int().optional(),
    }),
  }),
  'fs.writeFile': defineMethod({
    summary:
      'Write a file atomically (temp file, fsync, rename): replace, append or write at an offset; ifMatch refuses a lost update.',
    access: 'write',
    params: z
      .object({ ...writeTarget, content: z.string(), encoding: encoding.default('utf8') })
      .strict()
      .refine(oneWriteMode, oneWriteModeMessage),
    result: writeResult,
  }),
  'fs.openWrite': defineMethod({
    summary:
      'Start a chunked upload into a temp file beside the target; fs.commitWrite makes it the file atomically.',
    access: 'write',
    params: z
      .object({ ...writeTarget, checksum: uploadChecksumSchema.default('sha256') })
      .strict()
      .refine(oneWriteMode, oneWriteModeMessage),
    result: z.object({ uploadId: z.string() }),
  }),
  'fs.writeChunk': defineMethod({
    summary: 'Append a chunk to an upload; `at` (bytes received so far) makes a retried chunk detectable.',
    access: 'write',
    params: z
      .object({
        uploadId: z.string(),
        data: z.string(),
        encoding: encoding.default('base64'),
        at: bytes.optional(),
      })
      .strict(),
    result: z.object({ received: bytes }),
  }),
  'fs.writeStream': defineMethod({
    summary:
      'Feed an upload from a binary stream the caller opened (faster than base64 chunks); answers once the stream ended and its bytes are written.',
    access: 'write',
    params: z
      .object({
        uploadId: z.string(),
        /** A stream this connection opened (odd id from the connecting side); its binary frames are the bytes. */
        streamId: z.number().int(),
        /** Bytes received so far by this upload, as with fs.writeChunk: a mismatch is refused. */
        at: bytes.optional(),
      })
      .strict(),
    result: z.object({
      /** Bytes this stream carried. */
      written: bytes,
      /** Bytes the upload has received in all. */
      received: bytes,
    }),
  }),
  'fs.commitWrite': defineMethod({
    summary:
      "Finish an upload: fsync, check ifMatch again, rename over the target; reports the content's sha256, or its CRC-32 if the upload asked for that.",
    access: 'write',
    params: z.object({ uploadId: z.string() }).strict(),
    result: commitResult,
  }),
  'fs.abortWrite': defineMethod({
    summary: 'Drop an upload and its temp file; the target is untouched.',
    access: 'write',
    params: z.object({ uploadId: z.string() }).strict(),
    result: z.object({ aborted: z.boolean() }),
  }),
  'fs.createDirectory': defineMethod({
    summary: 'Create a directory (with its parents unless recursive is false).',
    access: 'write',
    params: z.object({ path, recursive: z.boolean().default(true), mode: mode.optional() }).strict(),
    result: z.object({ path: z.string(), created: z.boolean() }),
  }),
  'fs.remove': defineMethod({
    summary: 'Remove a file, symlink or (with recursive) a directory tree.',
    access: 'write',
    params: z.object({ path, recursive: z.boolean().default(false) }).strict(),
    result: z.object({ path: z.string(), removed: z.boolean() }),
  }),
  'fs.rename': defineMethod({
    summary: 'Rename or move a path, across filesystems too (copy then remove).',
    access: 'write',
    params: z.object({ from: path, to: path, overwrite: z.boolean().default(false) }).strict(),
    result: z.object({ from: z.string(), to: z.string() }),
  }),
  'fs.move': defineMethod({
    summary: 'Same as fs.rename (Koding name).',
    access: 'write',
    params: z.object({ from: path, to: path, overwrite: z.boolean().default(false) }).strict(),
    result: z.object({ from: z.string(), to: z.string() }),
  }),
  'fs.copy': defineMethod({
    summary: 'Copy a file or directory tree, keeping modes and symlinks.',
    access: 'write',
    params: z.object({ from: path, to: path, overwrite: z.boolean().default(false) }).strict(),
    result: z.object({ from: z.string(), to: z.string() }),
  }),
  'fs.getInfo': defineMethod({
    summary: 'Describe one path (lstat); `hash: true` adds the content hash for ifMatch.',
    access: 'read',
    params: z.object({ path, hash: z.boolean().default(false) }).strict(),
    result: fsEntrySchema.extend({ hash: z.string().optional() }),
  }),
  'fs.setPermissions': defineMethod({
    summary: 'chmod a path (recursively with recursive: true; symlinks are not followed).',
    access: 'write',
    params: z.object({ path, mode, recursive: z.boolean().default(false) }).strict(),
    result: z.object({ path: z.string(), changed: bytes }),
  }),
  'fs.glob': defineMethod({
    summary: 'Find paths matching glob patterns under a directory.',
    access: 'read',
    params: z
      .object({
        patterns: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(64)]),
        cwd: path.optional(),
        ignore: z.array(z.string()).max(64).optional(),
        dot: z.boolean().default(false),
        onlyFiles: z.boolean().default(false),
        limit: z.number().int().min(1).max(100_000).default(10_000),
      })
      .strict(),
    result: z.object({ cwd: z.string(), matches: z.array(z.string()), truncated: z.boolean() }),
  }),
  'fs.uniquePath': defineMethod({
    summary: 'A path like the given one that does not exist yet ("name", "name-1.ext", "name-2.ext", …).',
    access: 'read',
    params: z.object({ path }).strict(),
    result: z.object({ path: z.string() }),
  }),
  'fs.getDiskInfo': defineMethod({
    summary: 'Capacity of the filesystem holding a path (default: home).',
    access: 'read',
    params: z.object({ path: path.optional() }).strict(),
    result: diskInfoSchema,
  }),
  'fs.getPathSize': defineMethod({
    summary: 'Total apparent size of a file or directory tree (symlinks not followed).',
    access: 'read',
    params: z.object({ path }).strict(),
    result: z.object({
      path: z.string(),
      bytes,
      files: bytes,
      directories: bytes,
      /** Directories under the path that could not be listed (not counted). */
      unreadable: bytes,
    }),
  }),
} satisfies Record<string, ReturnType<typeof defineMethod>>;
