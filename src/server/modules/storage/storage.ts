import path from 'node:path';
import type { StorageKind } from '../../config.js';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { BlobStore } from './blob-store.js';
import { DatabaseBlobStore } from './database-blob-store.js';
import { FileBlobStore } from './file-blob-store.js';

/** The blob store the configuration names: files under the data directory, or the database. */
export function openBlobStore(deps: {
  kind: StorageKind;
  dataDir: string;
  db: Executor;
  clock: Clock;
}): BlobStore {
  return deps.kind === 'database'
    ? new DatabaseBlobStore({ db: deps.db, clock: deps.clock })
    : new FileBlobStore(path.join(deps.dataDir, 'blobs'));
}
