import { Buffer } from 'node:buffer';
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';

/**
 * Webhook signatures: Standard Webhooks `v1` (HMAC-SHA256) and `v1a` (ed25519), the secret
 * formats Svix uses (`whsec_`, `whsk_`, `whpk_`), the legacy Stripe-style (`t=…,v1=…`) and
 * GitHub-style (`sha256=…`) schemes, and receiver-side verification for all of them.
 *
 * Pure: no I/O and no clock reads except where a caller leaves `now` out; the only other
 * impure functions are the key generators.
 */

/** Prefix of a symmetric (`v1`) secret: `whsec_` + base64 of 24..64 random bytes. */
export const SECRET_PREFIX = 'whsec_';
/** Prefix of an ed25519 (`v1a`) signing key: `whsk_` + base64(32-byte seed ‖ 32-byte public key). */
export const SIGNING_KEY_PREFIX = 'whsk_';
/** Prefix of an ed25519 (`v1a`) public key: `whpk_` + base64 of the 32-byte raw key. */
export const PUBLIC_KEY_PREFIX = 'whpk_';

/** Bounds on a `whsec_` secret's key length, from the Standard Webhooks spec. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const DEFAULT_SECRET_BYTES = 32;

/**
 * The spec fixes no window, but every reference library (and Stripe's SDK) uses 5 minutes;
 * we apply it in both directions so a clock running ahead cannot extend a replay window.
 */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** A secret or key that is malformed: wrong prefix, bad base64, or a wrong length. */
export class InvalidSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSecretError';
  }
}

/** A delivery that failed verification; the message says which check failed. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** A payload: a string is signed as its UTF-8 bytes, bytes are signed as they are. */
export type WebhookBody = string | Uint8Array;

/**
 * A key for the Standard Webhooks schemes: a `whsec_` secret (`v1`), a `whsk_` signing key
 * (`v1a`), or raw HMAC key bytes (`v1`). Verification also takes `whpk_` public keys and
 * unprefixed base64 secrets.
 */
export type WebhookKey = string | Uint8Array;

/** Headers as a plain object (any letter case, Node's `IncomingHttpHeaders` fits) or a `Headers`. */
export type HeadersInput =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  /** Allowed distance between the signed timestamp and `now`, either way. Default 300. */
  toleranceSeconds?: number;
  /** The current time; defaults to the clock. Injectable so tests need no clock mocking. */
  now?: Date;
}

/**
 * How a string key is turned into HMAC key bytes for the legacy schemes. `'utf8'` (the
 * default) is what Stripe and GitHub do: the whole secret string, `whsec_` included, is the
 * key. `'whsec'` decodes one of our `whsec_` secrets, the same key bytes its `v1` signatures
 * use. Uint8Array keys are always used as they are.
 */
export interface LegacyKeyOptions {
  secretEncoding?: 'utf8' | 'whsec';
}

/**
 * The six outbound headers: the Standard Webhooks names and Svix's, with equal values. A type
 * alias, not an interface, so it is assignable to `Record<string, string>` header bags.
 */
export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'svix-id': string;
  'svix-timestamp': string;
  'svix-signature': string;
};

// DER wrappers that turn a raw ed25519 seed / public key into PKCS#8 / SPKI (RFC 8410), the
// only raw-key route node:crypto offers.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

// Canonical, padded, standard-alphabet base64. Buffer.from(…, 'base64') skips characters it
// does not know, so a typo would otherwise silently yield a different key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DIGITS = /^[0-9]+$/;

function decodeBase64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  // The round trip also rejects non-zero padding bits, so each key has one spelling.
  if (!BASE64.test(text) || bytes.toString('base64') !== text) {
    throw new InvalidSecretError(`${what} is not valid base64`);
  }
  return bytes;
}

function stripPrefix(value: string, prefix: string, what: string): string {
  if (typeof value !== 'string' || !value.startsWith(prefix)) {
    throw new InvalidSecretError(`${what} must start with ${prefix}`);
  }
  return value.slice(prefix.length);
}

function toBytes(body: WebhookBody): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function checkSecretLength(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new RangeError(
      `A secret must have ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${bytes}`,
    );
  }
}

/** Constant-time string equality; unequal lengths return early (a length is not secret). */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

// ---------------------------------------------------------------------------------------------
// Secrets and keys
// ---------------------------------------------------------------------------------------------

