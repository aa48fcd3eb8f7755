import type { Database, Dialect } from './sql.js';

/**
 * Versioned schema, applied at start in order. One DDL serves both engines: it uses only
 * types both read alike (TEXT, INTEGER, BIGINT; booleans 0/1, JSON as text, times as epoch
 * milliseconds). Never edit a released migration; add one.
 *
 * `$KEY` marks text columns that are ordered and compared as keys (ids, event-type names).
 * They must sort byte-wise: ids are base62, where `Z` < `a`. SQLite's default collation is
 * already binary; on PostgreSQL a database's default collation (e.g. en_US) is not, so `$KEY`
 * becomes `TEXT COLLATE "C"` there, and indexes on these columns serve ordering and ranges.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Run only on these engines (on the others it is recorded as applied, with nothing run). */
  dialects?: Dialect[];
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'outbound core',
    sql: `
CREATE TABLE applications (
  id $KEY PRIMARY KEY,
  uid TEXT UNIQUE,
  name TEXT NOT NULL,
  throttle_rate INTEGER,
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);

CREATE TABLE event_types (
  name $KEY PRIMARY KEY,
  description TEXT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  deprecated INTEGER NOT NULL DEFAULT 0,
  schemas TEXT,
  feature_flags TEXT,
  group_name TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- headers and secret are sealed with the master key (SecretBox); options holds the delivery
-- options beyond Svix's fields (ordering, retry policy, legacy signature scheme) as JSON.
CREATE TABLE endpoints (
  id $KEY PRIMARY KEY,
  app_id $KEY NOT NULL REFERENCES applications(id),
  uid TEXT,
  url TEXT NOT NULL,
  description TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  throttle_rate INTEGER,
  disabled INTEGER NOT NULL DEFAULT 0,
  event_types TEXT,
  channels TEXT,
  metadata TEXT NOT NULL,
  headers TEXT NOT NULL,
  secret TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '{}',
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  failing_since BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT,
  UNIQUE (app_id, uid)
);
CREATE INDEX endpoints_app ON endpoints (app_id, id);

-- Rotated-out signing secrets that keep signing until their grace period ends.
CREATE TABLE endpoint_old_secrets (
  endpoint_id $KEY NOT NULL REFERENCES endpoints(id),
  secret TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX endpoint_old_secrets_endpoint ON endpoint_old_secrets (endpoint_id);

-- payload is the exact body delivered (JSON text, or rawPayload); NULL once expired.
CREATE TABLE messages (
  id $KEY PRIMARY KEY,
  app_id $KEY NOT NULL REFERENCES applications(id),
  event_id TEXT,
  event_type TEXT NOT NULL,
  payload TEXT,
  channels TEXT,
  tags TEXT,
  created_at BIGINT NOT NULL,
  payload_expires_at BIGINT,
  UNIQUE (app_id, event_id)
);
CREATE INDEX messages_app ON messages (app_id, id);

-- One row per (message, endpoint): the unit of work of the delivery engine. A row is due
-- when next_attempt_at <= now and its lease (if any) has expired; status follows Svix's
-- MessageStatus (0 success, 1 pending, 2 fail, 3 sending).
CREATE TABLE deliveries (
  id $KEY PRIMARY KEY,
  msg_id $KEY NOT NULL REFERENCES messages(id),
  app_id $KEY NOT NULL,
  endpoint_id $KEY NOT NULL REFERENCES endpoints(id),
  status INTEGER NOT NULL,
  trigger_type INTEGER NOT NULL DEFAULT 0,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  lease_until BIGINT,
  leased_by TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_msg ON deliveries (msg_id, endpoint_id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, msg_id);

CREATE TABLE attempts (
  id $KEY PRIMARY KEY,
  msg_id $KEY NOT NULL REFERENCES messages(id),
  endpoint_id $KEY NOT NULL REFERENCES endpoints(id),
  app_id $KEY NOT NULL,
  delivery_id $KEY,
  url TEXT NOT NULL,
  response TEXT NOT NULL,
  response_status_code INTEGER NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  status INTEGER NOT NULL,
  trigger_type INTEGER NOT NULL,
  error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX attempts_msg ON attempts (msg_id, id);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);

-- hash = SHA-256 of the token; prefix = the first characters, shown in listings.
CREATE TABLE api_keys (
  id $KEY PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  app_id $KEY,
  scopes TEXT,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  expires_at BIGINT,
  revoked_at BIGINT
);

-- Replays the first 2xx answer to a repeated POST with the same idempotency-key.
-- status is NULL while the first request is still being processed.
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  status INTEGER,
  body TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'internal applications',
    // The application that carries operational webhooks is an ordinary application to the
    // delivery engine, but never visible or addressable through the public API.
    sql: 'ALTER TABLE applications ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;',
  },
  {
    version: 3,
    name: 'open deliveries per endpoint',
    // FIFO ordering asks "is an earlier message to this endpoint unfinished?" on every claim.
    sql: 'CREATE INDEX deliveries_endpoint_open ON deliveries (endpoint_id, id) WHERE next_attempt_at IS NOT NULL;',
  },
  {
    version: 4,
    name: 'inbound sources and events',
    sql: `
