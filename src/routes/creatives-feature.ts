import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import type { LocalDiskStorage } from '../storage/local-disk.ts';
import { creativesRoutes } from './creatives.ts';
import { fileRoutes } from './files.ts';
import { uploadRoutes } from './upload.ts';

export interface CreativesFeatureOptions {
  config: Config;
  db: Queryable;
  storage: LocalDiskStorage;
}

/** Uploads, the feed, own creatives and the stored files, each in its own encapsulated plugin. */
export const creativesFeature: FastifyPluginAsync<CreativesFeatureOptions> = async (app, { config, db, storage }) => {
  await app.register(uploadRoutes, { db, storage, rules: config });
  await app.register(creativesRoutes, { db, storage, appTimezone: config.appTimezone });
  await app.register(fileRoutes, { directory: storage.directory });
};