/** A new `whsec_` secret of `bytes` random bytes (24..64, default 32). */
export function generateSecret(bytes: number = DEFAULT_SECRET_BYTES): string {
  checkSecretLength(bytes);
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/**
 * The key bytes of a `whsec_` secret, strictly: the prefix is required (our secrets always
 * carry it) and the key must be 24..64 bytes. Use this when accepting a secret to store.
 */
export function parseSecret(secret: string): Buffer {
  const key = decodeBase64(stripPrefix(secret, SECRET_PREFIX, 'A secret'), 'A secret');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new InvalidSecretError(
      `A secret must decode to ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, not ${key.length}`,
    );
  }
  return key;
}

/**
 * HMAC key bytes for verification, leniently, as the `standardwebhooks` library reads them:
 * the `whsec_` prefix is optional and any non-empty length is accepted, because receivers
 * verify secrets minted elsewhere.
 */
function parseVerifySecret(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64(body, 'A secret');
  if (key.length === 0) throw new InvalidSecretError("A secret can't be empty");
  return key;
}

function ed25519PrivateKey(seed: Buffer): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
    format: 'der',
    type: 'spki',
  });
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - ED25519_KEY_BYTES);
}

/** A new `whsk_` ed25519 signing key in Svix's layout: base64(seed ‖ public key). */
export function generateSigningKey(): string {
  const seed = randomBytes(ED25519_KEY_BYTES);
  const publicKey = rawPublicKey(ed25519PrivateKey(seed));
  return SIGNING_KEY_PREFIX + Buffer.concat([seed, publicKey]).toString('base64');
}

/**
 * The private key of a `whsk_` signing key. The stored public half must match the seed, so
 * a corrupted key fails here instead of producing signatures nobody can verify.
 */
export function parseSigningKey(signingKey: string): KeyObject {
  const what = 'A signing key';
  const bytes = decodeBase64(stripPrefix(signingKey, SIGNING_KEY_PREFIX, what), what);
  if (bytes.length !== 2 * ED25519_KEY_BYTES) {
    throw new InvalidSecretError(`${what} must decode to 64 bytes, not ${bytes.length}`);
  }
  const privateKey = ed25519PrivateKey(bytes.subarray(0, ED25519_KEY_BYTES));
  if (!rawPublicKey(privateKey).equals(bytes.subarray(ED25519_KEY_BYTES))) {
    throw new InvalidSecretError(`${what}'s public half does not match its seed`);
  }
  return privateKey;
}

/** The public key of an ed25519 key (a `whsk_` signing key or a `whpk_` public key). */
export function parsePublicKey(key: string): KeyObject {
  if (key.startsWith(SIGNING_KEY_PREFIX)) return createPublicKey(parseSigningKey(key));
  const what = 'A public key';
  const raw = decodeBase64(stripPrefix(key, PUBLIC_KEY_PREFIX, what), what);
  if (raw.length !== ED25519_KEY_BYTES) {
    throw new InvalidSecretError(`${what} must decode to 32 bytes, not ${raw.length}`);
  }
  return ed25519PublicKey(raw);
}

