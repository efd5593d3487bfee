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
});

/** `GET /meta` (public): the limits a client checks before it sends anything. */
export interface MetaOptions {
  config: Config;
  /** MIME types an upload may have. */
  acceptedTypes: string[];
}

export const metaRoutes: FastifyPluginAsyncTypebox<MetaOptions> = async (app, { config, acceptedTypes }) => {
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
    }),
  );
};
