import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { Ajv } from 'ajv';
import {
  basicCredentials,
  checkTimestampMs,
  effectiveTolerance,
  parseKeyValueList,
  parseMultipart,
  parseRfc3339,
} from '../../../src/inbound/providers/crypto-extra.js';
import { extraProviders } from '../../../src/inbound/providers/extra-types.js';
import type { InboundRequest, Provider } from '../../../src/inbound/providers/types.js';
import { NOW, req } from './extra-helpers.js';

const EXPECTED_TYPES = [
  'gumroad',
  'twilio',
  'paddle',
  'lemon-squeezy',
  'square',
  'linear',
  'typeform',
  'calendly',
  'twitch',
  'intercom',
  'woocommerce',
  'gitlab',
  'bitbucket',
  'razorpay',
  'xero',
  'mailgun',
  'sendgrid',
  'discord',
  'moyasar',
  'postmark',
  'dropbox',
  'okta',
  'generic-hmac',
  'generic-timestamped-hmac',
  'shared-token',
  'basic-auth',
  'none',
];

/** The Svix SDK's own type strings (svix-ingest.md §4): none may be shadowed. */
const SVIX_TYPES = [
  'generic-webhook',
  'cron',
  'adobe-sign',
  'beehiiv',
  'brex',
  'checkbook',
  'clerk',
  'docusign',
  'easypost',
  'github',
  'guesty',
  'hubspot',
  'incident-io',
  'lithic',
  'merge',
  'meta',
  'nango',
  'nash',
  'openclaw',
  'orum-io',
  'panda-doc',
  'port-io',
  'pleo',
  'psi-fi',
  'replicate',
  'resend',
  'rutter',
  'safebase',
  'sardine',
  'segment',
  'shopify',
  'slack',
  'stripe',
  'stych',
  'svix',
  'tailscale',
  'telnyx',
  'vapi',
  'veriff',
  'airwallex',
  'vgs',
  'zoom',
  'open-ai',
  'render',
];

