import { isUtf8 } from 'node:buffer';
import { type TSchema, Type } from '@sinclair/typebox';

/**
 * A source's mapping: what a verified inbound event becomes before it is forwarded.
 *
 * - `eventTypes`: provider event type → your event type. `"*"` is the fallback; without a
 *   matching rule the provider's type is kept.
 * - `lookups`: named lookup tables (`from` a path of the parsed body, through `table`, else
 *   `default`, else the event fails). Evaluated only when the projection references them.
 * - `payload`: a projection of the parsed body; absent → the provider's body is forwarded byte
 *   for byte.
 *
 * Pure: no I/O. Validated strictly by `validateMapping` (unknown keys, empty names, bad shapes).
 */

// ------------------------------------------------------------------------------ the schema

/** Names of the event types a mapping produces: Svix's event-type names. */
const EVENT_TYPE_PATTERN = /^[a-zA-Z0-9\-_.]+$/;
const MAX_NAME = 256;
const MAX_PATH = 1024;
/** Nesting of `{ object: … }` projections. */
export const MAX_DEPTH = 8;
const MAX_FIELDS = 1000;
const MAX_RULES = 1000;
const MAX_LOOKUPS = 100;
const MAX_TABLE_ENTRIES = 10_000;
const MAX_ISSUES = 20;

const Path = Type.String({
  minLength: 1,
  maxLength: MAX_PATH,
  description:
    'A path into the parsed body: dot-separated names, array indexes as numbers (`data.items.0.sku`). Form fields by their name (`variants[Tier]` is a plain name).',
});
const Name = Type.String({ minLength: 1, maxLength: MAX_NAME });
const AnyJson = Type.Unknown({ description: 'Any JSON value' });

function fieldSchema(depth: number): TSchema {
  const branches: TSchema[] = [
    Path,
    Type.Object(
      { path: Path, default: Type.Optional(AnyJson) },
      { additionalProperties: false, title: 'MappingPathField' },
    ),
    Type.Object({ lookup: Name }, { additionalProperties: false, title: 'MappingLookupField' }),
    Type.Object({ const: AnyJson }, { additionalProperties: false, title: 'MappingConstField' }),
  ];
  if (depth > 1) {
    branches.push(
      Type.Object(
        { object: Type.Record(Type.String(), fieldSchema(depth - 1)) },
        { additionalProperties: false, title: 'MappingObjectField' },
      ),
    );
  }
  return Type.Union(branches);
}

export const MappingSchema = Type.Object(
  {
    eventTypes: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: MAX_NAME }), {
        description:
          'Provider event type → your event type. `"*"` is the fallback; no rule → the provider type is kept.',
      }),
    ),
    lookups: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            from: Path,
            table: Type.Record(Type.String(), AnyJson),
            default: Type.Optional(AnyJson),
          },
          { additionalProperties: false },
        ),
        { description: 'Named lookup tables, evaluated when the payload references them.' },
      ),
    ),
    payload: Type.Optional(
      Type.Record(Type.String(), fieldSchema(MAX_DEPTH), {
        description: "Projection of the parsed body; absent → the provider's body byte for byte.",
      }),
    ),
  },
  { additionalProperties: false, title: 'Mapping' },
);

export type MappingField =
  | string
  | { path: string; default?: unknown }
  | { lookup: string }
  | { const: unknown }
  | { object: MappingProjection };
export type MappingProjection = Record<string, MappingField>;
export interface MappingLookup {
  from: string;
  table: Record<string, unknown>;
  default?: unknown;
}
export interface Mapping {
  eventTypes?: Record<string, string>;
  lookups?: Record<string, MappingLookup>;
  payload?: MappingProjection;
}

// --------------------------------------------------------------------------- validation

export interface MappingIssue {
  loc: (string | number)[];
  msg: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function checkPath(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_PATH) return `must be at most ${MAX_PATH} characters`;
  if (path.split('.').some((segment) => segment === '')) {
    return 'has an empty segment (a leading, trailing or doubled dot)';
  }
  return undefined;
}

