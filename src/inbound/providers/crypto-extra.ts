import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { type TString, Type } from '@sinclair/typebox';
import {
  checkTimestamp,
  type Digest,
  type Encoding,
  fail,
  hmac,
  matchesAny,
  OK,
  safeEqual,
} from './crypto.js';
import { type InboundRequest, singleHeader, type VerifyResult } from './types.js';

/**
 * More building blocks for provider verifiers and event extraction (pure, never throwing on
 * untrusted input): defensive JSON/form parsing, `k=v` signature lists, millisecond and
 * RFC 3339 timestamps, Ed25519 / ECDSA verification, Basic auth, common config schemas.
 */

// ---------------------------------------------------------------- config schema pieces

/** A secret config field: a non-empty string. */
export const SecretString = (description: string): TString =>
  Type.String({ minLength: 1, description });

/** The optional per-source tolerance for timestamped schemes. */
export const ToleranceSeconds = Type.Optional(
  Type.Integer({
    minimum: 0,
    maximum: 31_536_000,
    description: 'Accepted clock difference for signed timestamps, in seconds',
  }),
);

/**
 * The tolerance in force: the source's `config.toleranceSeconds`, else what the caller passed
 * (the source's setting or the provider default), else `fallback`.
 */
export function effectiveTolerance(
  config: { toleranceSeconds?: number | undefined } | undefined,
  passed: number | undefined,
  fallback: number | undefined,
): number | undefined {
  const fromConfig = config?.toleranceSeconds;
  if (typeof fromConfig === 'number' && Number.isFinite(fromConfig)) return fromConfig;
  if (typeof passed === 'number' && Number.isFinite(passed)) return passed;
  return fallback;
}

// ---------------------------------------------------------------- headers

/** A header that must appear exactly once; the reason names it when it does not. */
export function requireHeader(
  request: InboundRequest,
  name: string,
): { value: string } | { error: VerifyResult } {
  const raw = request.headers[name];
  if (Array.isArray(raw)) return { error: fail(`repeated ${name} header`) };
  const value = singleHeader(request, name);
  if (value === undefined || value === '') return { error: fail(`missing ${name} header`) };
  return { value };
}

/** `content-type` without parameters, lower case ('' when absent). */
export function mediaType(request: InboundRequest): string {
  const value = singleHeader(request, 'content-type') ?? '';
  return value.split(';')[0]?.trim().toLowerCase() ?? '';
}

// ---------------------------------------------------------------- bodies

/** The body parsed as JSON, or undefined (never throws). */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as a JSON object (not an array), or undefined. */
export function jsonObject(body: Buffer): JsonObject | undefined {
  const value = parseJson(body);
  return isObject(value) ? value : undefined;
}

