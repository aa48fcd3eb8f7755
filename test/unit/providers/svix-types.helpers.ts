import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { svixSdkProviders } from '../../../src/inbound/providers/svix-types.js';
import type {
  InboundRequest,
  Provider,
  VerifyResult,
} from '../../../src/inbound/providers/types.js';

/** Helpers of the tests of the Svix SDK source types (svix-types*.test.ts). */

/** providers.md §2c common inputs. */
export const SECRET = 'whsec_test_secret';
export const BODY = '{"id":"evt_test_1","type":"test.event"}';
export const TS = 1700000000;
export const NOW = TS * 1000;
export const URL_BASE = 'https://switchboard.example/in/tok_abc';

export interface Init {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
}

/** A request as the receiver builds it: lower-case header names, the query from the URL. */
export function request(init: Init = {}): InboundRequest {
  const url = init.url ?? URL_BASE;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body = init.body ?? '';
  return {
    method: init.method ?? 'POST',
    url,
    headers,
    query: new URL(url).searchParams,
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  };
}

export function hmacOf(
  algorithm: 'sha1' | 'sha256',
  key: string | Buffer,
  data: string | Buffer,
  encoding: 'hex' | 'base64' | 'base64url',
): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

export function provider(type: string): Provider {
  const found = svixSdkProviders.filter((p) => p.type === type);
  assert.equal(found.length, 1, `exactly one provider of type ${type}`);
  return found[0] as Provider;
}

export function assertOk(result: VerifyResult): void {
  assert.deepEqual(result, { ok: true }, result.ok ? '' : result.reason);
}

export function assertFails(result: VerifyResult, reason?: RegExp): void {
  assert.equal(result.ok, false, 'expected verification to fail');
  if (reason && !result.ok) assert.match(result.reason, reason);
}
