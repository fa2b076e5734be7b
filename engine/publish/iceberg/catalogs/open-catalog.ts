import type { Catalog } from '../catalog.ts';
import type { IcebergCatalogConfig } from '../config.ts';
import { fileIOFor } from '../file-io.ts';
import { createFileSystemCatalog } from './fs-catalog.ts';
import { createGlueCatalog } from './glue-catalog.ts';
import { createRestCatalog } from './rest-catalog.ts';

/** Opens the catalog a config entry describes. `cacheDir` holds downloads of remote files. */
export async function openCatalog(config: IcebergCatalogConfig, cacheDir: string): Promise<Catalog> {
  switch (config.type) {
    case 'filesystem': {
      const io = fileIOFor(config.warehouse, { ...(config.s3 ? { s3: config.s3 } : {}), cacheDir });
      return createFileSystemCatalog(io, `file-system warehouse ${config.warehouse}`);
    }
    case 'glue': {
      // A Glue table may live under any prefix (another tool created it there).
      const io = fileIOFor(config.warehouse, {
        ...(config.s3 ? { s3: config.s3 } : {}),
        cacheDir,
        anywhere: true,
      });
      return createGlueCatalog(io, config);
    }
    case 'rest':
      return createRestCatalog(config, cacheDir);
  }
}
