import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { SVIX_FAMILY_TYPES } from '../../../src/inbound/providers/svix-family.js';
import {
  assertFails,
  assertOk,
  BODY,
  hmacOf,
  NOW,
  provider,
  request,
  SECRET,
  TS,
  URL_BASE,
} from './svix-types.helpers.js';

/**
 * One table row per source type; each row gets the same battery: a good request passes; the
 * wrong key, a tampered body, a missing and a doubled signature fail; a stale timestamp fails
 * where the scheme is timestamped. Signatures here are locally computed from each provider's
 * documented algorithm (published and library-made vectors are in svix-types-vectors.test.ts).
 */

interface Signed {
  headers?: Record<string, string>;
  /** Query parameters appended to the ingest URL. */
  query?: Record<string, string>;
}

interface Scheme {
  type: string;
  config: Record<string, unknown>;
  /** Signs `body` at `ts` (seconds) with the configured key, or with another one. */
  sign(body: string, ts: number, wrongKey?: boolean): Signed;
  /** Where the signature travels: a header name, or `?name` for a query parameter. */
  signature: string;
  /** The scheme signs a timestamp: stale requests must fail. */
  timestamped?: boolean;
  /** The scheme covers the body (token schemes do not). */
  bodyBound?: boolean;
  body?: string;
  eventId?: string;
  eventType?: string;
}

const WRONG = 'whsec_wrong_secret';
const key = (wrong?: boolean) => (wrong ? WRONG : SECRET);

function rsaPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}
function edPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}
const orum = rsaPair();
const orumOther = rsaPair();
const telnyxKey = edPair();
const telnyxOther = edPair();
const telnyxPublic = (telnyxKey.publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
  .subarray(12)
  .toString('base64');

/** A `whsec_` secret of the Svix family (base64 key bytes). */
const SVIX_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SVIX_WRONG = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

const svixRows: Scheme[] = SVIX_FAMILY_TYPES.flatMap((type, index) => {
  const prefix = index % 2 === 0 ? 'webhook' : 'svix';
  return [
    {
      type,
      config: { secret: SVIX_SECRET },
      signature: `${prefix}-signature`,
      timestamped: true,
      eventId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      eventType: type === 'replicate' ? undefined : 'test.event',
      sign(body, ts, wrong) {
        const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
        const signature = new StandardWebhook(wrong ? SVIX_WRONG : SVIX_SECRET).sign(
          id,
          new Date(ts * 1000),
          body,
        );
        return {
          headers: {
            [`${prefix}-id`]: id,
            [`${prefix}-timestamp`]: String(ts),
            [`${prefix}-signature`]: signature,
          },
        };
      },
    },
  ];
});

const rows: Scheme[] = [
  ...svixRows,
  {
    type: 'adobe-sign',
    config: { clientId: 'UB7E5BXCXY' },
    signature: 'x-adobesign-clientid',
    bodyBound: false,
    body: '{"webhookNotificationId":"ntf_1","event":"AGREEMENT_CREATED"}',
    eventId: 'ntf_1',
    eventType: 'AGREEMENT_CREATED',
    sign: (_body, _ts, wrong) => ({
      headers: { 'x-adobesign-clientid': wrong ? 'OTHER_CLIENT' : 'UB7E5BXCXY' },
    }),
  },
  {
    type: 'checkbook',
    config: { secret: SECRET },
    signature: 'signature',
    body: '{"id":"chk_1","status":"PAID","type":"CHECK"}',
    eventType: 'CHECK',
    sign: (body, _ts, wrong) => ({
      headers: {
        signature: `nonce=1243549809,signature=${hmacOf('sha256', key(wrong), `${body}1243549809`, 'hex')}`,
      },
    }),
  },
  {
    type: 'docusign',
    config: { secret: SECRET },
    signature: 'x-docusign-signature-1',
    body: '{"event":"envelope-completed","data":{"envelopeId":"e1"}}',
    eventType: 'envelope-completed',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-docusign-signature-1': hmacOf('sha256', key(wrong), body, 'base64') },
    }),
  },
  {
    type: 'easypost',
    config: { secret: SECRET },
    signature: 'x-hmac-signature',
    body: '{"object":"Event","id":"evt_ep1","description":"tracker.updated"}',
    eventId: 'evt_ep1',
    eventType: 'tracker.updated',
    sign: (body, _ts, wrong) => ({
      headers: {
        'x-hmac-signature': `hmac-sha256-hex=${hmacOf('sha256', key(wrong), body, 'hex')}`,
      },
    }),
  },
  {
    type: 'github',
    config: { secret: SECRET },
    signature: 'x-hub-signature-256',
    sign: (body, _ts, wrong) => ({
      headers: {
        'x-hub-signature-256': `sha256=${hmacOf('sha256', key(wrong), body, 'hex')}`,
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-github-event': 'issues',
      },
    }),
    eventId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    eventType: 'issues',
  },
  {
    type: 'hubspot',
    config: { secret: SECRET },
    signature: 'x-hubspot-signature-v3',
    timestamped: true,
    body: '[{"eventId":2,"subscriptionType":"contact.creation","attemptNumber":0},{"eventId":1,"subscriptionType":"contact.creation"}]',
    eventId: '1,2',
    eventType: 'contact.creation',
    sign: (body, ts, wrong) => ({
      headers: {
        'x-hubspot-signature-v3': hmacOf(
          'sha256',
          key(wrong),
          `POST${URL_BASE}${body}${ts * 1000}`,
          'base64',
        ),
        'x-hubspot-request-timestamp': String(ts * 1000),
      },
    }),
  },
  {
    type: 'merge',
    config: { secret: SECRET },
    signature: 'x-merge-webhook-signature',
    body: '{"hook":{"id":"h1","event":"Employee.changed"},"data":{}}',
    eventType: 'Employee.changed',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-merge-webhook-signature': hmacOf('sha256', key(wrong), body, 'base64url') },
    }),
  },
  {
    type: 'meta',
    config: { secret: SECRET, verifyToken: 'vt' },
    signature: 'x-hub-signature-256',
    body: '{"object":"whatsapp_business_account","entry":[]}',
    eventType: 'whatsapp_business_account',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-hub-signature-256': `sha256=${hmacOf('sha256', key(wrong), body, 'hex')}` },
    }),
  },
  {
    type: 'nango',
    config: { secret: SECRET },
    signature: 'x-nango-hmac-sha256',
    body: '{"type":"auth","operation":"creation","connectionId":"c1"}',
    eventType: 'auth.creation',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-nango-hmac-sha256': hmacOf('sha256', key(wrong), body, 'hex') },
    }),
  },
  {
    type: 'openclaw',
    config: { secret: SECRET },
    signature: 'x-openclaw-token',
    bodyBound: false,
    sign: (_body, _ts, wrong) => ({ headers: { 'x-openclaw-token': key(wrong) } }),
  },
  {
    type: 'orum-io',
    config: { publicKey: orum.publicKey.export({ format: 'pem', type: 'spki' }) as string },
    signature: 'signature',
    body: '{"event_id":"2d5lde32","event_type":"person_created","created_at":"2022-07-26T18:45:17.441Z","event_data":{}}',
    eventId: '2d5lde32',
    eventType: 'person_created',
    sign(body, _ts, wrong) {
      const createdAt = '2022-07-26T18:45:17.441Z';
      const signer = wrong ? orumOther.privateKey : orum.privateKey;
      return {
        headers: {
          signature: sign('sha256', Buffer.from(body + createdAt), signer).toString('base64'),
        },
      };
    },
  },
  {
    type: 'panda-doc',
    config: { secret: SECRET },
    signature: '?signature',
    body: '[{"event":"document_state_changed","data":{"id":"d1"}}]',
    eventType: 'document_state_changed',
    sign: (body, _ts, wrong) => ({
      query: { signature: hmacOf('sha256', key(wrong), body, 'hex') },
    }),
  },
  {
    type: 'port-io',
    config: { secret: SECRET },
    signature: 'x-port-signature',
    timestamped: true,
    body: '{"action":{"identifier":"deploy"},"context":{"runId":"r_1"}}',
    eventId: 'r_1',
    eventType: 'deploy',
    sign: (body, ts, wrong) => ({
      headers: {
        'x-port-timestamp': String(ts),
        'x-port-signature': `v1,${hmacOf('sha256', key(wrong), `${ts}.${body}`, 'base64')}`,
      },
    }),
  },
  {
    type: 'rutter',
    config: { secret: SECRET },
    signature: 'x-rutter-signature',
    body: '{"type":"CONNECTION","code":"INITIAL_UPDATE","connection_id":"c1"}',
    eventType: 'CONNECTION.INITIAL_UPDATE',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-rutter-signature': `sha256=${hmacOf('sha256', key(wrong), body, 'base64')}` },
    }),
  },
  {
    type: 'segment',
    config: { secret: SECRET },
    signature: 'x-signature',
    body: '{"type":"track","event":"Signed Up","messageId":"m-1"}',
    eventId: 'm-1',
    eventType: 'track',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-signature': hmacOf('sha1', key(wrong), body, 'hex') },
    }),
  },
  {
    type: 'shopify',
    config: { secret: SECRET },
    signature: 'x-shopify-hmac-sha256',
    eventId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    eventType: 'orders/create',
    sign: (body, _ts, wrong) => ({
      headers: {
        'x-shopify-hmac-sha256': hmacOf('sha256', key(wrong), body, 'base64'),
        'x-shopify-topic': 'orders/create',
        'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
    }),
  },
  {
    type: 'slack',
    config: { secret: SECRET },
    signature: 'x-slack-signature',
    timestamped: true,
    body: '{"type":"event_callback","event_id":"Ev123","event":{"type":"app_mention"}}',
    eventId: 'Ev123',
    eventType: 'app_mention',
    sign: (body, ts, wrong) => ({
      headers: {
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': `v0=${hmacOf('sha256', key(wrong), `v0:${ts}:${body}`, 'hex')}`,
      },
    }),
  },
  {
    type: 'stripe',
    config: { secret: SECRET },
    signature: 'stripe-signature',
    timestamped: true,
    eventId: 'evt_test_1',
    eventType: 'test.event',
    sign: (body, ts, wrong) => ({
      headers: {
        'stripe-signature': `t=${ts},v1=${hmacOf('sha256', key(wrong), `${ts}.${body}`, 'hex')}`,
      },
    }),
  },
  {
    type: 'tailscale',
    config: { secret: SECRET, timestampGraceSeconds: 300 },
    signature: 'tailscale-webhook-signature',
    timestamped: true,
    body: '[{"timestamp":"2023-04-22T15:36:57Z","version":1,"type":"nodeCreated","tailnet":"example.com"}]',
    eventType: 'nodeCreated',
    sign: (body, ts, wrong) => ({
      headers: {
        'tailscale-webhook-signature': `t=${ts},v1=${hmacOf('sha256', key(wrong), `${ts}.${body}`, 'hex')}`,
      },
    }),
  },
  {
    type: 'telnyx',
    config: { publicKey: telnyxPublic },
    signature: 'telnyx-signature-ed25519',
    timestamped: true,
    body: '{"data":{"id":"0ccc7b54","event_type":"call.initiated","payload":{}}}',
    eventId: '0ccc7b54',
    eventType: 'call.initiated',
    sign: (body, ts, wrong) => ({
      headers: {
        'telnyx-timestamp': String(ts),
        'telnyx-signature-ed25519': sign(
          null,
          Buffer.from(`${ts}|${body}`),
          wrong ? telnyxOther.privateKey : telnyxKey.privateKey,
        ).toString('base64'),
      },
    }),
  },
  {
    type: 'vapi',
    config: { secret: SECRET },
    signature: 'x-vapi-signature',
    body: '{"message":{"type":"end-of-call-report"}}',
    eventType: 'end-of-call-report',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-vapi-signature': hmacOf('sha256', key(wrong), body, 'hex') },
    }),
  },
  {
    type: 'veriff',
    config: { secret: SECRET },
    signature: 'x-hmac-signature',
    body: '{"id":"f04bdb47","attemptId":"e30122d1","feature":"selfid","code":7002,"action":"submitted"}',
    eventType: 'submitted',
    sign: (body, _ts, wrong) => ({
      headers: {
        'x-hmac-signature': hmacOf('sha256', key(wrong), body, 'hex'),
        'x-auth-client': 'pub',
      },
    }),
  },
  {
    type: 'airwallex',
    config: { secret: SECRET },
    signature: 'x-signature',
    timestamped: true,
    body: '{"id":"evt_aw_1","name":"payment_intent.succeeded","data":{}}',
    eventId: 'evt_aw_1',
    eventType: 'payment_intent.succeeded',
    sign: (body, ts, wrong) => ({
      headers: {
        'x-timestamp': String(ts * 1000),
        'x-signature': hmacOf('sha256', key(wrong), `${ts * 1000}${body}`, 'hex'),
      },
    }),
  },
  {
    type: 'vgs',
    config: { secret: SECRET },
    signature: 'x-vgs-signature',
    body: '{"id":"evt_v1","event":"cmp_au_card.updated","details":{}}',
    eventId: 'evt_v1',
    eventType: 'cmp_au_card.updated',
    sign: (body, _ts, wrong) => ({
      headers: { 'x-vgs-signature': hmacOf('sha256', key(wrong), body, 'hex') },
    }),
  },
  {
    type: 'zoom',
    config: { secret: SECRET },
    signature: 'x-zm-signature',
    timestamped: true,
    body: '{"event":"meeting.started","payload":{"object":{"id":"1"}}}',
    eventType: 'meeting.started',
    sign: (body, ts, wrong) => ({
      headers: {
        'x-zm-request-timestamp': String(ts),
        'x-zm-signature': `v0=${hmacOf('sha256', key(wrong), `v0:${ts}:${body}`, 'hex')}`,
      },
    }),
  },
];

