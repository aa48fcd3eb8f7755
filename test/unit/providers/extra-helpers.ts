import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { it } from 'node:test';
import type {
  InboundRequest,
  Provider,
  VerifyResult,
} from '../../../src/inbound/providers/types.js';

/** Shared fixtures of the locally computed vectors (providers.md §2c). */
export const S = 'whsec_test_secret';
export const B = '{"id":"evt_test_1","type":"test.event"}';
export const T = 1700000000;
export const NOW = T * 1000;
export const INGEST_URL = 'https://hooks.example.com/in/tok_abc123';

export interface RequestInit {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
}

/** An inbound request; the query is taken from the URL, header names are lower-cased. */
export function req(init: RequestInit = {}): InboundRequest {
  const url = init.url ?? INGEST_URL;
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return {
    method: init.method ?? 'POST',
    url,
    headers,
    query: new URL(url).searchParams,
    body:
      typeof init.body === 'string'
        ? Buffer.from(init.body, 'utf8')
        : (init.body ?? Buffer.alloc(0)),
  };
}

export function withHeaders(
  request: InboundRequest,
  headers: Record<string, string | string[] | undefined>,
): InboundRequest {
  const merged: Record<string, string | string[] | undefined> = { ...request.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete merged[name.toLowerCase()];
    else merged[name.toLowerCase()] = value;
  }
  return { ...request, headers: merged };
}

export function withBody(request: InboundRequest, body: string | Buffer): InboundRequest {
  return { ...request, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
}

export function hmacOf(
  algorithm: 'sha1' | 'sha256' | 'sha512',
  key: string | Buffer,
  data: string | Buffer,
  encoding: 'hex' | 'base64' | 'base64url',
): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

export function assertOk(result: VerifyResult, message?: string): void {
  assert.deepEqual(result, { ok: true }, message ?? (result.ok ? '' : result.reason));
}

export function assertFails(result: VerifyResult, reason?: RegExp): void {
  assert.equal(result.ok, false, 'expected verification to fail');
  if (reason && !result.ok) assert.match(result.reason, reason);
}

/** Flips one byte in the middle of the body. */
export function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const at = Math.floor(copy.length / 2);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

export interface CommonCase<C> {
  provider: Provider<C>;
  config: C;
  wrongConfig: C;
  request: InboundRequest;
  now?: number;
  /** Header(s) whose absence or repetition must fail (lower case). */
  signatureHeaders?: readonly string[];
  /** Whether flipping a body byte must fail (false for schemes that do not sign the body). */
  bodySigned?: boolean;
}

/** The positive and the standard negatives every signed type must pass. */
export function commonCases<C>(c: CommonCase<C>): void {
  const now = c.now ?? NOW;
  it('accepts the genuine request', () => {
    assertOk(c.provider.verify(c.request, c.config, now, c.provider.defaultToleranceSeconds));
  });
  it('rejects a wrong secret', () => {
    assertFails(
      c.provider.verify(c.request, c.wrongConfig, now, c.provider.defaultToleranceSeconds),
    );
  });
  if (c.bodySigned !== false) {
    it('rejects a tampered body', () => {
      const tampered = withBody(c.request, tamper(c.request.body));
      assertFails(c.provider.verify(tampered, c.config, now, c.provider.defaultToleranceSeconds));
    });
    it('rejects an extra trailing byte', () => {
      const longer = withBody(c.request, Buffer.concat([c.request.body, Buffer.from(' ')]));
      assertFails(c.provider.verify(longer, c.config, now, c.provider.defaultToleranceSeconds));
    });
  }
  for (const header of c.signatureHeaders ?? []) {
    it(`rejects a missing ${header}`, () => {
      const missing = withHeaders(c.request, { [header]: undefined });
      assertFails(c.provider.verify(missing, c.config, now, c.provider.defaultToleranceSeconds));
    });
    it(`rejects a doubled ${header}`, () => {
      const value = c.request.headers[header];
      assert.equal(typeof value, 'string', `${header} is set in the fixture`);
      const doubled = withHeaders(c.request, { [header]: [value as string, value as string] });
      assertFails(c.provider.verify(doubled, c.config, now, c.provider.defaultToleranceSeconds));
    });
    it(`rejects an empty ${header}`, () => {
      const empty = withHeaders(c.request, { [header]: '' });
      assertFails(c.provider.verify(empty, c.config, now, c.provider.defaultToleranceSeconds));
    });
  }
}