function checkName(name: string): string | undefined {
  if (name.length === 0) return 'names must not be empty';
  if (name.length > MAX_NAME) return `names must be at most ${MAX_NAME} characters`;
  if (name === '__proto__') return 'the name __proto__ is not allowed';
  return undefined;
}

/**
 * Every problem of a mapping, each with the location under `base` (e.g. `["body"]`). An empty
 * list means `value` is a valid `Mapping`.
 */
export function validateMapping(value: unknown, base: (string | number)[] = []): MappingIssue[] {
  const issues: MappingIssue[] = [];
  const issue = (loc: (string | number)[], msg: string) => {
    if (issues.length < MAX_ISSUES) issues.push({ loc: [...base, ...loc], msg });
  };
  if (!isRecord(value)) {
    issue([], `a mapping must be an object, not ${describe(value)}`);
    return issues;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'eventTypes' && key !== 'lookups' && key !== 'payload') {
      issue([key], 'unknown key (expected eventTypes, lookups or payload)');
    }
  }

  if (value.eventTypes !== undefined) {
    const rules = value.eventTypes;
    if (!isRecord(rules)) {
      issue(
        ['eventTypes'],
        `must be an object of provider type → event type, not ${describe(rules)}`,
      );
    } else {
      const entries = Object.entries(rules);
      if (entries.length > MAX_RULES) issue(['eventTypes'], `at most ${MAX_RULES} rules`);
      for (const [from, to] of entries) {
        const bad = checkName(from);
        if (bad) issue(['eventTypes', from], bad);
        if (typeof to !== 'string') {
          issue(['eventTypes', from], `must be an event type name, not ${describe(to)}`);
        } else if (to.length === 0 || to.length > MAX_NAME || !EVENT_TYPE_PATTERN.test(to)) {
          issue(
            ['eventTypes', from],
            'an event type name is 1-256 characters of letters, digits, "-", "_" and "."',
          );
        }
      }
    }
  }

  const lookupNames = new Set<string>();
  if (value.lookups !== undefined) {
    const lookups = value.lookups;
    if (!isRecord(lookups)) {
      issue(['lookups'], `must be an object of named lookup tables, not ${describe(lookups)}`);
    } else {
      const entries = Object.entries(lookups);
      if (entries.length > MAX_LOOKUPS) issue(['lookups'], `at most ${MAX_LOOKUPS} lookups`);
      for (const [name, lookup] of entries) {
        const bad = checkName(name);
        if (bad) issue(['lookups', name], bad);
        lookupNames.add(name);
        if (!isRecord(lookup)) {
          issue(
            ['lookups', name],
            `must be an object {from, table, default?}, not ${describe(lookup)}`,
          );
          continue;
        }
        for (const key of Object.keys(lookup)) {
          if (key !== 'from' && key !== 'table' && key !== 'default') {
            issue(['lookups', name, key], 'unknown key (expected from, table or default)');
          }
        }
        if (lookup.from === undefined) issue(['lookups', name, 'from'], 'field required');
        else if (typeof lookup.from !== 'string') {
          issue(['lookups', name, 'from'], `must be a path, not ${describe(lookup.from)}`);
        } else {
          const badPath = checkPath(lookup.from);
          if (badPath) issue(['lookups', name, 'from'], badPath);
        }
        if (lookup.table === undefined) issue(['lookups', name, 'table'], 'field required');
        else if (!isRecord(lookup.table)) {
          issue(
            ['lookups', name, 'table'],
            `must be an object of value → result, not ${describe(lookup.table)}`,
          );
        } else if (Object.keys(lookup.table).length > MAX_TABLE_ENTRIES) {
          issue(['lookups', name, 'table'], `at most ${MAX_TABLE_ENTRIES} entries`);
        } else if (Object.hasOwn(lookup.table, '__proto__')) {
          issue(['lookups', name, 'table', '__proto__'], 'the key __proto__ is not allowed');
        }
      }
    }
  }

  let fields = 0;
  const checkProjection = (projection: unknown, loc: (string | number)[], depth: number) => {
    if (!isRecord(projection)) {
      issue(loc, `must be an object of output field → source, not ${describe(projection)}`);
      return;
    }
    for (const [name, field] of Object.entries(projection)) {
      fields += 1;
      if (fields === MAX_FIELDS + 1) issue(loc, `at most ${MAX_FIELDS} fields in a payload`);
      const at = [...loc, name];
      const bad = checkName(name);
      if (bad) issue(at, bad);
      if (typeof field === 'string') {
        const badPath = checkPath(field);
        if (badPath) issue(at, `path ${badPath}`);
        continue;
      }
      if (!isRecord(field)) {
        issue(
          at,
          `must be a path or one of {path}, {lookup}, {const}, {object}, not ${describe(field)}`,
        );
        continue;
      }
      const keys = Object.keys(field);
      const kind = ['path', 'lookup', 'const', 'object'].filter((k) => keys.includes(k));
      if (kind.length !== 1) {
        issue(
          at,
          kind.length === 0
            ? 'must have one of path, lookup, const or object'
            : `must have only one of path, lookup, const or object (found ${kind.join(', ')})`,
        );
        continue;
      }
      const allowed = kind[0] === 'path' ? ['path', 'default'] : [kind[0]];
      for (const key of keys) {
        if (!allowed.includes(key)) {
          issue([...at, key], `unknown key (a ${kind[0]} field has ${allowed.join(' and ')})`);
        }
      }
      switch (kind[0]) {
        case 'path': {
          if (typeof field.path !== 'string') {
            issue([...at, 'path'], `must be a path, not ${describe(field.path)}`);
          } else {
            const badPath = checkPath(field.path);
            if (badPath) issue([...at, 'path'], badPath);
          }
          break;
        }
        case 'lookup': {
          if (typeof field.lookup !== 'string' || field.lookup === '') {
            issue([...at, 'lookup'], 'must be the name of a lookup');
          } else if (!lookupNames.has(field.lookup)) {
            issue([...at, 'lookup'], `no lookup named ${JSON.stringify(field.lookup)} in lookups`);
          }
          break;
        }
        case 'object': {
          if (depth >= MAX_DEPTH)
            issue([...at, 'object'], `nested deeper than ${MAX_DEPTH} levels`);
          else checkProjection(field.object, [...at, 'object'], depth + 1);
          break;
        }
      }
    }
  };
  if (value.payload !== undefined) checkProjection(value.payload, ['payload'], 1);
  return issues;
}

