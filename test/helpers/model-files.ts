import { LakehouseError } from '../../engine/api/errors.ts';
import { type Layer, parseModelFile } from '../../engine/project/models.ts';

/** Model `id` (layer.name) as parsed from models/<layer>/<name>.sql holding `sql` under a config header. */
export function model(id: string, sql: string, header = 'materialized: table') {
  const [layer, name] = id.split('.') as [Layer, string];
  return parseModelFile(`models/${layer}/${name}.sql`, `/* config\n${header}\n*/\n${sql}`, layer);
}

/** The error parsing `text` as the model file `file` (models/<layer>/...) throws. */
export function modelFileFailure(text: string, file = 'models/gold/m.sql'): LakehouseError {
  try {
    parseModelFile(file, text, file.split('/')[1] as Layer);
  } catch (error) {
    if (error instanceof LakehouseError) return error;
    throw error;
  }
  throw new Error('expected the model file to be refused');
}
