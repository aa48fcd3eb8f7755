import { randomBytes } from 'node:crypto';

/**
 * Time-sortable ids in Svix's format: a prefix and 27 base62 characters encoding 20 bytes
 * (KSUID layout: 4-byte big-endian seconds since 2014-05-13, then payload). Like Svix's
 * "KsuidMs" the first payload byte carries the sub-second part in 4 ms steps.
 *
 * Ids made by one process are strictly increasing (when two fall into the same 4 ms step
 * the payload is incremented, as ULID's monotonic mode does), so "newest first" by id is
 * also insertion order and pagination by id never skips a row.
 */
const KSUID_EPOCH_SECONDS = 1_400_000_000;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENCODED_LENGTH = 27;

export const ID_PREFIXES = {
  application: 'app_',
  endpoint: 'ep_',
  message: 'msg_',
  attempt: 'atmpt_',
  delivery: 'msgep_',
  apiKey: 'key_',
  task: 'qtask_',
  operationalEndpoint: 'ep_',
  source: 'src_',
  event: 'evt_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
declare const idBrand: unique symbol;
/** An id of one kind of entity; a `MessageId` cannot be passed where an `EndpointId` is expected. */
export type Id<K extends IdKind> = string & { readonly [idBrand]: K };
export type AppId = Id<'application'>;
export type EndpointId = Id<'endpoint'>;
export type MessageId = Id<'message'>;
export type AttemptId = Id<'attempt'>;
export type DeliveryId = Id<'delivery'>;
export type ApiKeyId = Id<'apiKey'>;

let lastBytes = Buffer.alloc(20);

function encodeBase62(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (value > 0n) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(ENCODED_LENGTH, '0');
}

function nextBytes(nowMs: number): Buffer {
  const bytes = Buffer.alloc(20);
  const seconds = Math.floor(nowMs / 1000) - KSUID_EPOCH_SECONDS;
  bytes.writeUInt32BE(seconds >>> 0, 0);
  bytes[4] = Math.floor((nowMs % 1000) / 4);
  randomBytes(15).copy(bytes, 5);
  if (Buffer.compare(bytes, lastBytes) <= 0) {
    // Same 4 ms step (or a clock step back): continue from the last id, plus one.
    lastBytes.copy(bytes);
    for (let i = 19; i >= 5; i--) {
      bytes[i] = (bytes[i] + 1) & 0xff;
      if (bytes[i] !== 0) break;
    }
  }
  lastBytes = bytes;
  return bytes;
}

export function newId<K extends IdKind>(kind: K, nowMs: number = Date.now()): Id<K> {
  return `${ID_PREFIXES[kind]}${encodeBase62(nextBytes(nowMs))}` as Id<K>;
}

/** The creation time encoded in an id, in milliseconds (4 ms resolution). */
export function idTimestampMs(id: string): number | undefined {
  const underscore = id.lastIndexOf('_');
  const encoded = id.slice(underscore + 1);
  if (encoded.length !== ENCODED_LENGTH) return undefined;
  let value = 0n;
  for (const char of encoded) {
    const digit = BASE62.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 62n + BigInt(digit);
  }
  const hex = value.toString(16).padStart(40, '0');
  const seconds = Number.parseInt(hex.slice(0, 8), 16) + KSUID_EPOCH_SECONDS;
  const quarter = Number.parseInt(hex.slice(8, 10), 16);
  return seconds * 1000 + quarter * 4;
}

/**
 * The smallest id of a kind that could have been made at `ms`: lets a time window be
 * expressed as an id range, which the primary-key index answers directly.
 */
export function idFloorAt(kind: IdKind, ms: number): string {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(Math.max(0, Math.floor(ms / 1000) - KSUID_EPOCH_SECONDS) >>> 0, 0);
  bytes[4] = Math.floor((ms % 1000) / 4);
  return `${ID_PREFIXES[kind]}${encodeBase62(bytes)}`;
}

export function hasPrefix(kind: IdKind, value: string): boolean {
  return value.startsWith(ID_PREFIXES[kind]);
}
