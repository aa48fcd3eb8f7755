import { type Static, Type } from '@sinclair/typebox';
import { fail, OK } from './crypto.js';
import { jsonObject, textAt, tokenMatches, verifyBasicAuth } from './crypto-extra.js';
import { type InboundRequest, type Provider, singleHeader } from './types.js';

/**
 * Postmark signs nothing. Either HTTP Basic credentials embedded in the webhook URL
 * (`https://user:pass@host/…`, sent as `Authorization: Basic …`), or a token: in a custom
 * header set on the webhook (`tokenHeader`) or in a query parameter of the URL
 * (`tokenQueryParam`, default `token`). When both are configured, both must match.
 */
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const configSchema = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, description: 'Basic auth user name' })),
    password: Type.Optional(Type.String({ minLength: 1, description: 'Basic auth password' })),
    token: Type.Optional(Type.String({ minLength: 1, description: 'A shared token' })),
    tokenHeader: Type.Optional(
      Type.String({ pattern: HEADER_NAME, description: 'Custom header carrying the token' }),
    ),
    tokenQueryParam: Type.Optional(
      Type.String({ minLength: 1, description: 'Query parameter carrying the token (`token`)' }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof configSchema>;

function receivedToken(request: InboundRequest, config: Config): string | undefined {
  if (config.tokenHeader !== undefined) {
    return singleHeader(request, config.tokenHeader.toLowerCase());
  }
  const values = request.query.getAll(config.tokenQueryParam ?? 'token');
  return values.length === 1 ? values[0] : undefined;
}

/** An id per notification: record type, the bounce/message id and, for repeatable records
 * (opens, clicks, subscription changes), when it happened. */
function eventId(request: InboundRequest): string | undefined {
  const body = jsonObject(request.body);
  const id = textAt(body, 'ID') ?? textAt(body, 'MessageID');
  if (id === undefined) return undefined;
  const when =
    textAt(body, 'ReceivedAt') ??
    textAt(body, 'ChangedAt') ??
    textAt(body, 'DeliveredAt') ??
    textAt(body, 'BouncedAt');
  return [textAt(body, 'RecordType') ?? 'Inbound', id, when].filter(Boolean).join(':');
}

export const postmark: Provider<Config> = {
  type: 'postmark',
  configSchema,
  secretFields: ['password', 'token'],
  verify(request, config) {
    const basic = config.username !== undefined || config.password !== undefined;
    const token = config.token !== undefined;
    if (!basic && !token) return fail('no credentials configured');
    if (basic) {
      if (config.username === undefined || config.password === undefined) {
        return fail('Basic auth needs both username and password');
      }
      const result = verifyBasicAuth(request, config.username, config.password);
      if (!result.ok) return result;
    }
    if (token && !tokenMatches(config.token as string, receivedToken(request, config))) {
      return fail('missing or wrong token');
    }
    return OK;
  },
  eventId,
  /** `Bounce`, `Delivery`, `Open`, `Click`, `SpamComplaint`, `SubscriptionChange`; inbound
   * messages have no `RecordType` and are `Inbound`. */
  eventType(request) {
    const body = jsonObject(request.body);
    if (body === undefined) return undefined;
    return textAt(body, 'RecordType') ?? (textAt(body, 'MessageID') ? 'Inbound' : undefined);
  },
};
