import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderApiTypes, SCHEMA_FILE } from '../../scripts/gen-api.js';

describe('console api types', () => {
  it('system: web/src/api/schema.d.ts is what the server’s OpenAPI document generates (run `npm run gen:api`)', async () => {
    const generated = await renderApiTypes();
    // equal strings, so a failure shows a short message rather than a 14,000-line diff
    expect(generated === readFileSync(SCHEMA_FILE, 'utf8'), 'stale: run `npm run gen:api`').toBe(true);
  });
});
