import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import {
  basicAuth,
  genericHmac,
  genericTimestampedHmac,
  none,
  renderTemplate,
  sharedToken,
} from '../../../src/inbound/providers/generic.js';
import {
  assertFails,
  assertOk,
  B,
  commonCases,
  hmacOf,
  NOW,
  req,
  S,
  T,
  withHeaders,
} from './extra-helpers.js';

describe('generic-hmac', () => {
  describe('GitHub published vector (sha256, hex, sha256= prefix)', () => {
    const secret = "It's a Secret to Everybody";
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    const config = { secret, header: 'X-Hub-Signature-256', prefix: 'sha256=' };
    commonCases({
      provider: genericHmac,
      config,
      wrongConfig: { ...config, secret: `${secret}!` },
      request: req({ headers: { 'x-hub-signature-256': signature }, body: 'Hello, World!' }),
      signatureHeaders: ['x-hub-signature-256'],
    });
    it('agrees with @octokit/webhooks-methods', async () => {
      assert.equal(await octokitVerify(secret, 'Hello, World!', signature), true);
    });
    it('requires the configured prefix', () => {
      const r = req({
        headers: { 'x-hub-signature-256': signature.slice(7) },
        body: 'Hello, World!',
      });
      assertFails(genericHmac.verify(r, config, NOW), /prefix/);
    });
  });

  it('covers the §2c local vectors: Shopify base64, Intercom sha1, Typeform prefixed base64', () => {
    const cases = [
      [
        { header: 'x-shopify-hmac-sha256', encoding: 'base64' as const },
        'itZnol0hvXMf2Mb6+IJFD1bW9wwXuTv+qYhoStyPRa8=',
      ],
      [
        { header: 'x-hub-signature', algorithm: 'sha1' as const, prefix: 'sha1=' },
        'sha1=cc3108d52f0e454ba304e839dc52a538cadce0c5',
      ],
      [
        { header: 'typeform-signature', encoding: 'base64' as const, prefix: 'sha256=' },
        'sha256=itZnol0hvXMf2Mb6+IJFD1bW9wwXuTv+qYhoStyPRa8=',
      ],
      [
        { header: 'x-signature' },
        '8ad667a25d21bd731fd8c6faf882450f56d6f70c17b93bfea988684adc8f45af',
      ],
    ] as const;
    for (const [options, signature] of cases) {
      const config = { secret: S, ...options };
      const r = req({ headers: { [options.header]: signature }, body: B });
      assertOk(genericHmac.verify(r, config, NOW), options.header);
      assertFails(genericHmac.verify(r, { ...config, secret: 'x' }, NOW));
    }
  });

  it('supports sha512, base64url and hex/base64 secrets', () => {
    const keyBytes = Buffer.from('00ff10ee20dd30cc', 'hex');
    const sig = hmacOf('sha512', keyBytes, B, 'base64url');
    const r = req({ headers: { 'x-sig': sig }, body: B });
    const base = { header: 'x-sig', algorithm: 'sha512' as const, encoding: 'base64url' as const };
    assertOk(
      genericHmac.verify(r, { ...base, secret: '00ff10ee20dd30cc', secretEncoding: 'hex' }, NOW),
    );
    assertOk(
      genericHmac.verify(
        r,
        { ...base, secret: keyBytes.toString('base64'), secretEncoding: 'base64' },
        NOW,
      ),
    );
    assertFails(genericHmac.verify(r, { ...base, secret: '00ff10ee20dd30cc' }, NOW));
    assertFails(
      genericHmac.verify(
        r,
        { ...base, encoding: 'base64', secret: '00ff10ee20dd30cc', secretEncoding: 'hex' },
        NOW,
      ),
    );
  });

  it('fails (does not throw) on an unsupported algorithm in a stored config', () => {
    const r = req({ headers: { 'x-sig': 'abc' }, body: B });
    const config = { secret: S, header: 'x-sig', algorithm: 'md5' } as unknown as Parameters<
      typeof genericHmac.verify
    >[1];
    assertFails(genericHmac.verify(r, config, NOW), /unsupported/);
  });
});

