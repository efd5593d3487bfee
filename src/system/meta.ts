import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { todayIn } from '../platform/calendar.ts';
import type { Config } from '../config.ts';

const Meta = Type.Object({
  timezone: Type.String({ description: 'APP_TIMEZONE: the zone that defines "today"' }),
  today: Type.String({ format: 'date' }),
  max_upload_bytes: Type.Integer(),
  max_schedule_days: Type.Integer(),
  otp_length: Type.Integer(),
  accepted_types: Type.Array(Type.String()),
  max_image_pixels: Type.Integer({ description: 'MAX_IMAGE_PIXELS: width × height × frames above this is refused' }),
  variants: Type.Object(
    { thumb: Type.Integer(), feed: Type.Integer() },
    { description: 'Width in pixels of each variant a creative gets (never wider than the image)' },
  ),
  default_country: Type.String({ description: 'DEFAULT_COUNTRY: the region of numbers given without +' }),
  otp_allowed_countries: Type.Union([Type.Array(Type.String()), Type.Literal('*')], {
    description: 'OTP_ALLOWED_COUNTRIES: regions whose mobile numbers may sign up, or "*" for all',
  }),
  uploads_per_user_per_hour: Type.Integer({ description: 'UPLOADS_PER_USER_PER_HOUR: past it, 429 with Retry-After' }),
  user_quota_bytes: Type.Integer({ description: "USER_QUOTA_BYTES: a person's stored bytes; past it, 413 quota_exceeded" }),
  uploads_in_flight_per_user: Type.Integer({
    description: 'UPLOADS_IN_FLIGHT_PER_USER: uploads one person may send at once; past it, 429 at once',
  }),
  upload_max_seconds: Type.Integer({ description: 'UPLOAD_MAX_SECONDS: an upload must arrive whole within this (else 408)' }),
  feed_limit: Type.Integer({
    description: 'FEED_LIMIT: most creatives a day in GET /scheduled; GET /feed pages through the rest',
  }),
  page_limit_max: Type.Integer({ description: 'largest `limit` of GET /feed and GET /creatives' }),
  sms_provider: Type.Union([Type.Literal('console'), Type.Literal('twilio')], {
    description: "SMS_PROVIDER: with console, codes are written to the server's log, not sent",
  }),
});

/** `GET /meta` (public): the limits a client checks before it sends anything. */
export interface MetaOptions {
  config: Config;
  /** MIME types an upload may have. */
  acceptedTypes: string[];
  variantWidths: { thumb: number; feed: number };
  /** The largest page the paged routes give. */
  pageLimitMax: number;
}

export const metaRoutes: FastifyPluginAsyncTypebox<MetaOptions> = async (
  app,
  { config, acceptedTypes, variantWidths, pageLimitMax },
) => {
  app.get(
    '/meta',
    {
      schema: {
        tags: ['meta'],
        operationId: 'getMeta',
        summary: 'Limits and the current date, for client-side validation',
        response: { 200: Meta },
      },
    },
    async () => ({
      timezone: config.appTimezone,
      today: todayIn(config.appTimezone),
      max_upload_bytes: config.maxUploadBytes,
      max_schedule_days: config.maxScheduleDays,
      otp_length: config.otp.length,
      accepted_types: acceptedTypes,
      max_image_pixels: config.maxImagePixels,
      variants: variantWidths,
      default_country: config.defaultCountry,
      otp_allowed_countries: config.otp.allowedCountries,
      uploads_per_user_per_hour: config.uploadsPerUserPerHour,
      user_quota_bytes: config.userQuotaBytes,
      uploads_in_flight_per_user: config.uploadsInFlightPerUser,
      upload_max_seconds: config.uploadMaxSeconds,
      feed_limit: config.feedLimit,
      page_limit_max: pageLimitMax,
      sms_provider: config.smsProvider,
    }),
  );
};
