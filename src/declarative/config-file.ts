import { readFileSync } from 'node:fs';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { isNode, LineCounter, parseDocument } from 'yaml';
import {
  Channel,
  EventTypeName,
  IdPattern,
  Metadata,
  ThrottleRate,
  Uid,
} from '../api/schemas/common.js';
import { ValidationError } from '../core/errors.js';
import { validateMapping } from '../inbound/mapping.js';
import { findProvider } from '../inbound/providers/index.js';
import { INGEST_TOKEN_PATTERN, validateConfig } from '../inbound/sources.js';
import {
  InvalidSecretError,
  parseSecret,
  parseSigningKey,
  SECRET_PREFIX,
  SIGNING_KEY_PREFIX,
} from '../outbound/signing.js';

/**
 * The declarative configuration file (`SWITCHBOARD_CONFIG`): YAML that declares event types,
 * applications with their endpoints, and inbound sources with their token, mapping and
 * endpoints. This module only reads and checks it (no database): `parseConfigFile` either
 * returns the checked declaration or throws a `ConfigFileError` that names the file, the YAML
 * path (`sources[0].config.secret`) and the line of every problem. `apply.ts` applies it.
 */

// ---------------------------------------------------------------------------------------------
// Schema

const Text = Type.String({ pattern: '^[^\\x00-\\x08]*$' });
const Url = Type.String({ minLength: 1, maxLength: 65536 });
const Headers = Type.Record(Type.String({ minLength: 1 }), Type.String());
const FilterTypes = Type.Array(EventTypeName, { minItems: 1 });
const SourceUid = Type.String({ minLength: 1, maxLength: 60, pattern: '^[a-zA-Z0-9_-]+$' });
const JsonObject = Type.Record(Type.String(), Type.Unknown());

const ApplicationEndpointDecl = Type.Object(
  {
    uid: Uid,
    url: Url,
    description: Type.Optional(Text),
    filterTypes: Type.Optional(FilterTypes),
    channels: Type.Optional(Type.Array(Channel, { minItems: 1, maxItems: 10 })),
    secret: Type.Optional(Type.String()),
    headers: Type.Optional(Headers),
    disabled: Type.Optional(Type.Boolean()),
    rateLimit: Type.Optional(ThrottleRate),
  },
  { additionalProperties: false },
);

const SourceEndpointDecl = Type.Object(
  {
    uid: Uid,
    url: Url,
    description: Type.Optional(Text),
    filterTypes: Type.Optional(FilterTypes),
    secret: Type.Optional(Type.String()),
    headers: Type.Optional(Headers),
    disabled: Type.Optional(Type.Boolean()),
    rateLimit: Type.Optional(ThrottleRate),
  },
  { additionalProperties: false },
);