/** Walks `a.b.c` (or a list of keys) through nested objects. */
export function getPath(value: unknown, path: string | readonly string[]): unknown {
  const keys = typeof path === 'string' ? path.split('.') : path;
  let current: unknown = value;
  for (const key of keys) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** A string, or a finite number as text; anything else is undefined. Empty strings too. */
export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** `asText(getPath(value, path))`. */
export function textAt(value: unknown, path: string | readonly string[]): string | undefined {
  return asText(getPath(value, path));
}

/** The single value shared by every element, or undefined when they differ or there are none. */
export function commonValue(values: readonly (string | undefined)[]): string | undefined {
  const first = values[0];
  if (first === undefined) return undefined;
  return values.every((value) => value === first) ? first : undefined;
}

/** Form fields by name, every value kept in order. */
export type FormFields = ReadonlyMap<string, readonly string[]>;

function addField(fields: Map<string, string[]>, name: string, value: string): void {
  const list = fields.get(name);
  if (list) list.push(value);
  else fields.set(name, [value]);
}

/** `application/x-www-form-urlencoded` fields (`+` is a space, %-escapes decoded as UTF-8). */
export function parseUrlEncoded(body: Buffer | string): FormFields {
  const fields = new Map<string, string[]>();
  const text = typeof body === 'string' ? body : body.toString('utf8');
  for (const [name, value] of new URLSearchParams(text)) addField(fields, name, value);
  return fields;
}

const MAX_MULTIPART_PARTS = 1000;

/** The text fields of a `multipart/form-data` body (file parts are skipped). */
export function parseMultipart(body: Buffer, boundary: string): FormFields {
  const fields = new Map<string, string[]>();
  if (boundary === '' || boundary.length > 200) return fields;
  const text = body.toString('latin1'); // one char per byte, so slices map back to bytes
  const delimiter = `--${boundary}`;
  const chunks = text.split(delimiter);
  // chunks[0] is the preamble; the chunk starting with "--" follows the closing delimiter.
  for (let i = 1; i < chunks.length && i <= MAX_MULTIPART_PARTS; i += 1) {
    const chunk = chunks[i] ?? '';
    if (chunk.startsWith('--')) break;
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = chunk.slice(0, headerEnd);
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    if (/;\s*filename\*?=/i.test(disposition)) continue;
    const name =
      /;\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? /;\s*name=([^;\s]+)/i.exec(disposition)?.[1];
    if (name === undefined) continue;
    let value = chunk.slice(headerEnd + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    addField(
      fields,
      Buffer.from(name, 'latin1').toString('utf8'),
      Buffer.from(value, 'latin1').toString('utf8'),
    );
  }
  return fields;
}

/** Form fields of an url-encoded or multipart body, by its content type (empty otherwise). */
export function formFields(request: InboundRequest): FormFields {
  const type = mediaType(request);
  if (type === 'multipart/form-data') {
    const contentType = singleHeader(request, 'content-type') ?? '';
    const boundary =
      /;\s*boundary="([^"]+)"/i.exec(contentType)?.[1] ??
      /;\s*boundary=([^;\s]+)/i.exec(contentType)?.[1] ??
      '';
    return parseMultipart(request.body, boundary);
  }
  if (type === 'application/x-www-form-urlencoded') return parseUrlEncoded(request.body);
  return new Map();
}

/** The first value of a form field. */
export function field(fields: FormFields, name: string): string | undefined {
  const value = fields.get(name)?.[0];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The body as a flat or nested record: JSON when it parses as an object, otherwise the form
 * fields (first value per name; url-encoded is assumed when no content type says otherwise).
 */
export function bodyRecord(request: InboundRequest): JsonObject | undefined {
  const type = mediaType(request);
  if (type === '' || type.includes('json')) {
    const json = jsonObject(request.body);
    if (json) return json;
  }
  let fields = formFields(request);
  if (fields.size === 0 && type === '') fields = parseUrlEncoded(request.body);
  if (fields.size === 0) return undefined;
  const record: JsonObject = {};
  for (const [name, values] of fields) record[name] = values[0];
  return record;
}

// ---------------------------------------------------------------- signature headers

/** Parses `k=v<sep>k=v…` (e.g. Stripe `t=…,v1=…`, Paddle `ts=…;h1=…`); keys may repeat. */
export function parseKeyValueList(value: string, separator: string): Map<string, string[]> {
  const pairs = new Map<string, string[]>();
  for (const part of value.split(separator)) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const key = part.slice(0, at).trim();
    const item = part.slice(at + 1).trim();
    if (item === '') continue;
    const list = pairs.get(key);
    if (list) list.push(item);
    else pairs.set(key, [item]);
  }
  return pairs;
}

/** The digest in the encoding a provider sends (hex lower case). */
export function encodeDigest(digest: Buffer, encoding: Encoding): string {
  return digest.toString(encoding);
}

/** A received signature in canonical form for comparison: hex is case-insensitive. */
export function normaliseSignature(received: string, encoding: Encoding): string {
  return encoding === 'hex' ? received.trim().toLowerCase() : received.trim();
}

export type SecretEncoding = 'utf8' | 'base64' | 'hex';

/** The key bytes of a configured secret. */
export function secretKey(secret: string, encoding: SecretEncoding | undefined): Buffer {
  if (encoding === 'base64') return Buffer.from(secret, 'base64');
  if (encoding === 'hex') return Buffer.from(secret, 'hex');
  return Buffer.from(secret, 'utf8');
}