/** The `whpk_` public key to hand to receivers for a `whsk_` signing key. */
export function publicKeyFromSigningKey(signingKey: string): string {
  return PUBLIC_KEY_PREFIX + rawPublicKey(parseSigningKey(signingKey)).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks signing
// ---------------------------------------------------------------------------------------------

/**
 * The signed content `{msgId}.{timestamp}.{body}`. The id and the timestamp may not contain
 * `.` (the spec's rule; it keeps the content unambiguous), so the timestamp must be a
 * non-negative integer number of seconds.
 */
export function signedContent(msgId: string, timestampSeconds: number, body: WebhookBody): Buffer {
  return Buffer.concat([
    Buffer.from(contentPrefix(msgId, timestampSeconds), 'utf8'),
    toBytes(body),
  ]);
}

/** `{msgId}.{timestamp}.`, checked (see {@link signedContent}). */
function contentPrefix(msgId: string, timestampSeconds: number): string {
  if (typeof msgId !== 'string' || msgId === '' || msgId.includes('.')) {
    throw new RangeError('A message id must be non-empty and may not contain "."');
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('A timestamp must be a non-negative integer number of seconds');
  }
  return `${msgId}.${timestampSeconds}.`;
}

/**
 * The v1 HMAC of the signed content: whole, or as its prefix and the body (fed in two parts
 * rather than copied into one buffer).
 */
function hmacV1(key: Uint8Array, content: string | Buffer, body?: WebhookBody): string {
  const hmac = createHmac('sha256', key).update(content);
  if (body !== undefined) hmac.update(body);
  return hmac.digest('base64');
}

/**
 * Decoded `whsec_` secrets, by secret: every attempt signs with its endpoint's secret, and
 * decoding (strict base64 and length checks) would otherwise cost as much as the HMAC.
 * Bounded; a full cache is simply emptied.
 */
const decodedSecrets = new Map<string, Buffer>();
const DECODED_SECRETS_MAX = 4096;

function secretBytes(secret: string): Buffer {
  let bytes = decodedSecrets.get(secret);
  if (bytes === undefined) {
    bytes = parseSecret(secret);
    if (decodedSecrets.size >= DECODED_SECRETS_MAX) decodedSecrets.clear();
    decodedSecrets.set(secret, bytes);
  }
  return bytes;
}

/**
 * `v1,<base64 HMAC-SHA256>` of the signed content. `secret` is a `whsec_` secret (checked
 * strictly, see {@link parseSecret}) or the raw key bytes.
 */
export function signV1(
  secret: string | Uint8Array,
  msgId: string,
  timestampSeconds: number,
  body: WebhookBody,
): string {
  const key = typeof secret === 'string' ? secretBytes(secret) : secret;
  if (key.length === 0) throw new InvalidSecretError("A secret can't be empty");
  return `v1,${hmacV1(key, contentPrefix(msgId, timestampSeconds), body)}`;
}

/** `v1a,<base64 ed25519 signature>` of the signed content, with a `whsk_` signing key. */
export function signV1a(
  signingKey: string,
  msgId: string,
  timestampSeconds: number,
  body: WebhookBody,
): string {
  const content = signedContent(msgId, timestampSeconds, body);
  return `v1a,${sign(null, content, parseSigningKey(signingKey)).toString('base64')}`;
}

/**
 * The `webhook-signature` value: one space-separated entry per key, in order. Pass the
 * current key and every old key still in its grace period, so receivers that have not yet
 * switched keep verifying. `whsk_` keys sign `v1a`; `whsec_` secrets and raw bytes sign `v1`.
 */
export function buildSignatureHeader(
  keys: readonly WebhookKey[],
  msgId: string,
  timestampSeconds: number,
  body: WebhookBody,
): string {
  if (keys.length === 0) throw new InvalidSecretError('At least one signing key is required');
  const prefix = contentPrefix(msgId, timestampSeconds);
  return keys
    .map((key) => {
      if (typeof key === 'string' && key.startsWith(SIGNING_KEY_PREFIX)) {
        const content = signedContent(msgId, timestampSeconds, body);
        return `v1a,${sign(null, content, parseSigningKey(key)).toString('base64')}`;
      }
      const bytes = typeof key === 'string' ? secretBytes(key) : key;
      if (bytes.length === 0) throw new InvalidSecretError("A secret can't be empty");
      return `v1,${hmacV1(bytes, prefix, body)}`;
    })
    .join(' ');
}

/**
 * All outbound signature headers. The `svix-*` copies let receivers that use the Svix
 * libraries (which read `svix-*` first) verify without configuration.
 */
export function buildSignatureHeaders(
  keys: readonly WebhookKey[],
  msgId: string,
  timestampSeconds: number,
  body: WebhookBody,
): WebhookSignatureHeaders {
  const signature = buildSignatureHeader(keys, msgId, timestampSeconds, body);
  const timestamp = String(timestampSeconds);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': timestamp,
    'webhook-signature': signature,
    'svix-id': msgId,
    'svix-timestamp': timestamp,
    'svix-signature': signature,
  };
}

/** Legacy schemes keyed with the endpoint's `whsec_` secret, as Standard Webhooks is. */
const WHSEC = { secretEncoding: 'whsec' } as const;

/** What signing one delivery takes: crosses to the sender thread as plain data. */
export interface DeliverySigning {
  msgId: string;
  timestampSeconds: number;
  /** Current key first, then rotated-out keys still in their grace period. */
  keys: readonly WebhookKey[];
  /** A seed system's scheme, sent alongside the Standard Webhooks headers. */
  legacy: { scheme: 'stripe' | 'github'; header?: string } | null;
}

/**
 * Every signature header of one delivery: the Standard Webhooks ones, and the endpoint's
 * legacy scheme, if any. The legacy schemes are HMACs keyed with a `whsec_` secret; they have
 * no form for an ed25519 (`whsk_`) key, which gets the Standard Webhooks `v1a` header alone.
 */