-- config is the whole provider config as JSON, sealed (it holds the provider's secrets).
-- The ingest token is stored as its SHA-256 (the lookup key of every received webhook) and,
-- sealed, as itself so that GET can show the ingest URL again (it is a URL secret, as in
-- Svix). After a rotation the previous hash keeps working until previous_token_expires_at.
CREATE TABLE sources (
  id $KEY PRIMARY KEY,
  uid TEXT UNIQUE,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  config TEXT NOT NULL,
  token TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  previous_token_hash TEXT UNIQUE,
  previous_token_expires_at BIGINT,
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);

-- One row per received (verified) request, exactly as it arrived: headers as JSON, the body
-- bytes as base64 (both engines hold them identically). status: received | duplicate |
-- routed | failed | dead-lettered.
CREATE TABLE inbound_events (
  id $KEY PRIMARY KEY,
  source_id $KEY NOT NULL REFERENCES sources(id),
  received_at BIGINT NOT NULL,
  method TEXT NOT NULL,
  query TEXT NOT NULL,
  headers TEXT NOT NULL,
  body TEXT NOT NULL,
  body_size INTEGER NOT NULL,
  provider_event_id TEXT,
  event_type TEXT,
  dedup_key TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX inbound_events_dedup ON inbound_events (source_id, dedup_key, received_at);
CREATE INDEX inbound_events_source ON inbound_events (source_id, id);
`,
  },
  {
    version: 5,
    name: 'inbound mapping and the link from forwarded messages to their inbound event',
    sql: `
-- A source's mapping (event-type rules, lookup tables, payload projection) as JSON; NULL:
-- events are forwarded as received.
ALTER TABLE sources ADD COLUMN mapping TEXT;
-- Set on the messages that forward an inbound event (the first routing and every replay), so
-- that an event shows what happened at each destination.
ALTER TABLE messages ADD COLUMN inbound_event_id TEXT;
CREATE INDEX messages_inbound_event ON messages (inbound_event_id) WHERE inbound_event_id IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'SQLite: inbound de-duplication by receive time, not by random key',
    dialects: ['sqlite'],
    sql: `
-- The only writer remembers its recent keys (store/recent-keys.ts) and asks the database only
-- to confirm one it has seen: by source, receive time and key, which this index answers while
-- its inserts append (receive times grow), where the one it replaces took a random leaf page
-- per event. PostgreSQL, written by several processes, keeps the index by key.
DROP INDEX inbound_events_dedup;
CREATE INDEX inbound_events_received ON inbound_events (source_id, received_at, dedup_key);
`,
  },
];

const POSTGRES_MIGRATION_LOCK = 7_248_311_505;

export async function migrate(db: Database, list: Migration[] = migrations): Promise<number[]> {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  return db.transaction(async (tx) => {
    // Several processes may start at once on one PostgreSQL database: one migrates, the
    // others wait and then find nothing left to do.
    if (tx.dialect === 'postgres') {
      await tx.get('SELECT pg_advisory_xact_lock(?)', [POSTGRES_MIGRATION_LOCK]);
    }
    const done = new Set(
      (await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map(
        (row) => row.version,
      ),
    );
    const applied: number[] = [];
    for (const migration of list) {
      if (done.has(migration.version)) continue;
      const keyType = tx.dialect === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
      const runsHere = migration.dialects?.includes(tx.dialect) ?? true;
      for (const statement of runsHere ? splitStatements(migration.sql) : []) {
        await tx.run(statement.replaceAll('$KEY', keyType));
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}

/** Our migrations hold no semicolons inside literals, so a split on `;` at line ends is exact. */
function splitStatements(sql: string): string[] {
  return sql
    .replace(/^\s*--.*$/gm, '')
    .split(/;\s*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}
