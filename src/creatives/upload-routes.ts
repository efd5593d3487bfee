import { rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { Readable } from 'node:stream';
import multipart, { type Multipart } from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { addDays, isCalendarDate, todayIn } from '../platform/calendar.ts';
import type { Config } from '../config.ts';
import { auditCreatives } from './audit.ts';
import { CreativeSchema } from './repository.ts';
import { ErrorBody, HttpError, toHttpError } from '../platform/http/errors.ts';
import { startAtZero } from '../platform/metrics.ts';
import type { CreativesMetrics } from './metrics.ts';
import { DETECTION_SAMPLE_BYTES, detectImageType } from './image-type.ts';
import type { ImageProcessor } from './images.ts';
import { createCreativeFromFile } from './intake.ts';
import type { CreativesService } from './service.ts';
import type { UploadAdmission, UploadTicket } from './upload-admission.ts';
import { receiveToFile, temporaryImagePath } from './temporary-file.ts';

export type UploadRules = Pick<Config, 'maxUploadBytes' | 'appTimezone' | 'maxScheduleDays'>;

export interface UploadOptions {
  creatives: CreativesService;
  admission: UploadAdmission;
  images: ImageProcessor;
  rules: UploadRules;
  metrics: CreativesMetrics;
}

/** `scheduled_at` is ten characters; anything much longer is refused without being buffered. */
const FIELD_SIZE_LIMIT = 64;
const FIELDS = 'send exactly two fields: "file" (the image) and "scheduled_at" (YYYY-MM-DD)';
const ACCEPTED_NAMES = 'JPEG, PNG, GIF or WebP';
/** What uploads_total counts, exported at 0 from start-up: stored, or the error code the client was told. */
const UPLOAD_OUTCOMES = [
  'stored',
  'validation_failed',
  'unauthorized',
  'unsupported_media_type',
  'body_too_large',
  'file_too_large',
  'image_too_large',
  'quota_exceeded',
  'rate_limited',
  'request_timeout',
  'insufficient_storage',
  'service_unavailable',
  'internal',
];
const UPLOAD_LIMIT = 'uploads-per-user';

/**
 * `POST /upload-creative`: a multipart upload streamed to a temporary file, checked by content,
 * decoded and stripped with its variants made, then stored and recorded.
 */
export const uploadRoutes: FastifyPluginAsyncTypebox<UploadOptions> = async (
  app,
  { creatives, admission, images, rules, metrics },
) => {
  // Only multipart is parsed here (and only here). Any other body is left unread for the handler
  // to refuse with a message saying what to send.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  startAtZero(metrics.uploads, 'outcome', UPLOAD_OUTCOMES);
  startAtZero(metrics.rateLimitRefusals, 'limit', [UPLOAD_LIMIT]);
  await app.register(multipart, {
    limits: { fileSize: rules.maxUploadBytes, fieldSize: FIELD_SIZE_LIMIT, fieldNameSize: 100 },
  });

  app.post(
    '/upload-creative',
    {
      config: { streamedBody: true },
      // The body is read as a stream by the handler, which checks it; the schema documents it.
      validatorCompiler: () => () => true,
      schema: {
        tags: ['creatives'],
        operationId: 'uploadCreative',
        summary: 'Upload an image scheduled for a date',
        description: `Fields in either order. The type is decided by the content (${ACCEPTED_NAMES}) and the image must decode whole; at most MAX_UPLOAD_BYTES and MAX_IMAGE_PIXELS (width × height × frames); the date from today (APP_TIMEZONE) to MAX_SCHEDULE_DAYS ahead. What is stored is the file as sent with its metadata taken out of its structure (no EXIF, XMP, IPTC, comments or text chunks; the ICC profile stays): its decoded pixels equal the upload's. A rotated or mirrored JPEG keeps an EXIF block holding its Orientation alone, which browsers apply; width and height are as displayed. Thumb and feed WebP variants are made. Per person at most UPLOADS_PER_USER_PER_HOUR uploads and IMAGE_SECONDS_PER_USER_PER_HOUR of image processing (refused uploads that were decoded count toward both), UPLOADS_IN_FLIGHT_PER_USER at once (429 with Retry-After), and USER_QUOTA_BYTES stored (413 quota_exceeded, counting bytes still arriving; deleting a creative frees its bytes); the whole file within UPLOAD_MAX_SECONDS (408); 503 with Retry-After when the server holds UPLOAD_TEMP_MAX_BYTES of arriving uploads; 507 insufficient_storage when its disk is nearly full. GET /meta gives the figures.`,
        security: [{ bearer: [] }],
        consumes: ['multipart/form-data'],
        body: Type.Object(
          { file: Type.String({ format: 'binary' }), scheduled_at: Type.String({ format: 'date' }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ creative: CreativeSchema }),
          400: ErrorBody,
          401: ErrorBody,
          408: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
          507: ErrorBody,
        },
      },
      onError: async (request, _reply, error) => {
        const { code, statusCode } = toHttpError(error);
        auditCreatives(request.log, 'upload_refused', {
          user_id: request.user?.id ?? null,
          error_code: code,
          status: statusCode,
          via: 'multipart',
        });
        metrics.uploads.inc({ outcome: code });
        // This route's rate limits: per person per hour (uploads, image time) and in flight.
        if (code === 'rate_limited') metrics.rateLimitRefusals.inc({ limit: UPLOAD_LIMIT });
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) throw new HttpError(415, `the body must be multipart/form-data: ${FIELDS}`);
      // A person at a limit, or a server short of room, is refused before the body is read.
      const ticket = await admission.admit(request.user!.id);
      const receiving = receiveUpload(request, rules, ticket);
      try {
        const upload = await ticket.withinDeadline(receiving, (late) => rm(late.path, { force: true }));
        const creative = await createCreativeFromFile(
          { creatives, images, metrics },
          upload.path,
          { userId: request.user!.id, scheduledAt: upload.scheduledAt, via: 'multipart' },
          { log: request.log, inTurn: (work) => ticket.processImage(work) },
        );
        return reply.code(201).send({ creative });
      } finally {
        // Bytes may still be arriving after a 408: the ticket holds them until the body has ended.
        void receiving.then(noop, noop).then(() => ticket.release());
      }
    },
  );
};

function noop(): void {}

/** The file, whole, in a temporary file of its own. */
interface ReceivedFile {
  path: string;
}

/**
 * Reads every part of the form, whatever goes wrong: the first problem is remembered, later parts
 * are read to their end and thrown away, so the client always gets its answer and no stream is
 * left half-read. Only a complete, valid form gets its file back, still unpublished.
 */
async function receiveUpload(
  request: FastifyRequest,
  rules: UploadRules,
  ticket: UploadTicket,
): Promise<ReceivedFile & { scheduledAt: string }> {
  let file: ReceivedFile | undefined;
  let scheduledAt: string | undefined;
  let failure: unknown;
  try {
    for await (const part of request.parts()) {
      if (failure === undefined) {
        try {
          if (part.type === 'file' && part.fieldname === 'file') {
            if (file) throw new HttpError(400, `a second file was sent: ${FIELDS}`, { field: 'file' });
            file = await receiveFile(part.file, rules.maxUploadBytes, ticket);
          } else if (part.type === 'field' && part.fieldname === 'scheduled_at') {
            if (scheduledAt !== undefined)
              throw new HttpError(400, `field "scheduled_at" was sent twice: ${FIELDS}`, { field: 'scheduled_at' });
            scheduledAt = checkScheduledDate(part.value, part.valueTruncated, rules);
          } else {
            throw new HttpError(400, `unexpected ${part.type === 'file' ? 'file' : 'field'} "${part.fieldname}": ${FIELDS}`, {
              field: part.fieldname,
            });
          }
        } catch (error) {
          failure = error;
        }
      }
      if (part.type === 'file') await drain(part);
    }
  } catch (error) {
    failure ??= malformed(error);
  }
  if (failure === undefined && !file) failure = new HttpError(400, `field "file" is missing: ${FIELDS}`, { field: 'file' });
  if (failure === undefined && scheduledAt === undefined)
    failure = new HttpError(400, `field "scheduled_at" is missing: ${FIELDS}`, { field: 'scheduled_at' });
  if (failure !== undefined) {
    if (file) await rm(file.path, { force: true });
    throw failure as Error;
  }
  return { ...file!, scheduledAt: scheduledAt! };
}

/** Checks the first bytes, then streams the whole file to a temporary file. */
async function receiveFile(
  source: Readable & { truncated?: boolean },
  maxBytes: number,
  ticket: UploadTicket,
): Promise<ReceivedFile> {
  // Not destroyed on return: a refused file is still read to its end (see `drain`).
  const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
  try {
    const head = await readHead(chunks, DETECTION_SAMPLE_BYTES);
    ticket.arrive(head.length);
    if (head.length === 0) throw new HttpError(400, 'the file is empty', { field: 'file' });
    const type = await detectImageType(head);
    if (!type) throw new HttpError(415, `the file is not a ${ACCEPTED_NAMES} image`, { field: 'file' });
    const path = temporaryImagePath();
    await receiveToFile(Readable.from(replay(head, counted(chunks, ticket)), { objectMode: false }), path);
    // The parser stops passing bytes on at the limit and flags the stream.
    if (source.truncated) {
      await rm(path, { force: true });
      throw new HttpError(413, `the file is larger than ${maxBytes} bytes`, { code: 'file_too_large', field: 'file' });
    }
    return { path };
  } catch (error) {
    await chunks.return?.();
    throw clientFault(source, error);
  }
}

async function readHead(chunks: AsyncIterator<Buffer>, size: number): Promise<Buffer> {
  const head: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const next = await chunks.next();
    if (next.done) break;
    head.push(next.value);
    length += next.value.length;
  }
  return Buffer.concat(head);
}