export function deliverySignatureHeaders(
  signing: DeliverySigning,
  body: WebhookBody,
): Record<string, string> {
  const { msgId, timestampSeconds, keys, legacy } = signing;
  const headers: Record<string, string> = buildSignatureHeaders(
    keys,
    msgId,
    timestampSeconds,
    body,
  );
  const first = keys[0];
  const hmacKey = typeof first === 'string' && first.startsWith(SECRET_PREFIX) ? first : undefined;
  if (hmacKey !== undefined && legacy?.scheme === 'stripe') {
    headers[legacy.header ?? 'stripe-signature'] = signStripeStyle(
      hmacKey,
      timestampSeconds,
      body,
      WHSEC,
    );
  } else if (hmacKey !== undefined && legacy?.scheme === 'github') {
    headers[legacy.header ?? 'x-hub-signature-256'] = signGithubStyle(hmacKey, body, WHSEC);
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

function isHeadersObject(headers: HeadersInput): headers is { get(name: string): string | null } {
  return typeof headers.get === 'function';
}

/** Case-insensitive header lookup; a header sent more than once is rejected. */
function headerReader(headers: HeadersInput): (name: string) => string | undefined {
  if (isHeadersObject(headers)) return (name) => headers.get(name) ?? undefined;
  const lower = new Map<string, string | readonly string[] | undefined>();
  for (const [name, value] of Object.entries(headers)) lower.set(name.toLowerCase(), value);
  return (name) => {
    const value = lower.get(name);
    if (value === undefined || typeof value === 'string') return value;
    if (value.length === 1) return value[0];
    throw new WebhookVerificationError(`Header ${name} was sent ${value.length} times`);
  };
}

function nowSeconds(options: VerifyOptions): number {
  return Math.floor((options.now ?? new Date()).getTime() / 1000);
}

/** Parses a decimal seconds timestamp and checks it is within the tolerance of now. */
function checkTimestamp(text: string, options: VerifyOptions): number {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(tolerance >= 0)) throw new RangeError('toleranceSeconds must be a non-negative number');
  const timestamp = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(timestamp)) {
    throw new WebhookVerificationError('Invalid timestamp header');
  }
  const now = nowSeconds(options);
  if (now - timestamp > tolerance) throw new WebhookVerificationError('Message timestamp too old');
  if (timestamp - now > tolerance) throw new WebhookVerificationError('Message timestamp too new');
  return timestamp;
}

/** Verification keys sorted by scheme, parsed once per call. */
interface VerifyKeys {
  hmac: Uint8Array[];
  ed25519: KeyObject[];
}

function parseVerifyKeys(keys: WebhookKey | readonly WebhookKey[]): VerifyKeys {
  const list: readonly WebhookKey[] =
    typeof keys === 'string' || keys instanceof Uint8Array ? [keys] : keys;
  if (list.length === 0) throw new InvalidSecretError('At least one secret is required');
  const parsed: VerifyKeys = { hmac: [], ed25519: [] };
  for (const key of list) {
    if (typeof key !== 'string') {
      if (key.length === 0) throw new InvalidSecretError("A secret can't be empty");
      parsed.hmac.push(key);
    } else if (key.startsWith(PUBLIC_KEY_PREFIX) || key.startsWith(SIGNING_KEY_PREFIX)) {
      parsed.ed25519.push(parsePublicKey(key));
    } else {
      parsed.hmac.push(parseVerifySecret(key));
    }
  }
  return parsed;
}

/**
 * Verifies a Standard Webhooks (or Svix) delivery and returns `body` unchanged.
 *
 * - `keys`: one or several `whsec_` secrets (the prefix is optional, as in `standardwebhooks`),
 *   raw HMAC key bytes, or `whpk_` public keys (a `whsk_` key also works) for `v1a`. Several
 *   keys cover a rotation on the receiving side.
 * - `headers`: `webhook-id/-timestamp/-signature`, or the `svix-*` names; any letter case.
 * - Any one matching entry of the space-separated signature list suffices; entries of other
 *   versions are skipped. HMACs are compared in constant time.
 *
 * @throws InvalidSecretError if a key is malformed (a configuration error, not a bad request)
 * @throws WebhookVerificationError for missing headers, a bad, too old or too new timestamp,
 *   or when no signature matches
 */
