import { ValidationError } from '../core/errors.js';
import type { ServiceContext } from '../platform/context.js';
import type { SourceId, SourceRecord } from '../store/sources.js';
import * as store from '../store/sources.js';
import type { Sql } from '../store/sql.js';
import {
  applyMapping,
  type Mapping,
  type MappingInput,
  type MappingResult,
  validateMapping,
} from './mapping.js';
import { requireSource } from './sources.js';

/** A stored mapping as the receiving path and replay use it. */
export interface StoredMapping {
  mapping: Mapping | null;
  /**
   * Set when the stored JSON does not validate (written by hand, or by an older version):
   * every event then fails with this, rather than being forwarded unmapped.
   */
  invalid: string | null;
}

export function storedMapping(record: Pick<SourceRecord, 'mapping'>): StoredMapping {
  const raw = record.mapping ?? null;
  if (raw === null) return { mapping: null, invalid: null };
  const issues = validateMapping(raw);
  if (issues.length === 0) return { mapping: raw as Mapping, invalid: null };
  const first = issues[0];
  return {
    mapping: null,
    invalid: `the source's stored mapping is invalid (${first.loc.join('.')}: ${first.msg})`,
  };
}

/** `applyMapping` over a stored mapping. */
export function mapEvent(stored: StoredMapping, input: MappingInput): MappingResult {
  if (stored.invalid !== null) return { ok: false, error: stored.invalid };
  return applyMapping(stored.mapping, input);
}

/** The mapping checked for the API: 422 with every issue, located under `base`. */
export function checkMapping(value: unknown, base: (string | number)[] = ['body']): Mapping {
  const issues = validateMapping(value, base);
  if (issues.length > 0) {
    throw new ValidationError(issues.map((issue) => ({ ...issue, type: 'value_error' })));
  }
  return value as Mapping;
}

/** A source's mapping, or null when it has none (404 for an unknown source). */
export async function getSourceMapping(
  ctx: ServiceContext,
  idOrUid: string,
): Promise<Mapping | null> {
  const source = await requireSource(ctx.db, idOrUid);
  return (source.mapping ?? null) as Mapping | null;
}

export interface SetMappingOptions {
  /** Told after the change is stored (the receiver drops its cached sources). */
  onChange?: () => void;
  /** Write within this transaction instead of on its own (the YAML loader). */
  sql?: Sql;
}

/**
 * Replaces a source's mapping (null removes it). Validated first (422 with every issue, at
 * `["body", …]`); 404 for an unknown source. Takes effect for events received from then on,
 * and for replays.
 */
export async function setSourceMapping(
  ctx: ServiceContext,
  idOrUid: string,
  mapping: Mapping | null,
  options: SetMappingOptions = {},
): Promise<{ sourceId: SourceId; mapping: Mapping | null }> {
  const checked = mapping === null ? null : checkMapping(mapping);
  const sql = options.sql ?? ctx.db;
  const source = await requireSource(sql, idOrUid);
  await store.updateSourceMapping(
    sql,
    source.id,
    checked as Record<string, unknown> | null,
    ctx.clock(),
  );
  options.onChange?.();
  return { sourceId: source.id, mapping: checked };
}