const DIGESTS: readonly string[] = ['sha1', 'sha256', 'sha512'];
const ENCODINGS: readonly string[] = ['hex', 'base64', 'base64url'];

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGESTS.includes(value);
}

export function isEncoding(value: unknown): value is Encoding {
  return typeof value === 'string' && ENCODINGS.includes(value);
}

export interface BodyHmacOptions {
  header: string;
  algorithm: Digest;
  encoding: Encoding;
  /** Text before the signature in the header (`sha256=`); a header without it fails. */
  prefix?: string;
  /** Several keys are tried (rotation, HTML-decoded variants); each is checked, no early exit. */
  keys: readonly (string | Buffer)[];
  /** Signed content; the raw body when omitted. */
  content?: Buffer;
}

/** HMAC over the raw body (or `content`), signature in one header, constant-time compare. */
export function verifyHeaderHmac(request: InboundRequest, options: BodyHmacOptions): VerifyResult {
  const header = requireHeader(request, options.header);
  if ('error' in header) return header.error;
  let received = header.value.trim();
  const prefix = options.prefix ?? '';
  if (prefix !== '') {
    if (!received.startsWith(prefix)) return fail(`${options.header} lacks the ${prefix} prefix`);
    received = received.slice(prefix.length);
  }
  if (options.keys.length === 0) return fail('no secret configured');
  const content = options.content ?? request.body;
  const expected = options.keys.map((key) =>
    encodeDigest(hmac(options.algorithm, key, content), options.encoding),
  );
  return matchesAny(normaliseSignature(received, options.encoding), expected)
    ? OK
    : fail('signature mismatch');
}

// ---------------------------------------------------------------- timestamps

/** Checks an epoch-millisecond timestamp against `now` (ms) within ±tolerance seconds. */
export function checkTimestampMs(
  epochMs: number | undefined,
  now: number,
  toleranceSeconds: number | undefined,
): VerifyResult {
  if (epochMs === undefined || !Number.isFinite(epochMs) || epochMs < 0) {
    return fail('missing or malformed timestamp');
  }
  if (toleranceSeconds === undefined) return OK;
  return Math.abs(now - epochMs) <= toleranceSeconds * 1000
    ? OK
    : fail(`timestamp outside the ${toleranceSeconds} s tolerance`);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of an RFC 3339 / ISO 8601 date-time with an offset (`…Z`), or undefined. */
export function parseRfc3339(text: string | undefined): number | undefined {
  if (text === undefined || !RFC3339.test(text)) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch ms from all-digit text in ms, or undefined. */
export function parseEpochMs(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

// ---------------------------------------------------------------- tokens and Basic auth

/** Constant-time comparison of a configured token with a received one (absent fails). */
export function tokenMatches(expected: string, received: string | undefined): boolean {
  if (received === undefined) {
    safeEqual(expected, ''); // same work either way
    return false;
  }
  return safeEqual(expected, received);
}

/** The credentials of an `Authorization: Basic …` header, or undefined. */
export function basicCredentials(
  request: InboundRequest,
): { username: string; password: string } | undefined {
  const value = singleHeader(request, 'authorization');
  const match = value === undefined ? null : /^basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(value);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Checks Basic credentials: both parts are always compared (no early exit). */
export function verifyBasicAuth(
  request: InboundRequest,
  username: string,
  password: string,
): VerifyResult {
  const credentials = basicCredentials(request);
  if (!credentials) {
    tokenMatches(password, undefined);
    return fail('missing or malformed Basic authorization');
  }
  const userOk = safeEqual(username, credentials.username);
  const passwordOk = safeEqual(password, credentials.password);
  return userOk && passwordOk ? OK : fail('wrong Basic credentials');
}

// ---------------------------------------------------------------- public-key signatures

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_LIMIT = 256;

function cachedKey(cacheKey: string, make: () => KeyObject): KeyObject | undefined {
  if (keyCache.has(cacheKey)) return keyCache.get(cacheKey) ?? undefined;
  let key: KeyObject | null;
  try {
    key = make();
  } catch {
    key = null;
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(cacheKey, key);
  return key ?? undefined;
}

/** An Ed25519 public key from 64 hex characters (32 raw bytes), or undefined. */
export function ed25519PublicKey(hexKey: string): KeyObject | undefined {
  const trimmed = hexKey.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(trimmed)) return undefined;
  return cachedKey(`ed25519:${trimmed}`, () =>
    createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(trimmed, 'hex')]),
      format: 'der',
      type: 'spki',
    }),
  );
}