describe('generic-timestamped-hmac', () => {
  describe('Slack published vector (v0:{timestamp}:{body}, v0= prefix)', () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const config = {
      secret: '8f742231b10e8888abcd99yyyzzz85a5',
      template: 'v0:{timestamp}:{body}',
      signatureHeader: 'X-Slack-Signature',
      signaturePrefix: 'v0=',
      timestampHeader: 'X-Slack-Request-Timestamp',
    };
    const request = req({
      headers: {
        'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
        'x-slack-request-timestamp': '1531420618',
      },
      body,
    });
    commonCases({
      provider: genericTimestampedHmac,
      config,
      wrongConfig: { ...config, secret: `${config.secret}x` },
      request,
      now: 1531420618 * 1000,
      signatureHeaders: ['x-slack-signature', 'x-slack-request-timestamp'],
    });
    it('rejects a stale timestamp (default 300 s)', () => {
      assert.equal(genericTimestampedHmac.defaultToleranceSeconds, 300);
      const at = 1531420618 * 1000;
      assertOk(genericTimestampedHmac.verify(request, config, at + 300_000, 300));
      assertFails(genericTimestampedHmac.verify(request, config, at + 301_000, 300), /tolerance/);
      assertFails(
        genericTimestampedHmac.verify(
          request,
          { ...config, toleranceSeconds: 10 },
          at + 11_000,
          300,
        ),
        /tolerance/,
      );
    });
  });

  describe('Stripe-style key-value header (local §2c vector, checked with the stripe SDK)', () => {
    const header = `t=${T},v1=b56d8d3c94e44b9589adbfff3bbbf3f06503bb5521f34fe7fbb949637cdff25f`;
    const config = {
      secret: S,
      signatureHeader: 'Stripe-Signature',
      signatureFormat: 'key-value' as const,
    };
    const request = req({ headers: { 'stripe-signature': header }, body: B });
    commonCases({
      provider: genericTimestampedHmac,
      config,
      wrongConfig: { ...config, secret: 'whsec_other' },
      request,
      signatureHeaders: ['stripe-signature'],
    });
    it('is what stripe-node verifies', () => {
      const stripe = new Stripe('sk_test_x');
      const event = stripe.webhooks.constructEvent(B, header, S, 300, undefined, T);
      assert.equal(event.id, 'evt_test_1');
    });
    it('accepts rotated signatures and ignores other schemes', () => {
      const rotated = withHeaders(request, {
        'stripe-signature': `t=${T},v0=abc,v1=${'0'.repeat(64)},${header.split(',')[1]}`,
      });
      assertOk(genericTimestampedHmac.verify(rotated, config, NOW));
    });
    it('rejects a stale timestamp', () => {
      assertFails(genericTimestampedHmac.verify(request, config, NOW + 301_000, 300), /tolerance/);
    });
  });

  it('verifies Paddle-style (;, ts, h1) headers', () => {
    const config = {
      secret: S,
      signatureHeader: 'paddle-signature',
      signatureFormat: 'key-value' as const,
      pairSeparator: ';',
      timestampKey: 'ts',
      signatureKey: 'h1',
      template: '{timestamp}:{body}',
    };
    const r = req({
      headers: {
        'paddle-signature': `ts=${T};h1=b0109607ef67973bb9307f8d53f499afff810fa14701493880a37e74b9c6b987`,
      },
      body: B,
    });
    assertOk(genericTimestampedHmac.verify(r, config, NOW, 5));
    assertFails(genericTimestampedHmac.verify(r, config, NOW + 6000, 5), /tolerance/);
  });

  describe('Standard Webhooks published vector ({id}.{timestamp}.{body}, base64 secret, v1, list)', () => {
    const config = {
      secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      secretEncoding: 'base64' as const,
      encoding: 'base64' as const,
      template: '{id}.{timestamp}.{body}',
      idHeader: 'webhook-id',
      timestampHeader: 'webhook-timestamp',
      signatureHeader: 'webhook-signature',
      signaturePrefix: 'v1,',
    };
    const request = req({
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature':
          'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
      body: '{"test": 2432232314}',
    });
    commonCases({
      provider: genericTimestampedHmac,
      config,
      wrongConfig: { ...config, secret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx' },
      request,
      now: 1614265330 * 1000,
      signatureHeaders: ['webhook-signature', 'webhook-timestamp', 'webhook-id'],
    });
    it('fails with only the published negative', () => {
      const r = withHeaders(request, {
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=',
      });
      assertFails(genericTimestampedHmac.verify(r, config, 1614265330 * 1000));
    });
    it('agrees with the standardwebhooks library on a fresh signature', () => {
      const wh = new StandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
      const ts = new Date(NOW);
      const signature = wh.sign('msg_1', ts, B);
      const r = req({
        headers: {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(T),
          'webhook-signature': signature,
        },
        body: B,
      });
      assertOk(genericTimestampedHmac.verify(r, config, NOW));
      const other = withHeaders(r, { 'webhook-id': 'msg_2' });
      assertFails(genericTimestampedHmac.verify(other, config, NOW));
    });
  });

  it('verifies Zoom, HubSpot v3 (ms, method+url) and Zendesk (RFC 3339) local vectors', () => {
    const zoom = req({
      headers: {
        'x-zm-signature': 'v0=6780aebdbc41a8be84262dc76aed53215e374fd0eb99d122a3a3bd10cd591a7d',
        'x-zm-request-timestamp': String(T),
      },
      body: B,
    });
    assertOk(
      genericTimestampedHmac.verify(
        zoom,
        {
          secret: S,
          template: 'v0:{timestamp}:{body}',
          signatureHeader: 'x-zm-signature',
          signaturePrefix: 'v0=',
          timestampHeader: 'x-zm-request-timestamp',
        },
        NOW,
      ),
    );

    const hubspotConfig = {
      secret: S,
      template: '{method}{url}{body}{timestamp}',
      encoding: 'base64' as const,
      signatureHeader: 'x-hubspot-signature-v3',
      timestampHeader: 'x-hubspot-request-timestamp',
      timestampFormat: 'unix-ms' as const,
    };
    const hubspot = req({
      url: 'https://example.com/hubspot?x=1',
      headers: {
        'x-hubspot-signature-v3': 'aPMr4e/haXlHbgpfiY+eUL+EJv0ajAs0perY2d+XnXA=',
        'x-hubspot-request-timestamp': '1700000000000',
      },
      body: B,
    });
    assertOk(genericTimestampedHmac.verify(hubspot, hubspotConfig, NOW));
    assertFails(genericTimestampedHmac.verify({ ...hubspot, method: 'PUT' }, hubspotConfig, NOW));
    assertFails(
      genericTimestampedHmac.verify(
        { ...hubspot, url: 'https://example.com/hubspot?x=2' },
        hubspotConfig,
        NOW,
      ),
    );
    assertFails(genericTimestampedHmac.verify(hubspot, hubspotConfig, NOW + 301_000), /tolerance/);

    const zendeskConfig = {
      secret: S,
      template: '{timestamp}{body}',
      encoding: 'base64' as const,
      signatureHeader: 'x-zendesk-webhook-signature',
      timestampHeader: 'x-zendesk-webhook-signature-timestamp',
      timestampFormat: 'rfc3339' as const,
    };
    const zendesk = req({
      headers: {
        'x-zendesk-webhook-signature': 'a29qUek7x4YElJrfq6muU5gTTTyFqpbZqAsLOaef11c=',
        'x-zendesk-webhook-signature-timestamp': '2021-03-25T05:09:27Z',
      },
      body: B,
    });
    const at = Date.parse('2021-03-25T05:09:27Z');
    assertOk(genericTimestampedHmac.verify(zendesk, zendeskConfig, at));
    assertFails(genericTimestampedHmac.verify(zendesk, zendeskConfig, at + 301_000), /tolerance/);
    assertFails(
      genericTimestampedHmac.verify(zendesk, { ...zendeskConfig, timestampFormat: 'unix' }, at),
      /timestamp/,
    );
  });

  it('fails on configs it cannot satisfy instead of throwing', () => {
    const r = req({ headers: { 'x-sig': 'abc', 'x-ts': String(T) }, body: B });
    assertFails(
      genericTimestampedHmac.verify(r, { secret: S, signatureHeader: 'x-sig' }, NOW),
      /timestampHeader/,
    );
    assertFails(
      genericTimestampedHmac.verify(
        r,
        { secret: S, signatureHeader: 'x-sig', timestampHeader: 'x-ts', template: '{timestamp}' },
        NOW,
      ),
      /body/,
    );
    assertFails(
      genericTimestampedHmac.verify(
        r,
        { secret: S, signatureHeader: 'x-sig', timestampHeader: 'x-ts', template: '{id}{body}' },
        NOW,
      ),
      /placeholder/,
    );
  });

  it('renders templates over raw bytes', () => {
    const body = Buffer.from([0xff, 0x00, 0x7b]);
    const out = renderTemplate('v0:{timestamp}:{body}{unknown}', { timestamp: '1', body });
    assert.deepEqual(out, Buffer.concat([Buffer.from('v0:1:'), body, Buffer.from('{unknown}')]));
  });
});