const EventTypeDecl = Type.Object(
  {
    name: EventTypeName,
    description: Type.Optional(Text),
    schema: Type.Optional(JsonObject),
    archived: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ApplicationDecl = Type.Object(
  {
    uid: Uid,
    name: Type.String({ minLength: 1 }),
    metadata: Type.Optional(Metadata),
    throttleRate: Type.Optional(ThrottleRate),
    endpoints: Type.Optional(Type.Array(ApplicationEndpointDecl)),
  },
  { additionalProperties: false },
);

const SourceDecl = Type.Object(
  {
    uid: SourceUid,
    name: Type.String({ minLength: 2, maxLength: 256 }),
    type: Type.String({ minLength: 1 }),
    config: Type.Optional(JsonObject),
    metadata: Type.Optional(Metadata),
    token: Type.Optional(Type.String()),
    // Checked by the inbound mapping module (`validateMapping`), whose messages are clearer
    // than a union's. `null` removes a mapping set through the API.
    mapping: Type.Optional(Type.Union([JsonObject, Type.Null()])),
    endpoints: Type.Optional(Type.Array(SourceEndpointDecl)),
  },
  { additionalProperties: false },
);

export const ConfigFileSchema = Type.Object(
  {
    eventTypes: Type.Optional(Type.Array(EventTypeDecl)),
    applications: Type.Optional(Type.Array(ApplicationDecl)),
    sources: Type.Optional(Type.Array(SourceDecl)),
  },
  { additionalProperties: false },
);

export type EventTypeDeclaration = Static<typeof EventTypeDecl>;
export type ApplicationDeclaration = Static<typeof ApplicationDecl>;
export type ApplicationEndpointDeclaration = Static<typeof ApplicationEndpointDecl>;
export type SourceDeclaration = Static<typeof SourceDecl>;
export type SourceEndpointDeclaration = Static<typeof SourceEndpointDecl>;
export type ConfigFile = Static<typeof ConfigFileSchema>;

// ---------------------------------------------------------------------------------------------
// Errors

export type YamlPath = (string | number)[];

export interface ConfigFileIssue {
  /** Where, as keys and indexes from the document root (`['sources', 0, 'config']`). */
  path: YamlPath;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

/** `sources[0].config.secret` */
export function formatPath(path: YamlPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** A configuration file that cannot be read, parsed, checked or applied. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  constructor(
    readonly file: string,
    readonly issues: ConfigFileIssue[],
  ) {
    super(
      issues
        .map(
          (issue) =>
            `${file}${issue.line === undefined ? '' : `:${issue.line}`}: ${formatPath(issue.path)}: ${issue.message}`,
        )
        .join('\n'),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// ${ENV} substitution

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/**
 * Replaces `${NAME}` (an error when NAME is unset) and `${NAME:-default}` (the default when NAME
 * is unset or empty) in one string value; `$${` stands for a literal `${`. Throws a message
 * (never the value: it may be a secret).
 */
export function substitute(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(REFERENCE, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    if (inner === undefined) throw new Error('unterminated "${" (write "$${" for a literal one)');
    const parsed = VARIABLE.exec(inner);
    if (!parsed) {
      throw new Error(`invalid reference "\${${inner}}": use \${NAME} or \${NAME:-default}`);
    }
    const [, name, fallback] = parsed as unknown as [string, string, string | undefined];
    const current = env[name];
    if (fallback !== undefined) return current === undefined || current === '' ? fallback : current;
    if (current === undefined) throw new Error(`environment variable ${name} is not set`);
    return current;
  });
}

/** Substitutes every string value (never keys) of a parsed document, collecting the errors. */
function substituteAll(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: YamlPath,
  issues: ConfigFileIssue[],
): unknown {
  if (typeof value === 'string') {
    try {
      return substitute(value, env);
    } catch (error) {
      issues.push({ path, message: (error as Error).message });
      return value;
    }
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteAll(item, env, [...path, index], issues));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = substituteAll(item, env, [...path, key], issues);
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Checks

function pointerToPath(pointer: string): YamlPath {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

/** TypeBox's messages, worded for a file. */
function schemaIssues(schema: TSchema, value: unknown, base: YamlPath = []): ConfigFileIssue[] {
  const issues: ConfigFileIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const path = [...base, ...pointerToPath(error.path)];
    const key = formatPath(path);
    // One message per place: the first is the most useful (a union's branches repeat it).
    if (seen.has(key)) continue;
    seen.add(key);
    let message = error.message;
    if (error.type === ValueErrorType.ObjectRequiredProperty) message = 'required';
    else if (error.type === ValueErrorType.ObjectAdditionalProperties) message = 'unknown key';
    else if (error.type === ValueErrorType.StringPattern) {
      message = `invalid characters (allowed: ${patternHint(error.schema.pattern as string)})`;
    }
    issues.push({ path, message });
    if (issues.length >= 50) break;
  }
  return issues;
}

function patternHint(pattern: string): string {
  if (pattern === IdPattern) return 'letters, digits, "-", "_", "."';
  if (pattern === '^[a-zA-Z0-9_-]+$') return 'letters, digits, "-", "_"';
  return pattern;
}

function checkSecret(secret: string): string | undefined {
  try {
    if (secret.startsWith(SIGNING_KEY_PREFIX)) parseSigningKey(secret);
    else if (secret.startsWith(SECRET_PREFIX)) parseSecret(secret);
    else return `must start with ${SECRET_PREFIX} (or ${SIGNING_KEY_PREFIX} for ed25519)`;
  } catch (error) {
    if (error instanceof InvalidSecretError) return error.message;
    throw error;
  }
  return undefined;
}

function duplicates<T>(
  items: readonly T[] | undefined,
  keyOf: (item: T) => string,
  base: YamlPath,
  field: string,
  issues: ConfigFileIssue[],
): void {
  const first = new Map<string, number>();
  items?.forEach((item, index) => {
    const key = keyOf(item);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    else {
      issues.push({
        path: [...base, index, field],
        message: `duplicate ${field} "${key}" (also at ${formatPath([...base, earlier])})`,
      });
    }
  });
}

function semanticIssues(file: ConfigFile): ConfigFileIssue[] {
  const issues: ConfigFileIssue[] = [];
  duplicates(file.eventTypes, (e) => e.name, ['eventTypes'], 'name', issues);
  duplicates(file.applications, (a) => a.uid, ['applications'], 'uid', issues);
  duplicates(file.sources, (s) => s.uid, ['sources'], 'uid', issues);

  file.applications?.forEach((app, i) => {
    const base: YamlPath = ['applications', i];
    if (app.uid.startsWith('app_')) {
      issues.push({ path: [...base, 'uid'], message: 'must not start with "app_" (an id prefix)' });
    }
    duplicates(app.endpoints, (e) => e.uid, [...base, 'endpoints'], 'uid', issues);
    app.endpoints?.forEach((endpoint, j) => {
      endpointIssues(endpoint, [...base, 'endpoints', j], issues);
    });
  });

  file.sources?.forEach((source, i) => {
    const base: YamlPath = ['sources', i];
    if (source.uid.startsWith('src_')) {
      issues.push({ path: [...base, 'uid'], message: 'must not start with "src_" (an id prefix)' });
    }
    const provider = findProvider(source.type);
    if (!provider) {
      issues.push({ path: [...base, 'type'], message: `unknown source type "${source.type}"` });
    } else {
      try {
        validateConfig(provider, source.config ?? {});
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const seen = new Set<string>();
        for (const issue of error.issues) {
          // loc is ['body', 'config', …] as the API reports it; one message per place.
          const path: YamlPath = [...base, ...issue.loc.slice(1)];
          if (seen.has(formatPath(path))) continue;
          seen.add(formatPath(path));
          const message = issue.msg === 'Expected required property' ? 'required' : issue.msg;
          issues.push({ path, message });
        }
      }
    }
    if (source.token !== undefined && !INGEST_TOKEN_PATTERN.test(source.token)) {
      issues.push({
        path: [...base, 'token'],
        message:
          'must be 43 base64url characters (A-Z a-z 0-9 - _), like a generated token: e.g. `openssl rand -base64 32 | tr "+/" "-_" | tr -d "="`',
      });
    }
    if (source.mapping != null) {
      for (const issue of validateMapping(source.mapping, [...base, 'mapping'])) {
        issues.push({ path: issue.loc, message: issue.msg });
      }
    }
    duplicates(source.endpoints, (e) => e.uid, [...base, 'endpoints'], 'uid', issues);
    source.endpoints?.forEach((endpoint, j) => {
      endpointIssues(endpoint, [...base, 'endpoints', j], issues);
    });
  });
  return issues;
}

function endpointIssues(
  endpoint: { uid: string; secret?: string },
  base: YamlPath,
  issues: ConfigFileIssue[],
): void {
  if (endpoint.uid.startsWith('ep_')) {
    issues.push({ path: [...base, 'uid'], message: 'must not start with "ep_" (an id prefix)' });
  }
  if (endpoint.secret !== undefined) {
    const problem = checkSecret(endpoint.secret);
    if (problem) issues.push({ path: [...base, 'secret'], message: problem });
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParseOptions {
  /** Where `${NAME}` values come from (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A checked configuration file, with what is needed to point at its lines later. */
export interface ParsedConfigFile {
  /** The file name used in errors. */
  file: string;
  config: ConfigFile;
  /** The 1-based line of the node at `path` (or of its nearest existing parent). */
  lineOf(path: YamlPath): number | undefined;
}

/**
 * Parses and checks the text of a configuration file. `file` names it in errors. Throws a
 * `ConfigFileError` listing every problem found (YAML syntax first; then unknown keys, types
 * and required keys; then what the schema cannot say: duplicates, provider configs, tokens,
 * secrets, mappings).
 */
export function parseConfigText(
  text: string,
  file: string,
  options: ParseOptions = {},
): ParsedConfigFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((error) => ({
        path: [],
        message: error.message.split('\n')[0] ?? error.message,
        line: lineCounter.linePos(error.pos[0]).line,
      })),
    );
  }
  const lineOf = (path: YamlPath): number | undefined => {
    // The deepest node that exists on the path (a missing key points at its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const located = (issues: ConfigFileIssue[]) =>
    new ConfigFileError(
      file,
      issues.map((issue) => ({ ...issue, line: issue.line ?? lineOf(issue.path) })),
    );

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw located([{ path: [], message: (error as Error).message }]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw located([
      { path: [], message: 'must be a mapping of eventTypes, applications, sources' },
    ]);
  }
  const substitutionIssues: ConfigFileIssue[] = [];
  const value = substituteAll(raw, options.env ?? process.env, [], substitutionIssues);
  if (substitutionIssues.length > 0) throw located(substitutionIssues);

  const shapeIssues = schemaIssues(ConfigFileSchema, value);
  if (shapeIssues.length > 0) throw located(shapeIssues);
  const config = value as ConfigFile;
  const issues = semanticIssues(config);
  if (issues.length > 0) throw located(issues);
  return { file, config, lineOf };
}

/** Reads and parses the file named by `SWITCHBOARD_CONFIG`. */
export function parseConfigFile(path: string, options: ParseOptions = {}): ParsedConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(path, [
      { path: [], message: `cannot read the file: ${(error as Error).message}` },
    ]);
  }
  return parseConfigText(text, path, options);
}