/** The chunks, each counted toward the temporary bytes (and the person's quota) as it arrives. */
async function* counted(chunks: AsyncIterator<Buffer>, ticket: UploadTicket): AsyncGenerator<Buffer> {
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    ticket.arrive(next.value.length);
    yield next.value;
  }
}

async function* replay(head: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield head;
  yield* rest;
}

/** Reads what is left of a file part and throws it away. */
async function drain(part: Multipart & { type: 'file' }): Promise<void> {
  part.file.resume();
  await finished(part.file).catch(() => {});
}

/** An error from the file stream itself is the client's (a truncated or garbled body), not ours. */
function clientFault(source: Readable, error: unknown): unknown {
  if (error instanceof HttpError || !source.errored) return error;
  return malformed(source.errored);
}

/** The multipart parser's errors, as answers: 413 for its size limits, 400 for anything else. */
function malformed(error: unknown): HttpError {
  const { statusCode, message } = error as { statusCode?: number; message?: string };
  if (statusCode === 413) return new HttpError(413, message ?? 'request too large');
  return new HttpError(400, `malformed multipart body: ${message ?? 'unreadable'}`);
}

function checkScheduledDate(value: unknown, truncated: boolean, rules: UploadRules): string {
  if (typeof value !== 'string' || truncated || !isCalendarDate(value)) {
    throw new HttpError(400, 'scheduled_at must be a calendar date as YYYY-MM-DD', { field: 'scheduled_at' });
  }
  const today = todayIn(rules.appTimezone);
  if (value < today)
    throw new HttpError(400, `scheduled_at must not be before today (${today} in ${rules.appTimezone})`, {
      field: 'scheduled_at',
    });
  const last = addDays(today, rules.maxScheduleDays);
  if (value > last) {
    throw new HttpError(400, `scheduled_at must be at most ${rules.maxScheduleDays} days after today (${last} at the latest)`, {
      field: 'scheduled_at',
    });
  }
  return value;
}
