import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import type { FeedCache } from '../feed-cache.ts';
import type { Sessions } from '../sessions.ts';
import type { LocalDiskStorage } from '../storage/local-disk.ts';
import { creativesRoutes } from './creatives.ts';
import { fileRoutes } from './files.ts';
import { uploadRoutes } from './upload.ts';

export interface CreativesFeatureOptions {
  config: Config;
  db: Queryable;
  storage: LocalDiskStorage;
  sessions: Sessions;
  feedCache: FeedCache;
}

/** Uploads, the feed, own creatives and the stored files, each in its own encapsulated plugin. */
export const creativesFeature: FastifyPluginAsync<CreativesFeatureOptions> = async (
  app,
  { config, db, storage, sessions, feedCache },
) => {
  await app.register(uploadRoutes, { db, storage, rules: config, sessions, feedCache });
  await app.register(creativesRoutes, { db, storage, appTimezone: config.appTimezone, sessions, feedCache });
  await app.register(fileRoutes, { directory: storage.directory });
};