describe('shared-token', () => {
  it('checks a header token (constant time), with an optional scheme prefix', () => {
    const config = {
      secret: 'tok',
      location: 'header' as const,
      name: 'Authorization',
      prefix: 'Bearer ',
    };
    assertOk(sharedToken.verify(req({ headers: { authorization: 'Bearer tok' } }), config, NOW));
    assertOk(sharedToken.verify(req({ headers: { authorization: 'bearer tok' } }), config, NOW));
    assertFails(sharedToken.verify(req({ headers: { authorization: 'tok' } }), config, NOW));
    assertFails(
      sharedToken.verify(req({ headers: { authorization: 'Bearer tok2' } }), config, NOW),
    );
    assertFails(
      sharedToken.verify(
        req({ headers: { authorization: ['Bearer tok', 'Bearer tok'] } }),
        config,
        NOW,
      ),
    );
    assertFails(sharedToken.verify(req(), config, NOW));
  });
  it('checks a query parameter token (once only)', () => {
    const config = { secret: 'tok', location: 'query' as const, name: 'key' };
    assertOk(sharedToken.verify(req({ url: 'https://h.example/in/t?key=tok' }), config, NOW));
    assertFails(
      sharedToken.verify(req({ url: 'https://h.example/in/t?key=tok&key=tok' }), config, NOW),
    );
    assertFails(sharedToken.verify(req({ url: 'https://h.example/in/t?key=to' }), config, NOW));
  });
  it('checks a body field (nested JSON path or form field)', () => {
    const config = { secret: '123', location: 'body' as const, name: 'auth.secret_token' };
    assertOk(sharedToken.verify(req({ body: '{"auth":{"secret_token":"123"}}' }), config, NOW));
    assertFails(sharedToken.verify(req({ body: '{"auth":{"secret_token":123}}' }), config, NOW));
    assertFails(sharedToken.verify(req({ body: '{"auth":{"secret_token":"1234"}}' }), config, NOW));
    assertFails(sharedToken.verify(req({ body: 'not json' }), config, NOW));
    const form = { secret: '123', location: 'body' as const, name: 'secret' };
    assertOk(
      sharedToken.verify(
        req({
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'a=1&secret=123',
        }),
        form,
        NOW,
      ),
    );
  });
});