/** An EC/any public key from PEM or base64 DER SubjectPublicKeyInfo, or undefined. */
export function spkiPublicKey(text: string): KeyObject | undefined {
  const trimmed = text.trim();
  return cachedKey(`spki:${trimmed}`, () =>
    trimmed.startsWith('-----BEGIN')
      ? createPublicKey({ key: trimmed, format: 'pem' })
      : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' }),
  );
}

/** Ed25519 verification of `message` with a hex signature (64 bytes). */
export function verifyEd25519(key: KeyObject, message: Buffer, signatureHex: string): boolean {
  const trimmed = signatureHex.trim();
  if (!/^[0-9a-fA-F]{128}$/.test(trimmed)) return false;
  try {
    return verifySignature(null, message, key, Buffer.from(trimmed, 'hex'));
  } catch {
    return false;
  }
}

/** ECDSA (DER-encoded signature, base64) over SHA-256 of `message`. */
export function verifyEcdsaSha256(
  key: KeyObject,
  message: Buffer,
  signatureBase64: string,
): boolean {
  const trimmed = signatureBase64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return false;
  if (key.asymmetricKeyType !== 'ec') return false;
  try {
    return verifySignature(
      'sha256',
      message,
      { key, dsaEncoding: 'der' },
      Buffer.from(trimmed, 'base64'),
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- misc

/** PHP `htmlspecialchars_decode(…, ENT_QUOTES)` (WordPress stores secrets encoded). */
export function htmlSpecialCharsDecode(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x0*27;/gi, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Text for a response body that echoes a challenge: bounded length, no control characters. */
export function safeChallenge(value: string | undefined, maxLength = 1024): string | undefined {
  if (value === undefined || value === '' || value.length > maxLength) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters
  return /[\u0000-\u001f\u007f]/.test(value) ? undefined : value;
}

export interface KeyValueHmacScheme {
  /** The signature header, lower case (e.g. `stripe-signature`). */
  header: string;
  /** Separator between `k=v` pairs: `,` (Stripe) or `;` (Paddle). */
  separator: ',' | ';';
  timestampKey: string;
  signatureKey: string;
  /** Between timestamp and body in the signed content: `.` (Stripe) or `:` (Paddle). */
  joiner: string;
}

/**
 * The "timestamp and hex HMAC-SHA256 list in one header" family (Stripe, Paddle, Calendly,
 * Tailscale): exactly one timestamp, any of several signatures may match, over
 * `{timestamp}{joiner}{body}`. `toleranceSeconds` undefined = no age check.
 */
export function verifyKeyValueHmac(
  request: InboundRequest,
  secret: string,
  scheme: KeyValueHmacScheme,
  now: number,
  toleranceSeconds: number | undefined,
): VerifyResult {
  const header = requireHeader(request, scheme.header);
  if ('error' in header) return header.error;
  const parts = parseKeyValueList(header.value, scheme.separator);
  const timestamps = parts.get(scheme.timestampKey) ?? [];
  const signatures = (parts.get(scheme.signatureKey) ?? []).map((s) => s.toLowerCase());
  if (timestamps.length !== 1 || signatures.length === 0) {
    return fail(`malformed ${scheme.header}`);
  }
  const timestamp = timestamps[0] as string;
  const time = checkTimestamp(timestamp, now, toleranceSeconds);
  if (!time.ok) return time;
  const content = Buffer.concat([Buffer.from(`${timestamp}${scheme.joiner}`), request.body]);
  const expected = hmac('sha256', secret, content).toString('hex');
  return matchesAny(expected, signatures) ? OK : fail('signature mismatch');
}