function build(
  signed: Signed,
  body: string,
  edit?: (h: Record<string, string | string[]>, q: URLSearchParams) => void,
) {
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    ...signed.headers,
  };
  const query = new URLSearchParams(signed.query);
  edit?.(headers, query);
  const qs = query.toString();
  return request({ url: qs ? `${URL_BASE}?${qs}` : URL_BASE, headers, body });
}

/** Removes, or doubles, the signature wherever it travels. */
function editSignature(row: Scheme, how: 'remove' | 'double') {
  return (headers: Record<string, string | string[]>, query: URLSearchParams) => {
    if (row.signature.startsWith('?')) {
      const name = row.signature.slice(1);
      const value = query.get(name) ?? '';
      query.delete(name);
      if (how === 'double') {
        query.append(name, value);
        query.append(name, value);
      }
      return;
    }
    const value = headers[row.signature] as string;
    delete headers[row.signature];
    if (how === 'double') headers[row.signature] = [value, value];
  };
}

describe('every scheme: positive and negatives', () => {
  it('covers all 44 types but the two that are not signed (generic-webhook, cron)', () => {
    const covered = new Set(rows.map((r) => r.type));
    assert.equal(covered.size, rows.length);
    assert.equal(covered.size, 42);
  });

  for (const row of rows) {
    describe(row.type, () => {
      const p = provider(row.type);
      const body = row.body ?? BODY;

      it('accepts a correctly signed request', () => {
        assertOk(p.verify(build(row.sign(body, TS), body), row.config, NOW));
      });

      it('accepts a timestamp a little off in either direction', () => {
        assertOk(p.verify(build(row.sign(body, TS - 60), body), row.config, NOW));
        assertOk(p.verify(build(row.sign(body, TS + 60), body), row.config, NOW));
      });

      it('refuses the wrong key', () => {
        assertFails(p.verify(build(row.sign(body, TS, true), body), row.config, NOW));
      });

      if (row.bodyBound !== false) {
        it('refuses a tampered body', () => {
          const tampered = body.replace(/"/, ' "');
          assert.notEqual(tampered, body);
          assertFails(p.verify(build(row.sign(body, TS), tampered), row.config, NOW));
        });
      }

      it('refuses a missing signature', () => {
        const r = build(row.sign(body, TS), body, editSignature(row, 'remove'));
        assertFails(p.verify(r, row.config, NOW));
      });

      it('refuses a doubled signature', () => {
        const r = build(row.sign(body, TS), body, editSignature(row, 'double'));
        assertFails(p.verify(r, row.config, NOW));
      });

      it('refuses a garbage signature', () => {
        const r = build(row.sign(body, TS), body, (headers, query) => {
          if (row.signature.startsWith('?')) query.set(row.signature.slice(1), 'garbage');
          else headers[row.signature] = 'garbage';
        });
        assertFails(p.verify(r, row.config, NOW));
      });

      if (row.timestamped) {
        it('refuses a stale (or future) timestamp, and a wider tolerance admits it', () => {
          const stale = build(row.sign(body, TS - 3600), body);
          assertFails(p.verify(stale, row.config, NOW), /timestamp|old|new/i);
          const future = build(row.sign(body, TS + 3600), body);
          assertFails(p.verify(future, row.config, NOW), /timestamp|old|new/i);
          const wide = { ...row.config, toleranceSeconds: 7200 };
          if (row.type === 'tailscale')
            delete (wide as { timestampGraceSeconds?: number }).timestampGraceSeconds;
          assertOk(p.verify(stale, wide, NOW));
          assertOk(
            p.verify(
              stale,
              { ...row.config, toleranceSeconds: undefined, timestampGraceSeconds: undefined },
              NOW,
              7200,
            ),
          );
        });
      }

      it('extracts the event id and type', () => {
        const r = build(row.sign(body, TS), body);
        assert.equal(p.eventId(r), row.eventId);
        assert.equal(p.eventType(r), row.eventType);
      });
    });
  }
});

describe('scheme details', () => {
  it('svix family: svix-* and webhook-* headers, rotation lists, v1 only', () => {
    const p = provider('clerk');
    const id = 'msg_1';
    const sig = new StandardWebhook(SVIX_SECRET).sign(id, new Date(NOW), BODY);
    const other = new StandardWebhook(SVIX_WRONG).sign(id, new Date(NOW), BODY);
    const headers = { 'svix-id': id, 'svix-timestamp': String(TS) };
    assertOk(
      p.verify(
        request({ headers: { ...headers, 'svix-signature': `${other} ${sig}` }, body: BODY }),
        { secret: SVIX_SECRET },
        NOW,
      ),
    );
    assertFails(
      p.verify(
        request({ headers: { ...headers, 'svix-signature': other }, body: BODY }),
        { secret: SVIX_SECRET },
        NOW,
      ),
    );
    // A key without the whsec_ prefix is the same key.
    assertOk(
      p.verify(
        request({ headers: { ...headers, 'svix-signature': sig }, body: BODY }),
        { secret: SVIX_SECRET.slice(6) },
        NOW,
      ),
    );
    // A secret that is not base64 is a configuration error, reported, never thrown.
    assertFails(
      p.verify(
        request({ headers: { ...headers, 'svix-signature': sig }, body: BODY }),
        { secret: 'whsec_***' },
        NOW,
      ),
      /malformed/,
    );
    assert.equal(p.eventId(request({ headers: { 'webhook-id': 'a', 'svix-id': 'b' } })), 'a');
    assert.equal(p.eventId(request({ headers: { 'svix-id': 'b' } })), 'b');
  });

  it('replicate names the prediction status as its event type', () => {
    const p = provider('replicate');
    assert.equal(p.eventType(request({ body: '{"id":"p1","status":"succeeded"}' })), 'succeeded');
  });

  it('github, docusign, easypost, hubspot, segment: without a secret nothing is checked', () => {
    for (const type of ['github', 'docusign', 'easypost', 'hubspot', 'segment']) {
      const p = provider(type);
      assertOk(p.verify(request({ body: BODY }), {}, NOW));
      assertOk(p.verify(request({ body: BODY }), { secret: null }, NOW));
      assertFails(p.verify(request({ body: BODY }), { secret: SECRET }, NOW));
    }
  });

  it('docusign: any of several X-DocuSign-Signature-N headers may match', () => {
    const p = provider('docusign');
    const headers = {
      'x-docusign-signature-1': hmacOf('sha256', WRONG, BODY, 'base64'),
      'x-docusign-signature-2': hmacOf('sha256', SECRET, BODY, 'base64'),
    };
    assertOk(p.verify(request({ headers, body: BODY }), { secret: SECRET }, NOW));
    assertFails(p.verify(request({ headers, body: BODY }), { secret: 'third' }, NOW));
  });

  it('easypost: the secret is NFKD-normalised', () => {
    const p = provider('easypost');
    const signature = `hmac-sha256-hex=${hmacOf('sha256', 'cafe\u0301-s3cret', BODY, 'hex')}`;
    const r = request({ headers: { 'x-hmac-signature': signature }, body: BODY });
    assertOk(p.verify(r, { secret: 'caf\u00e9-s3cret' }, NOW));
  });

  it('merge: padded and unpadded URL-safe base64 both match', () => {
    const p = provider('merge');
    const digest = hmacOf('sha256', SECRET, BODY, 'base64url');
    for (const value of [digest, `${digest}=`]) {
      assertOk(
        p.verify(
          request({ headers: { 'x-merge-webhook-signature': value }, body: BODY }),
          { secret: SECRET },
          NOW,
        ),
      );
    }
    const standard = hmacOf('sha256', SECRET, BODY, 'base64');
    if (standard.replace(/=+$/, '') !== digest) {
      assertFails(
        p.verify(
          request({ headers: { 'x-merge-webhook-signature': standard }, body: BODY }),
          { secret: SECRET },
          NOW,
        ),
      );
    }
  });

  it('nango: the legacy X-Nango-Signature is sha256(secret + body)', () => {
    const p = provider('nango');
    const legacy = createHash('sha256')
      .update(SECRET + BODY)
      .digest('hex');
    assertOk(
      p.verify(
        request({ headers: { 'x-nango-signature': legacy }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
    assertFails(
      p.verify(
        request({ headers: { 'x-nango-signature': legacy }, body: `${BODY} ` }),
        { secret: SECRET },
        NOW,
      ),
    );
    // When the HMAC header is present it decides, whatever the legacy one says.
    const both = { 'x-nango-signature': legacy, 'x-nango-hmac-sha256': 'bad' };
    assertFails(p.verify(request({ headers: both, body: BODY }), { secret: SECRET }, NOW));
  });

  it('vapi: the legacy x-vapi-secret header holds the secret verbatim', () => {
    const p = provider('vapi');
    assertOk(p.verify(request({ headers: { 'x-vapi-secret': SECRET } }), { secret: SECRET }, NOW));
    assertFails(
      p.verify(request({ headers: { 'x-vapi-secret': WRONG } }), { secret: SECRET }, NOW),
    );
    assertFails(
      p.verify(
        request({ headers: { 'x-vapi-secret': [SECRET, SECRET] } }),
        { secret: SECRET },
        NOW,
      ),
    );
    assertFails(p.verify(request({}), { secret: SECRET }, NOW), /missing/);
  });

  it('openclaw: a bearer token works too', () => {
    const p = provider('openclaw');
    assertOk(
      p.verify(
        request({ headers: { authorization: `Bearer ${SECRET}` } }),
        { secret: SECRET },
        NOW,
      ),
    );
    assertFails(
      p.verify(request({ headers: { authorization: `Bearer ${WRONG}` } }), { secret: SECRET }, NOW),
    );
    assertFails(
      p.verify(request({ headers: { authorization: `Basic ${SECRET}` } }), { secret: SECRET }, NOW),
    );
  });

  it('vgs: a sha256= prefix is accepted', () => {
    const p = provider('vgs');
    const value = `sha256=${hmacOf('sha256', SECRET, BODY, 'hex')}`;
    assertOk(
      p.verify(
        request({ headers: { 'x-vgs-signature': value }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
  });

  it('tailscale: without a grace period the timestamp age is not checked (as the SDK says)', () => {
    const p = provider('tailscale');
    const old = TS - 86_400;
    const value = `t=${old},v1=${hmacOf('sha256', SECRET, `${old}.${BODY}`, 'hex')}`;
    const r = request({ headers: { 'tailscale-webhook-signature': value }, body: BODY });
    assertOk(p.verify(r, { secret: SECRET }, NOW));
    assertOk(p.verify(r, { secret: SECRET, timestampGraceSeconds: null }, NOW));
    assertFails(p.verify(r, { secret: SECRET, timestampGraceSeconds: 300 }, NOW), /timestamp/);
    assert.equal(p.defaultToleranceSeconds, undefined);
  });

  it('stripe, tailscale, checkbook: any of several v1 signatures may match', () => {
    const good = hmacOf('sha256', SECRET, `${TS}.${BODY}`, 'hex');
    const bad = hmacOf('sha256', WRONG, `${TS}.${BODY}`, 'hex');
    const value = `t=${TS},v1=${bad},v1=${good},v0=zz`;
    assertOk(
      provider('stripe').verify(
        request({ headers: { 'stripe-signature': value }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
    assertOk(
      provider('tailscale').verify(
        request({ headers: { 'tailscale-webhook-signature': value }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
    // Two timestamps are ambiguous: refused.
    const two = `t=${TS},t=${TS + 1},v1=${good}`;
    assertFails(
      provider('stripe').verify(
        request({ headers: { 'stripe-signature': two }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
  });

  it('orum-io: an unreadable or non-RSA key, or a body without created_at, fails cleanly', () => {
    const p = provider('orum-io');
    const body = '{"event_id":"e","created_at":"2022-07-26T18:45:17.441Z"}';
    const signature = sign(
      'sha256',
      Buffer.from(`${body}2022-07-26T18:45:17.441Z`),
      orum.privateKey,
    ).toString('base64');
    const r = request({ headers: { signature }, body });
    assertFails(p.verify(r, { publicKey: 'not a key' }, NOW), /public key/);
    const ed = edPair().publicKey.export({ format: 'pem', type: 'spki' }) as string;
    assertFails(p.verify(r, { publicKey: ed }, NOW), /public key/);
    const der = (orum.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).toString(
      'base64',
    );
    assertOk(p.verify(r, { publicKey: der }, NOW));
    const noDate = request({ headers: { signature }, body: '{"event_id":"e"}' });
    assertFails(p.verify(noDate, { publicKey: der }, NOW), /created_at/);
  });

  it('telnyx: a public key of the wrong length fails cleanly', () => {
    const p = provider('telnyx');
    const r = request({
      headers: { 'telnyx-timestamp': String(TS), 'telnyx-signature-ed25519': 'AAAA' },
      body: BODY,
    });
    assertFails(p.verify(r, { publicKey: Buffer.alloc(16).toString('base64') }, NOW), /public key/);
  });

  it("hubspot v3: signs the URL with HubSpot's %-escapes decoded; v3 wins over v1", () => {
    const p = provider('hubspot');
    const url = `${URL_BASE}?from=a%40b.com%2C%28x%29&q=%3D1`;
    const signed = `POST${URL_BASE}?from=a@b.com,(x)&q=%3D1${BODY}${NOW}`;
    const headers = {
      'x-hubspot-signature-v3': hmacOf('sha256', SECRET, signed, 'base64'),
      'x-hubspot-request-timestamp': String(NOW),
    };
    assertOk(p.verify(request({ url, headers, body: BODY }), { secret: SECRET }, NOW));
    const v1 = createHash('sha256')
      .update(SECRET + BODY)
      .digest('hex');
    const mixed = { ...headers, 'x-hubspot-signature-v3': 'bad', 'x-hubspot-signature': v1 };
    assertFails(p.verify(request({ url, headers: mixed, body: BODY }), { secret: SECRET }, NOW));
  });

  it('hubspot v2: sha256(secret + method + url + body)', () => {
    const p = provider('hubspot');
    const v2 = createHash('sha256').update(`${SECRET}POST${URL_BASE}${BODY}`).digest('hex');
    const headers = { 'x-hubspot-signature': v2, 'x-hubspot-signature-version': 'v2' };
    assertOk(p.verify(request({ headers, body: BODY }), { secret: SECRET }, NOW));
    assertFails(
      p.verify(
        request({ headers: { ...headers, 'x-hubspot-signature-version': 'v1' }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
    assertFails(
      p.verify(
        request({ headers: { ...headers, 'x-hubspot-signature-version': 'v9' }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
      /version/,
    );
  });

  it('slack: event types of interactivity payloads and slash commands (form bodies)', () => {
    const p = provider('slack');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const interactive = `payload=${encodeURIComponent('{"type":"block_actions","trigger_id":"1"}')}`;
    assert.equal(p.eventType(request({ headers: form, body: interactive })), 'block_actions');
    assert.equal(
      p.eventType(request({ headers: form, body: 'command=%2Fdeploy&text=x' })),
      '/deploy',
    );
    assert.equal(
      p.eventType(request({ body: '{"type":"url_verification","challenge":"c"}' })),
      'url_verification',
    );
  });
});