describe('basic-auth', () => {
  const config = { username: 'u', password: 'p:w' };
  const good = `Basic ${Buffer.from('u:p:w').toString('base64')}`;
  it('accepts the right credentials', () => {
    assertOk(basicAuth.verify(req({ headers: { authorization: good } }), config, NOW));
  });
  it('rejects wrong, missing, doubled or malformed credentials', () => {
    const cases: (string | string[] | undefined)[] = [
      `Basic ${Buffer.from('u:p:W').toString('base64')}`,
      `Basic ${Buffer.from('U:p:w').toString('base64')}`,
      `Basic ${Buffer.from('up:w').toString('base64')}`,
      `Basic ${Buffer.from('u').toString('base64')}`,
      'Basic !!!',
      `Bearer ${Buffer.from('u:p:w').toString('base64')}`,
      [good, good],
      undefined,
    ];
    for (const authorization of cases) {
      assertFails(basicAuth.verify(req({ headers: { authorization } }), config, NOW));
    }
  });
});

describe('none', () => {
  it('accepts anything and takes a best-effort event type', () => {
    assertOk(none.verify(req({ body: 'anything' }), {}, NOW));
    assert.equal(none.eventType(req({ body: B })), 'test.event');
    assert.equal(none.eventType(req({ body: '{"event_type":"x.y"}' })), 'x.y');
    assert.equal(none.eventType(req({ body: '{"type":1}' })), undefined);
    assert.equal(none.eventId(req({ body: B })), undefined);
  });
});
