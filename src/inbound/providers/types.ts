import type { TSchema } from '@sinclair/typebox';

/**
 * The contract every inbound provider module implements. Providers are pure: no I/O, no
 * clock (time is passed in), so each is unit-tested with published vectors and with
 * signatures made by the providers' own libraries.
 */

/** One received HTTP request, exactly as it arrived. */
export interface InboundRequest {
  method: string;
  /**
   * The full public URL the provider called (`SWITCHBOARD_PUBLIC_URL` + path + query), for
   * schemes that sign the URL (Twilio, Square, HubSpot v3).
   */
  url: string;
  /** Header names in lower case; repeated headers as arrays. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: URLSearchParams;
  /** The exact body bytes: verification always runs over these, never over a re-serialisation. */
  body: Buffer;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** A response a provider expects instead of the default `200 OK` (handshakes, echoes). */
export interface ProviderResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Provider<Config = Record<string, unknown>> {
  /** The wire `type` string (kebab-case, as the Svix SDK spells it). */
  readonly type: string;
  /** TypeBox schema of the source's `config`; validated when the source is created. */
  readonly configSchema: TSchema;
  /** Config fields that are secrets: sealed at rest, never returned by the API. */
  readonly secretFields: readonly string[];
  /**
   * The status for a request that fails verification: 401 by default (Xero requires it);
   * 404 where the URL itself is the secret (Gumroad), so a prober cannot tell a wrong secret
   * from a wrong URL.
   */
  readonly failureStatus?: 401 | 404;
  /** Default timestamp tolerance, seconds, for timestamped schemes (a source may override). */
  readonly defaultToleranceSeconds?: number;
  /**
   * Checks the request's authenticity in constant time. `now` is epoch ms; `toleranceSeconds`
   * is the source's setting (or the provider default).
   */
  verify(
    request: InboundRequest,
    config: Config,
    now: number,
    toleranceSeconds?: number,
  ): VerifyResult;
  /**
   * A verification handshake to answer *instead of* storing the request as an event: GET
   * challenges (Meta, Twitch…), or a signed POST such as Slack's `url_verification`. Called
   * before `verify` for GET requests and after a successful `verify` for POSTs. Undefined
   * when the request is an ordinary event.
   */
  handshake?(request: InboundRequest, config: Config): ProviderResponse | undefined;
  /** The provider's event/delivery id (for de-duplication); undefined when it has none. */
  eventId(request: InboundRequest): string | undefined;
  /** The provider's event type/topic, when it names one. */
  eventType(request: InboundRequest): string | undefined;
  /** The answer to a verified, stored event, when the provider wants something particular. */
  acknowledge?(request: InboundRequest, config: Config): ProviderResponse;
}

/** Reads a header that must appear once; a doubled signature header is not guessed at. */
export function singleHeader(request: InboundRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