/** A valid config per type (used to exercise every provider on hostile input). */
const SAMPLE_CONFIGS: Record<string, Record<string, unknown>> = {
  gumroad: { secret: 's', sellerId: 'x' },
  twilio: { secret: 's' },
  paddle: { secret: 's', toleranceSeconds: 5 },
  'lemon-squeezy': { secret: 's' },
  square: { secret: 's', notificationUrl: 'https://example.com/x' },
  linear: { secret: 's' },
  typeform: { secret: 's' },
  calendly: { secret: 's' },
  twitch: { secret: 'ten-chars-secret' },
  intercom: { secret: 's' },
  woocommerce: { secret: 's' },
  gitlab: { secret: 's' },
  bitbucket: { secret: 's' },
  razorpay: { secret: 's' },
  xero: { secret: 's' },
  mailgun: { secret: 's', toleranceSeconds: 300 },
  sendgrid: {
    publicKey:
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==',
  },
  discord: { publicKey: 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c' },
  moyasar: { secret: 's' },
  postmark: { username: 'u', password: 'p', token: 't', tokenHeader: 'x-token' },
  dropbox: { secret: 's' },
  okta: { secret: 's', header: 'Authorization' },
  'generic-hmac': {
    secret: 's',
    header: 'x-sig',
    algorithm: 'sha512',
    encoding: 'base64',
    prefix: 'v=',
  },
  'generic-timestamped-hmac': {
    secret: 's',
    signatureHeader: 'x-sig',
    signatureFormat: 'key-value',
    template: '{id}.{timestamp}.{method}.{url}.{body}',
    idHeader: 'x-id',
  },
  'shared-token': { secret: 's', location: 'body', name: 'a.b' },
  'basic-auth': { username: 'u', password: 'p' },
  none: {},
};

const byType = new Map(extraProviders.map((p) => [p.type, p]));
const ajv = new Ajv({ allErrors: true, strict: false });

describe('extra provider registry', () => {
  it('registers exactly the expected types, once each', () => {
    assert.deepEqual([...byType.keys()].sort(), [...EXPECTED_TYPES].sort());
    assert.equal(byType.size, extraProviders.length);
  });
  it('shadows none of the Svix SDK types, and uses kebab-case', () => {
    for (const type of byType.keys()) {
      assert.equal(SVIX_TYPES.includes(type), false, type);
      assert.match(type, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });
  for (const provider of extraProviders) {
    describe(provider.type, () => {
      const schema = provider.configSchema as { properties?: Record<string, unknown> };
      it('has a config schema that ajv compiles and the sample satisfies', () => {
        const validate = ajv.compile(provider.configSchema);
        const sample = SAMPLE_CONFIGS[provider.type];
        assert.ok(sample, 'sample config present');
        assert.equal(validate(sample), true, JSON.stringify(validate.errors));
        assert.equal(Value.Check(provider.configSchema, sample), true);
        assert.equal(validate({ ...sample, unexpected: 1 }), false, 'no additional properties');
      });
      it('lists secret fields that exist in its schema', () => {
        for (const name of provider.secretFields) {
          assert.ok(schema.properties && name in schema.properties, name);
        }
      });
      it('lets the source override a default tolerance', () => {
        const hasTolerance = Boolean(schema.properties && 'toleranceSeconds' in schema.properties);
        if (provider.defaultToleranceSeconds !== undefined) assert.ok(hasTolerance);
      });
    });
  }
  it('rejects secrets that are empty', () => {
    for (const provider of extraProviders) {
      const sample = SAMPLE_CONFIGS[provider.type] ?? {};
      if (!('secret' in sample)) continue;
      assert.equal(
        Value.Check(provider.configSchema, { ...sample, secret: '' }),
        false,
        provider.type,
      );
    }
  });
  it('validates generic config enums and template', () => {
    const timestamped = byType.get('generic-timestamped-hmac') as Provider;
    const base = { secret: 's', signatureHeader: 'x-sig', timestampHeader: 'x-ts' };
    assert.equal(
      Value.Check(timestamped.configSchema, { ...base, template: '{timestamp}' }),
      false,
    );
    assert.equal(
      Value.Check(timestamped.configSchema, { ...base, timestampFormat: 'weeks' }),
      false,
    );
    const hmacKind = byType.get('generic-hmac') as Provider;
    assert.equal(
      Value.Check(hmacKind.configSchema, { secret: 's', header: 'x-sig', algorithm: 'md5' }),
      false,
    );
    assert.equal(Value.Check(hmacKind.configSchema, { secret: 's', header: 'bad header' }), false);
  });
});

/** Hostile inputs: verify, handshake, eventId, eventType and acknowledge must never throw. */
function hostileRequests(): InboundRequest[] {
  const bodies: (string | Buffer)[] = [
    '',
    '{',
    'null',
    '[]',
    '[null,1,"x",{"event":{}}]',
    '{"type":1}',
    '{"type":0}',
    '{"events":[]}',
    '{"events":[null,1,{"eventCategory":{}}]}',
    '{"signature":{"timestamp":{},"token":[],"signature":1}}',
    '{"__proto__":{"x":1},"constructor":{"prototype":{}}}',
    '{"data":{"events":"no"},"webhookTimestamp":"soon"}',
    'webhook_id=1',
    'a=%E0%A4%A&&&==&b',
    Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    randomBytes(64),
    '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--x--',
  ];
  const headerSets: Record<string, string | string[] | undefined>[] = [
    {},
    { 'content-type': 'multipart/form-data; boundary=x' },
    { 'content-type': 'multipart/form-data' },
    { 'content-type': 'application/x-www-form-urlencoded' },
    { 'content-type': ['application/json', 'text/plain'] },
    {
      'x-signature': 'zz',
      'paddle-signature': 'ts=;h1=',
      'calendly-webhook-signature': ',,,=',
      'twitch-eventsub-message-id': 'x',
      'twitch-eventsub-message-timestamp': '2019-13-45T99:99:99Z',
      'twitch-eventsub-message-signature': 'sha256=',
      'twitch-eventsub-message-type': 'webhook_callback_verification',
      'x-signature-ed25519': 'g'.repeat(128),
      'x-signature-timestamp': '1',
      'x-twilio-email-event-webhook-signature': '!!!',
      'x-twilio-email-event-webhook-timestamp': '1',
      'x-twilio-signature': 'x',
      authorization: 'Basic',
      'x-okta-verification-challenge': 'c',
      'x-sig': 't=1,v1=zz',
      'x-id': 'i',
      'x-token': 't',
    },
    {
      'x-signature': ['a', 'b'],
      'x-twilio-signature': ['a', 'b'],
      authorization: ['a', 'b'],
      'x-okta-verification-challenge': ['a', 'b'],
    },
  ];
  const urls = [
    'https://hooks.example.com/in/t',
    'https://hooks.example.com/in/t?bodySHA256=zz&challenge=%00',
    'http://[::1]:8080/in/t?secret=s&secret=s&token=t',
    'not a url at all',
  ];
  const requests: InboundRequest[] = [];
  for (const body of bodies) {
    for (const headers of headerSets) {
      for (const url of urls) {
        for (const method of ['POST', 'GET']) {
          const base = req({ method, headers, body });
          requests.push({ ...base, url, query: new URLSearchParams(url.split('?')[1] ?? '') });
        }
      }
    }
  }
  return requests;
}

describe('robustness on hostile input', () => {
  const requests = hostileRequests();
  for (const provider of extraProviders) {
    it(`${provider.type} never throws and rejects unsigned junk`, () => {
      const config = SAMPLE_CONFIGS[provider.type] ?? {};
      for (const request of requests) {
        const result = provider.verify(request, config, NOW, provider.defaultToleranceSeconds);
        assert.equal(typeof result.ok, 'boolean');
        if (!['none', 'woocommerce'].includes(provider.type)) {
          assert.equal(
            result.ok,
            false,
            `${provider.type} accepted ${request.body.toString('latin1')}`,
          );
        }
        provider.handshake?.(request, config);
        provider.eventId(request);
        provider.eventType(request);
        provider.acknowledge?.(request, config);
      }
    });
  }
});

describe('crypto-extra helpers', () => {
  it('parses k=v lists, keeping repeated keys', () => {
    const pairs = parseKeyValueList('t=1, v1=a ,v1=b,v0=c,broken,=x,k=', ',');
    assert.deepEqual(pairs.get('t'), ['1']);
    assert.deepEqual(pairs.get('v1'), ['a', 'b']);
    assert.equal(pairs.get('k'), undefined);
  });
  it('parses RFC 3339 with nanoseconds and offsets, and nothing else', () => {
    assert.equal(
      parseRfc3339('2019-11-16T10:11:12.634234626Z'),
      Date.UTC(2019, 10, 16, 10, 11, 12, 634),
    );
    assert.equal(parseRfc3339('2019-11-16T11:11:12+01:00'), Date.UTC(2019, 10, 16, 10, 11, 12));
    for (const bad of ['1573899072', '2019-11-16', '2019-11-16T10:11:12', 'yesterday', undefined]) {
      assert.equal(parseRfc3339(bad), undefined);
    }
  });
  it('checks millisecond timestamps both ways', () => {
    assert.equal(checkTimestampMs(NOW - 5000, NOW, 5).ok, true);
    assert.equal(checkTimestampMs(NOW + 5001, NOW, 5).ok, false);
    assert.equal(checkTimestampMs(Number.NaN, NOW, 5).ok, false);
    assert.equal(checkTimestampMs(1, NOW, undefined).ok, true);
  });
  it('prefers the config tolerance, then the passed one, then the default', () => {
    assert.equal(effectiveTolerance({ toleranceSeconds: 0 }, 10, 5), 0);
    assert.equal(effectiveTolerance({}, 10, 5), 10);
    assert.equal(effectiveTolerance(undefined, undefined, 5), 5);
    assert.equal(effectiveTolerance({}, undefined, undefined), undefined);
  });
  it('parses Basic credentials with colons in the password', () => {
    const r = req({
      headers: { authorization: `Basic ${Buffer.from('a:b:c').toString('base64')}` },
    });
    assert.deepEqual(basicCredentials(r), { username: 'a', password: 'b:c' });
  });
  it('parses multipart text fields and skips files', () => {
    const body = Buffer.from(
      'preamble\r\n--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nline1\r\nline2\r\n' +
        '--b\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\nFILE\r\n--b--\r\nepilogue',
    );
    const fields = parseMultipart(body, 'b');
    assert.deepEqual([...fields.entries()], [['x', ['line1\r\nline2']]]);
  });
});