/** The value as a `Mapping` when it is one, else the issues (for the YAML loader and tests). */
export function parseMapping(
  value: unknown,
): { ok: true; mapping: Mapping } | { ok: false; issues: MappingIssue[] } {
  const issues = validateMapping(value);
  return issues.length === 0 ? { ok: true, mapping: value as Mapping } : { ok: false, issues };
}

// ----------------------------------------------------------------------------- applying

export interface MappingInput {
  eventType: string | null;
  body: Buffer;
  contentType: string | undefined;
}

export type MappingResult =
  | { ok: true; eventType: string | null; body: Buffer }
  | { ok: false; error: string };

/** The provider's event type through the rules: exact rule, else `*`, else unchanged. */
export function mapEventType(mapping: Mapping | null, eventType: string | null): string | null {
  const rules = mapping?.eventTypes;
  if (!rules) return eventType;
  if (eventType !== null && Object.hasOwn(rules, eventType)) return rules[eventType];
  if (Object.hasOwn(rules, '*')) return rules['*'];
  return eventType;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Form fields as an object of strings; a repeated name becomes an array of its values. */
export function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

const FORM_LIKE = /^[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*&?$/;

/**
 * The body as a value to project: JSON when it parses as JSON; form fields when the content
 * type says `application/x-www-form-urlencoded` (or says nothing and the body looks like a
 * form); otherwise undefined.
 */
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  if (!isUtf8(body)) return undefined;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    // not JSON: a form, perhaps
  }
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  if (type === '' && FORM_LIKE.test(text.trim())) return parseForm(text.trim());
  return undefined;
}

