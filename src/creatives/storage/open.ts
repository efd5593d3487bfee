import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.ts';
import { LocalDiskStorage } from './local-disk.ts';
import type { Storage } from './storage.ts';

/**
 * The configured storage, ready: UPLOAD_DIR created and cleared of interrupted uploads, or the
 * bucket found (else a start-up error naming it). The S3 SDK loads only when it is used.
 */
export async function openStorage(config: Pick<Config, 'storage' | 'uploadDir'>, logger: FastifyBaseLogger): Promise<Storage> {
  if (config.storage.kind === 's3') {
    const { S3Storage } = await import('./s3.ts');
    return S3Storage.open(config.storage);
  }
  const { storage, swept } = await LocalDiskStorage.open(config.uploadDir);
  if (swept > 0) logger.info({ files: swept, directory: storage.directory }, 'removed temporary files of interrupted uploads');
  return storage;
}
