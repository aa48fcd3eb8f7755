import { randomFillSync } from 'node:crypto';

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

/** Random bytes are drawn from a pool refilled 4 KiB at a time (one syscall per ~270 ids). */
const RANDOM_POOL_SIZE = 4096;
const PAYLOAD_BYTES = 15;
const randomPool = Buffer.allocUnsafe(RANDOM_POOL_SIZE);
let randomOffset = RANDOM_POOL_SIZE;

/** The last id's bytes, and the scratch buffer the next one is built in. */
const lastBytes = Buffer.alloc(20);
const nextIdBytes = Buffer.alloc(20);
/** The 20 bytes as ten 16-bit limbs, most significant first (encoding scratch). */
const limbs = new Array<number>(10).fill(0);
const chunkDigits = new Array<string>(6).fill('');
/** 62^5: the largest power of 62 whose remainder times 2^16 stays exact in a double. */
const BASE62_POW5 = 62 ** 5;

/** Five base62 digits of `value` (< 62^5), zero-padded. */
function fiveDigits(value: number): string {
  let out = '';
  for (let i = 0; i < 5; i++) {
    const next = Math.floor(value / 62);
    out = BASE62[value - next * 62] + out;
    value = next;
  }
  return out;
}

/**
 * The 20 bytes as 27 base62 digits (big-endian, zero-padded), with plain numbers: repeated
 * long division of the 16-bit limbs by 62^5 (every intermediate stays below 2^46, exact in a
 * double). Equal to the BigInt conversion for every input; 62^27 > 2^160, so 27 digits always
 * suffice.
 */
export function encodeBase62(bytes: Uint8Array): string {
  for (let i = 0; i < 10; i++) limbs[i] = (bytes[2 * i] << 8) | bytes[2 * i + 1];
  // Six divisions by 62^5: 5 digits each, the last one leaving at most 2 (27 = 5 * 5 + 2).
  for (let chunk = 5; chunk >= 0; chunk--) {
    let remainder = 0;
    for (let i = 0; i < 10; i++) {
      const value = remainder * 65536 + limbs[i];
      const quotient = Math.floor(value / BASE62_POW5);
      limbs[i] = quotient;
      remainder = value - quotient * BASE62_POW5;
    }
    chunkDigits[chunk] = fiveDigits(remainder);
  }
  // 30 digits, the first three always zero (the value is below 62^27).
  return (
    chunkDigits[0].slice(3) +
    chunkDigits[1] +
    chunkDigits[2] +
    chunkDigits[3] +
    chunkDigits[4] +
    chunkDigits[5]
  );
}

function nextBytes(nowMs: number): Buffer {
  const bytes = nextIdBytes;
  const seconds = Math.floor(nowMs / 1000) - KSUID_EPOCH_SECONDS;
  bytes.writeUInt32BE(seconds >>> 0, 0);
  bytes[4] = Math.floor((nowMs % 1000) / 4);
  if (randomOffset + PAYLOAD_BYTES > RANDOM_POOL_SIZE) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  randomPool.copy(bytes, 5, randomOffset, randomOffset + PAYLOAD_BYTES);
  randomOffset += PAYLOAD_BYTES;
  if (compareBytes(bytes, lastBytes) <= 0) {
    // Same 4 ms step (or a clock step back): continue from the last id, plus one.
    lastBytes.copy(bytes);
    for (let i = 19; i >= 5; i--) {
      bytes[i] = (bytes[i] + 1) & 0xff;
      if (bytes[i] !== 0) break;
    }
  }
  bytes.copy(lastBytes);
  return bytes;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 20; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
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