/**
 * The value at `path`. A name with dots in it is found when the rest of the path spells it
 * exactly (form bodies may have such names); otherwise the path is walked segment by segment:
 * an object by key, an array by index. Undefined when there is nothing there.
 */
export function valueAt(root: unknown, path: string): unknown {
  let current: unknown = root;
  let rest = path;
  while (rest !== '') {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      const dot = rest.indexOf('.');
      const segment = dot < 0 ? rest : rest.slice(0, dot);
      if (!/^\d+$/.test(segment)) return undefined;
      current = current[Number(segment)];
      rest = dot < 0 ? '' : rest.slice(dot + 1);
      continue;
    }
    const record = current as Record<string, unknown>;
    if (Object.hasOwn(record, rest)) return record[rest];
    const dot = rest.indexOf('.');
    if (dot < 0) return undefined;
    // The longest leading run of segments that is a key wins ("a.b" before "a").
    let found = false;
    for (let end = rest.lastIndexOf('.'); end > 0; end = rest.lastIndexOf('.', end - 1)) {
      const key = rest.slice(0, end);
      if (Object.hasOwn(record, key)) {
        current = record[key];
        rest = rest.slice(end + 1);
        found = true;
        break;
      }
    }
    if (!found) return undefined;
  }
  return current;
}

class MappingFailure extends Error {}

function show(value: unknown): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function lookupKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function project(mapping: Mapping, body: unknown): Record<string, unknown> {
  const resolved = new Map<string, unknown>();
  const lookup = (name: string): unknown => {
    if (resolved.has(name)) return resolved.get(name);
    const spec = mapping.lookups?.[name];
    if (!spec || !Object.hasOwn(mapping.lookups ?? {}, name)) {
      throw new MappingFailure(`lookup ${name}: not defined`);
    }
    const raw = valueAt(body, spec.from);
    const key = lookupKey(raw);
    let result: unknown;
    if (key !== undefined && Object.hasOwn(spec.table, key)) result = spec.table[key];
    else if (Object.hasOwn(spec, 'default')) result = spec.default;
    else throw new MappingFailure(`lookup ${name}: no entry for ${spec.from} = ${show(raw)}`);
    resolved.set(name, result);
    return result;
  };
  const walk = (projection: MappingProjection): Record<string, unknown> => {
    const out: Record<string, unknown> = Object.create(null);
    for (const [name, field] of Object.entries(projection)) {
      let value: unknown;
      if (typeof field === 'string') value = valueAt(body, field);
      else if ('path' in field) {
        value = valueAt(body, field.path);
        if (value === undefined && Object.hasOwn(field, 'default')) value = field.default;
      } else if ('lookup' in field) value = lookup(field.lookup);
      else if ('const' in field) value = field.const;
      else value = walk(field.object);
      out[name] = value === undefined ? null : value;
    }
    return out;
  };
  return walk(mapping.payload ?? {});
}

/**
 * Applies a mapping to a stored event: the event type through `eventTypes`, the body through
 * `payload` (JSON text) or unchanged. A failure (a body that cannot be parsed, an unmapped
 * lookup value) is a result, never a throw.
 */
export function applyMapping(mapping: Mapping | null, input: MappingInput): MappingResult {
  const eventType = mapEventType(mapping, input.eventType);
  if (!mapping?.payload) return { ok: true, eventType, body: input.body };
  const parsed = parseBody(input.body, input.contentType);
  if (parsed === undefined) return { ok: false, error: 'body is not JSON or form-encoded' };
  try {
    const payload = project(mapping, parsed);
    return { ok: true, eventType, body: Buffer.from(JSON.stringify(payload), 'utf8') };
  } catch (error) {
    if (error instanceof MappingFailure) return { ok: false, error: error.message };
    return { ok: false, error: `mapping failed: ${(error as Error).message}` };
  }
}