export function verifyWebhook<B extends WebhookBody>(
  keys: WebhookKey | readonly WebhookKey[],
  headers: HeadersInput,
  body: B,
  options: VerifyOptions = {},
): B {
  const parsedKeys = parseVerifyKeys(keys);
  const read = headerReader(headers);
  const header = (name: string) => read(`webhook-${name}`) ?? read(`svix-${name}`);
  const msgId = header('id');
  const timestampText = header('timestamp');
  const signatures = header('signature');
  if (!msgId || !timestampText || !signatures) {
    throw new WebhookVerificationError('Missing required headers');
  }
  const timestamp = checkTimestamp(timestampText, options);
  let content: Buffer;
  try {
    content = signedContent(msgId, timestamp, body);
  } catch {
    throw new WebhookVerificationError('Invalid webhook-id header');
  }

  let expectedV1: string[] | undefined;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const signature = entry.slice(comma + 1);
    if (version === 'v1') {
      expectedV1 ??= parsedKeys.hmac.map((key) => hmacV1(key, content));
      if (expectedV1.some((expected) => safeEqual(signature, expected))) return body;
    } else if (version === 'v1a' && parsedKeys.ed25519.length > 0 && BASE64.test(signature)) {
      const bytes = Buffer.from(signature, 'base64');
      if (
        bytes.length === ED25519_SIGNATURE_BYTES &&
        parsedKeys.ed25519.some((key) => verify(null, content, key, bytes))
      ) {
        return body;
      }
    }
  }
  throw new WebhookVerificationError('No matching signature found');
}

// ---------------------------------------------------------------------------------------------
// Legacy schemes
// ---------------------------------------------------------------------------------------------

function legacyKeyBytes(key: string | Uint8Array, options: LegacyKeyOptions): Uint8Array {
  if (typeof key === 'string' && options.secretEncoding === 'whsec') return secretBytes(key);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (bytes.length === 0) throw new InvalidSecretError("A secret can't be empty");
  return bytes;
}

function hmacHex(key: Uint8Array, ...parts: Buffer[]): string {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

/**
 * Stripe-style `t=<ts>,v1=<hex HMAC-SHA256 of "{t}.{body}">`. A string key is, by default,
 * used as its UTF-8 bytes like Stripe does (see {@link LegacyKeyOptions}).
 */
export function signStripeStyle(
  key: string | Uint8Array,
  timestampSeconds: number,
  body: WebhookBody,
  options: LegacyKeyOptions = {},
): string {
  return `t=${timestampSeconds},v1=${stripeMac(key, timestampSeconds, body, options)}`;
}

function stripeMac(
  key: string | Uint8Array,
  timestampSeconds: number,
  body: WebhookBody,
  options: LegacyKeyOptions,
): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('A timestamp must be a non-negative integer number of seconds');
  }
  const prefix = Buffer.from(`${timestampSeconds}.`, 'utf8');
  return hmacHex(legacyKeyBytes(key, options), prefix, toBytes(body));
}

/**
 * Verifies a Stripe-style header and returns `body`. Like Stripe's SDK it accepts any of
 * several `v1=` entries (rotation) and ignores other schemes (`v0=`); unlike it, the
 * tolerance applies to future timestamps too.
 */
export function verifyStripeStyle<B extends WebhookBody>(
  header: string,
  body: B,
  key: string | Uint8Array,
  options: VerifyOptions & LegacyKeyOptions = {},
): B {
  let timestampText: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (name === 't') {
      if (timestampText !== undefined) throw new WebhookVerificationError('Duplicate timestamp');
      timestampText = value;
    } else if (name === 'v1') {
      signatures.push(value);
    }
  }
  if (timestampText === undefined || signatures.length === 0) {
    throw new WebhookVerificationError('Missing timestamp or v1 signature');
  }
  const timestamp = checkTimestamp(timestampText, options);
  const expected = stripeMac(key, timestamp, body, options);
  if (signatures.some((signature) => safeEqual(signature, expected))) return body;
  throw new WebhookVerificationError('No matching signature found');
}

/** GitHub-style `sha256=<hex HMAC-SHA256 of the body>` (`X-Hub-Signature-256`). */
export function signGithubStyle(
  key: string | Uint8Array,
  body: WebhookBody,
  options: LegacyKeyOptions = {},
): string {
  return `sha256=${hmacHex(legacyKeyBytes(key, options), toBytes(body))}`;
}

/**
 * Verifies a GitHub-style header and returns `body`. The scheme has no timestamp, so it
 * cannot resist replays; dedupe on the delivery id header instead.
 */
export function verifyGithubStyle<B extends WebhookBody>(
  header: string,
  body: B,
  key: string | Uint8Array,
  options: LegacyKeyOptions = {},
): B {
  if (!header.startsWith('sha256=')) {
    throw new WebhookVerificationError('Missing sha256= signature');
  }
  if (safeEqual(header, signGithubStyle(key, body, options))) return body;
  throw new WebhookVerificationError('No matching signature found');
}
