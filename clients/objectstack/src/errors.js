// SQLSTATE -> ObjectStack error mapping.
import { ConflictError, NotFoundError, SchemaValidationError } from '@objectstack/metadata-core';

/** expected_version / expected_checksum mismatch (and a moved live layer). */
export const CONFLICT = '40001';

/**
 * SQLSTATEs of a document the extension refuses: 23514 schema or locked path, 22023 not a
 * JSON object, 54000/54001 over the size or depth limit, 22P02/22P05 not storable as jsonb.
 */
const INVALID = new Set(['23514', '22023', '54000', '54001', '22P02', '22P05']);

/** The issues of a refused document: the extension's DETAIL (a JSON array for 23514), else the message. */
function issuesOf(err) {
  if (err.detail) {
    try {
      const parsed = JSON.parse(err.detail);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // DETAIL is plain text
    }
  }
  return [{ code: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) }];
}

/**
 * Maps an error of a write to ObjectStack's errors.
 * @param {Error & {code?: string, detail?: string}} err the driver's error
 * @param {import('@objectstack/metadata-core').MetaRef} ref
 * @param {string|null} expectedParent the parentVersion the caller gave
 * @param {() => Promise<string|null>} head reads the current head hash (for ConflictError)
 * @returns {Promise<Error>} ConflictError (40001), SchemaValidationError (refused document), or err itself
 */
export async function mapWriteError(err, ref, expectedParent, head) {
  if (err?.code === CONFLICT) return new ConflictError(ref, expectedParent, await head().catch(() => null));
  if (INVALID.has(err?.code)) return Object.assign(new SchemaValidationError(ref, issuesOf(err)), { cause: err });
  return err;
}

/**
 * A spec that cannot be written as JSON text (BigInt, cycle, no object) as SchemaValidationError.
 * @param {import('@objectstack/metadata-core').MetaRef} ref
 * @param {unknown} spec
 * @returns {string} the JSON text
 */
export function specText(ref, spec) {
  let text;
  try {
    text = JSON.stringify(spec);
  } catch (err) {
    throw new SchemaValidationError(ref, [{ message: `spec is not serialisable as JSON: ${err.message}` }]);
  }
  if (text === undefined || !text.startsWith('{')) {
    throw new SchemaValidationError(ref, [{ message: 'spec must serialise to a JSON object' }]);
  }
  return text;
}

export { ConflictError, NotFoundError, SchemaValidationError };
