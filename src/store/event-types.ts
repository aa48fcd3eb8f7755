import { fromJson, toJson } from './json.js';
import { type Page, type PageRequest, planPage, toPage } from './pagination.js';
import type { Sql } from './sql.js';

export interface EventTypeRecord {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  /** Version string → JSON Schema; null when none. */
  schemas: Record<string, unknown> | null;
  featureFlags: string[] | null;
  groupName: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  name: string;
  description: string;
  archived: number;
  deprecated: number;
  schemas: string | null;
  feature_flags: string | null;
  group_name: string | null;
  created_at: number;
  updated_at: number;
}

function fromRow(row: Row): EventTypeRecord {
  return {
    name: row.name,
    description: row.description,
    archived: Number(row.archived) !== 0,
    deprecated: Number(row.deprecated) !== 0,
    schemas: fromJson<Record<string, unknown>>(row.schemas),
    featureFlags: fromJson<string[]>(row.feature_flags),
    groupName: row.group_name,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const COLUMNS =
  'name, description, archived, deprecated, schemas, feature_flags, group_name, created_at, updated_at';

/** Archived event types are found too (GET shows them). */
export async function findEventType(sql: Sql, name: string): Promise<EventTypeRecord | undefined> {
  const row = await sql.get<Row>(`SELECT ${COLUMNS} FROM event_types WHERE name = ?`, [name]);
  return row && fromRow(row);
}

function values(eventType: EventTypeRecord) {
  return [
    eventType.description,
    eventType.archived ? 1 : 0,
    eventType.deprecated ? 1 : 0,
    toJson(eventType.schemas),
    toJson(eventType.featureFlags),
    eventType.groupName,
  ];
}

export async function insertEventType(sql: Sql, eventType: EventTypeRecord): Promise<void> {
  await sql.run(`INSERT INTO event_types (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    eventType.name,
    ...values(eventType),
    eventType.createdAt,
    eventType.updatedAt,
  ]);
}

export async function updateEventType(sql: Sql, eventType: EventTypeRecord): Promise<void> {
  await sql.run(
    'UPDATE event_types SET description = ?, archived = ?, deprecated = ?, schemas = ?, feature_flags = ?, group_name = ?, updated_at = ? WHERE name = ?',
    [...values(eventType), eventType.updatedAt, eventType.name],
  );
}

/** Hard delete (`expunge=true`): the name becomes free again. */
export async function expungeEventType(sql: Sql, name: string): Promise<number> {
  return sql.run('DELETE FROM event_types WHERE name = ?', [name]);
}

export interface EventTypeListRequest extends PageRequest {
  includeArchived: boolean;
  /** Only event types without feature flags (what a key without flags may see). */
  withoutFeatureFlags?: boolean;
}

export async function listEventTypes(
  sql: Sql,
  request: EventTypeListRequest,
): Promise<Page<EventTypeRecord>> {
  // Names sort byte-wise on both engines (the column is `$KEY`, see migrations.ts).
  const plan = planPage('name', request);
  const filters = [plan.where];
  if (!request.includeArchived) filters.push('archived = 0');
  if (request.withoutFeatureFlags) filters.push('feature_flags IS NULL');
  const rows = await sql.all<Row>(
    `SELECT ${COLUMNS} FROM event_types WHERE ${filters.join(' AND ')} ORDER BY ${plan.orderBy} LIMIT ?`,
    [...plan.params, plan.limit],
  );
  return toPage(rows, plan, (row) => row.name, fromRow);
}

/** Of `names`, those that do not exist or are archived (in the order given). */
export async function unavailableEventTypes(sql: Sql, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await sql.all<{ name: string }>(
    `SELECT name FROM event_types WHERE archived = 0 AND name IN (${names.map(() => '?').join(', ')})`,
    [...names],
  );
  const available = new Set(rows.map((row) => row.name));
  return names.filter((name) => !available.has(name));
}
