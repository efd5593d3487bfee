import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fresh from 'fresh';
import parseRange from 'range-parser';
import { ErrorBody, HttpError } from '../platform/http/errors.ts';
import { ACCEPTED_IMAGE_TYPES } from './image-type.ts';
import type { CreativesService } from './service.ts';
import {
  contentTypeOf,
  FILE_CACHE_CONTROL,
  isStoredName,
  URL_PREFIX,
  type ByteRange,
  type Storage,
  type StoredFile,
} from './storage/storage.ts';

/** What every stored file is served with: it is never a page, never sniffed, and never changes. */
export const FILE_HEADERS = {
  'content-security-policy': "default-src 'none'; sandbox",
  'x-content-type-options': 'nosniff',
  'cache-control': FILE_CACHE_CONTROL,
} as const;

/** The bytes of an image, as the document describes a file's 200 and 206. */
const IMAGE = {
  content: Object.fromEntries(ACCEPTED_IMAGE_TYPES.map(({ mime }) => [mime, { schema: { type: 'string', format: 'binary' } }])),
};

/**
 * `GET /uploads/<name>` (and HEAD): a stored file, from whichever storage is configured, so every
 * instance serves every file. Streamed, with ETag/If-None-Match and one byte range. Only a stored
 * file's exact name is served: no directory, listing, redirect, temporary file or other path.
 * A name a creative had before its file was renamed is answered with the file it has now: the same
 * image, same headers, no redirect (README, "Coming from the Go original", says why).
 */
export const fileRoutes: FastifyPluginAsync<{ creatives: CreativesService }> = async (app, { creatives }) => {
  const { storage } = creatives;
  app.route({
    method: ['GET', 'HEAD'],
    url: `${URL_PREFIX}:name`,
    schema: {
      tags: ['files'],
      operationId: 'getFile',
      summary: 'A stored creative or variant (ranges, ETag and If-None-Match supported)',
      params: {
        type: 'object',
        properties: { name: { type: 'string', description: '<uuid>.<ext>, <uuid>.thumb.webp or <uuid>.feed.webp' } },
      },
      response: {
        200: { description: 'The file, streamed' },
        206: { description: 'The requested byte range' },
        304: { description: 'Not modified (If-None-Match)' },
        404: ErrorBody,
        416: ErrorBody,
        503: ErrorBody,
      },
    },
    config: { openapi: { response: { 200: IMAGE, 206: IMAGE } } },
    handler: async (request, reply) => {
      // Judged on the path as sent, so `//name`, `./name` or a percent-encoded name are not served.
      const requested = request.url.split('?')[0]!.slice(URL_PREFIX.length);
      const found = isStoredName(requested) ? await locate(storage, creatives, requested) : undefined;
      if (!found) throw notFound(request);
      const { name, file } = found;
      const range = requestedRange(request.headers.range, file.size);
      const headers = {
        ...FILE_HEADERS,
        'content-type': contentTypeOf(name),
        etag: file.etag,
        'last-modified': file.modifiedAt.toUTCString(),
        'accept-ranges': 'bytes',
      };
      if (fresh(request.headers, { etag: file.etag })) return reply.code(304).headers(headers).send();
      const length = range.end - range.start + 1;
      const sendsBody = request.method !== 'HEAD' && length > 0;
      // Opened before any header is set: a file deleted since stat is a plain 404.
      const body = sendsBody ? await storage.open(name, range) : undefined;
      if (sendsBody && !body) throw notFound(request);
      if (range.partial) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
      return reply.headers(headers).header('content-length', length).send(body);
    },
  });
};

/** The stored file behind `name`: its own, or, for a renamed creative's old name, the one it has now. */
async function locate(
  storage: Storage,
  creatives: CreativesService,
  name: string,
): Promise<{ name: string; file: StoredFile } | undefined> {
  const file = await storage.stat(name);
  if (file) return { name, file };
  const current = await creatives.currentNameOf(name);
  const renamed = current === undefined ? undefined : await storage.stat(current);
  return renamed && { name: current!, file: renamed };
}

/**
 * The bytes to send: the one range asked for (206), else the whole file. Several ranges are
 * answered with the whole file, which RFC 9110 allows; a range past the end is 416.
 */
function requestedRange(header: string | undefined, size: number): ByteRange & { partial: boolean } {
  const whole = { start: 0, end: size - 1, partial: false };
  if (header === undefined || size === 0) return whole;
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) {
    throw new HttpError(416, `the range "${header}" lies outside the file's ${size} bytes`, {
      code: 'range_not_satisfiable',
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  // -2: malformed, which a server ignores; so are other units than bytes.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return whole;
  return { ...ranges[0]!, partial: true };
}

function notFound(request: FastifyRequest): HttpError {
  return new HttpError(404, `${request.method} ${request.url.split('?')[0]} not found`, { code: 'not_found' });
}
