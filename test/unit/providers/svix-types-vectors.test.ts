import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
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
 * Published vectors (providers.md §2a), signatures made by the providers' own libraries, the
 * locally computed vectors of providers.md §2c, and the verification handshakes.
 */

describe('published vectors (providers.md §2a)', () => {
  // svix/svix-webhooks python/tests/test_webhooks.py::test_sign_function
  const key = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const payload = '{"test": 2432232314}';
  const good = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const bad = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=';

  for (const type of SVIX_FAMILY_TYPES) {
    it(`${type}: Standard Webhooks test_sign_function vector, both header prefixes`, () => {
      const p = provider(type);
      for (const prefix of ['webhook', 'svix']) {
        const headers = (signature: string) => ({
          [`${prefix}-id`]: id,
          [`${prefix}-timestamp`]: String(ts),
          [`${prefix}-signature`]: signature,
        });
        assertOk(
          p.verify(request({ headers: headers(good), body: payload }), { secret: key }, ts * 1000),
        );
        assertFails(
          p.verify(request({ headers: headers(bad), body: payload }), { secret: key }, ts * 1000),
        );
        assertFails(
          p.verify(
            request({ headers: headers(good), body: payload }),
            { secret: key },
            (ts + 301) * 1000,
          ),
          /too old/,
        );
      }
    });
  }

  it('github: validating-webhook-deliveries.md example', () => {
    const p = provider('github');
    const r = request({
      headers: {
        'x-hub-signature-256':
          'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      },
      body: 'Hello, World!',
    });
    assertOk(p.verify(r, { secret: "It's a Secret to Everybody" }, NOW));
    assertFails(p.verify(r, { secret: "It's a Secret to Everybody!" }, NOW));
  });

  it('slack: "Verifying requests from Slack" worked example', () => {
    const p = provider('slack');
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const r = request({
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': '1531420618',
        'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      },
      body,
    });
    const config = { secret: '8f742231b10e8888abcd99yyyzzz85a5' };
    assertOk(p.verify(r, config, 1531420618 * 1000));
    assertFails(p.verify(r, config, (1531420618 + 301) * 1000), /timestamp/);
    assert.equal(p.eventType(r), '/webhook-collect');
    assert.equal(p.handshake?.(r, config), undefined);
  });

  it('hubspot v1: request-validation FAQ example (sha256 of secret + body)', () => {
    const p = provider('hubspot');
    const body =
      '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
    const headers = {
      'x-hubspot-signature': '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
      'x-hubspot-signature-version': 'v1',
    };
    const config = { secret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy' };
    assertOk(p.verify(request({ headers, body }), config, NOW));
    assertFails(p.verify(request({ headers, body: body.replace('123', '124') }), config, NOW));
    assert.equal(p.eventId(request({ body })), '1');
    assert.equal(p.eventType(request({ body })), 'contact.creation');
  });
});

describe("signatures made by the providers' own libraries", () => {
  for (const type of SVIX_FAMILY_TYPES) {
    it(`${type}: svix and standardwebhooks libraries`, () => {
      const p = provider(type);
      const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
      const id = 'msg_31Ux0LFbDxP6rBHhPY1VBAvo3Ds';
      const date = new Date(NOW);
      const svixSig = new SvixWebhook(secret).sign(id, date, BODY);
      const swSig = new StandardWebhook(secret).sign(id, date, BODY);
      const svixHeaders = {
        'svix-id': id,
        'svix-timestamp': String(TS),
        'svix-signature': svixSig,
      };
      const swHeaders = {
        'webhook-id': id,
        'webhook-timestamp': String(TS),
        'webhook-signature': swSig,
      };
      assertOk(p.verify(request({ headers: svixHeaders, body: BODY }), { secret }, NOW));
      assertOk(p.verify(request({ headers: swHeaders, body: BODY }), { secret }, NOW));
      assertFails(p.verify(request({ headers: swHeaders, body: `${BODY}\n` }), { secret }, NOW));
      assert.equal(p.eventId(request({ headers: svixHeaders, body: BODY })), id);
    });
  }

  it('stripe: stripe.webhooks.generateTestHeaderString', () => {
    const p = provider('stripe');
    const stripe = new Stripe('sk_test_unused');
    const secret = 'whsec_stripe_library_secret';
    const header = stripe.webhooks.generateTestHeaderString({
      payload: BODY,
      secret,
      timestamp: TS,
    });
    const r = request({ headers: { 'stripe-signature': header }, body: BODY });
    assertOk(p.verify(r, { secret }, NOW));
    assertFails(p.verify(r, { secret: `${secret}x` }, NOW));
    assertFails(p.verify(r, { secret }, NOW + 301_000), /timestamp/);
    assertOk(p.verify(r, { secret, toleranceSeconds: 600 }, NOW + 301_000));
    assert.equal(p.eventId(r), 'evt_test_1');
    assert.equal(p.eventType(r), 'test.event');
  });

  it('github: sign() from @octokit/webhooks-methods', async () => {
    const p = provider('github');
    const secret = 'octokit-secret';
    const signature = await octokitSign(secret, BODY);
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    const r = request({ headers: { 'x-hub-signature-256': signature }, body: BODY });
    assertOk(p.verify(r, { secret }, NOW));
    assertFails(p.verify(r, { secret: 'other' }, NOW));
  });
});

describe('locally computed vectors (providers.md §2c)', () => {
  it('stripe', () => {
    const header =
      't=1700000000,v1=b56d8d3c94e44b9589adbfff3bbbf3f06503bb5521f34fe7fbb949637cdff25f';
    assertOk(
      provider('stripe').verify(
        request({ headers: { 'stripe-signature': header }, body: BODY }),
        { secret: SECRET },
        NOW,
      ),
    );
  });

  it('shopify', () => {
    const r = request({
      headers: { 'x-shopify-hmac-sha256': 'itZnol0hvXMf2Mb6+IJFD1bW9wwXuTv+qYhoStyPRa8=' },
      body: BODY,
    });
    assertOk(provider('shopify').verify(r, { secret: SECRET }, NOW));
  });

  it('github', () => {
    const r = request({
      headers: {
        'x-hub-signature-256':
          'sha256=8ad667a25d21bd731fd8c6faf882450f56d6f70c17b93bfea988684adc8f45af',
      },
      body: BODY,
    });
    assertOk(provider('github').verify(r, { secret: SECRET }, NOW));
  });

  it('zoom signature', () => {
    const r = request({
      headers: {
        'x-zm-request-timestamp': '1700000000',
        'x-zm-signature': 'v0=6780aebdbc41a8be84262dc76aed53215e374fd0eb99d122a3a3bd10cd591a7d',
      },
      body: BODY,
    });
    assertOk(provider('zoom').verify(r, { secret: SECRET }, NOW));
  });

  it('hubspot v3 (POST https://example.com/hubspot?x=1, ts 1700000000000 ms)', () => {
    const r = request({
      url: 'https://example.com/hubspot?x=1',
      headers: {
        'x-hubspot-signature-v3': 'aPMr4e/haXlHbgpfiY+eUL+EJv0ajAs0perY2d+XnXA=',
        'x-hubspot-request-timestamp': '1700000000000',
      },
      body: BODY,
    });
    assertOk(provider('hubspot').verify(r, { secret: SECRET }, NOW));
    assertFails(provider('hubspot').verify({ ...r, method: 'PUT' }, { secret: SECRET }, NOW));
    assertFails(provider('hubspot').verify(r, { secret: SECRET }, NOW + 301_000), /timestamp/);
  });
});

describe('handshakes', () => {
  describe('meta GET hub.challenge', () => {
    const p = provider('meta');
    const config = { secret: SECRET, verifyToken: 'my-verify-token' };
    const get = (query: string) => request({ method: 'GET', url: `${URL_BASE}?${query}` });

    it('answers the raw challenge when the verify token matches', () => {
      const answer = p.handshake?.(
        get('hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444'),
        config,
      );
      assert.equal(answer?.status, 200);
      assert.equal(answer?.body, '1158201444');
      assert.match(answer?.headers?.['content-type'] ?? '', /^text\/plain/);
    });

    it('answers 403 to a wrong or missing token', () => {
      assert.equal(
        p.handshake?.(get('hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1'), config)
          ?.status,
        403,
      );
      assert.equal(p.handshake?.(get('hub.mode=subscribe&hub.challenge=1'), config)?.status, 403);
      const doubled =
        'hub.mode=subscribe&hub.verify_token=my-verify-token&hub.verify_token=my-verify-token&hub.challenge=1';
      assert.equal(p.handshake?.(get(doubled), config)?.status, 403);
    });

    it('refuses a challenge that is missing or unsafe to echo', () => {
      assert.equal(
        p.handshake?.(get('hub.mode=subscribe&hub.verify_token=my-verify-token'), config)?.status,
        403,
      );
      const ctl = `hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=${encodeURIComponent('a\r\nb')}`;
      assert.equal(p.handshake?.(get(ctl), config)?.status, 403);
    });

    it('is no handshake without hub.mode=subscribe, or on POST', () => {
      assert.equal(p.handshake?.(get('x=1'), config), undefined);
      const post = request({
        url: `${URL_BASE}?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1`,
      });
      assert.equal(p.handshake?.(post, config), undefined);
    });
  });

  describe('slack url_verification', () => {
    const p = provider('slack');
    const config = { secret: SECRET };
    const body =
      '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
    const signed = (b: string) =>
      request({
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': String(TS),
          'x-slack-signature': `v0=${hmacOf('sha256', SECRET, `v0:${TS}:${b}`, 'hex')}`,
        },
        body: b,
      });

    it('answers the challenge after a good signature', () => {
      const r = signed(body);
      assertOk(p.verify(r, config, NOW));
      const answer = p.handshake?.(r, config);
      assert.equal(answer?.status, 200);
      assert.deepEqual(JSON.parse(answer?.body ?? ''), {
        challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      });
    });

    it('is verified like any request (a forged one fails before the handshake)', () => {
      const r = signed(body);
      assertFails(p.verify({ ...r, body: Buffer.from(body.replace('3eZ', '4eZ')) }, config, NOW));
    });

    it('ordinary events and ssl_check', () => {
      assert.equal(
        p.handshake?.(
          signed('{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}'),
          config,
        ),
        undefined,
      );
      const ssl = request({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'ssl_check=1&token=x',
      });
      assert.equal(p.handshake?.(ssl, config)?.status, 200);
      assert.equal(p.handshake?.(signed('{"type":"url_verification"}'), config)?.status, 400);
    });
  });

  describe('zoom endpoint.url_validation', () => {
    const p = provider('zoom');
    const config = { secret: SECRET };
    const body =
      '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
    const r = request({
      headers: {
        'x-zm-request-timestamp': String(TS),
        'x-zm-signature': `v0=${hmacOf('sha256', SECRET, `v0:${TS}:${body}`, 'hex')}`,
      },
      body,
    });

    it('answers {plainToken, encryptedToken} (providers.md §2c CRC vector)', () => {
      assertOk(p.verify(r, config, NOW));
      const answer = p.handshake?.(r, config);
      assert.equal(answer?.status, 200);
      assert.deepEqual(JSON.parse(answer?.body ?? ''), {
        plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
        encryptedToken: 'f18fe384261e2c24739b3049c107257c38a5094f873fd62c28da085e693a518f',
      });
    });

    it('is no handshake for ordinary events', () => {
      assert.equal(
        p.handshake?.(request({ body: '{"event":"meeting.started"}' }), config),
        undefined,
      );
      assert.equal(p.eventType(r), 'endpoint.url_validation');
    });
  });

  describe('adobe-sign client id echo', () => {
    const p = provider('adobe-sign');
    const config = { clientId: 'CBJCHBCAABAAm0qPrtdnZ' };

    it('answers the GET verification of intent with the client id, header and JSON body', () => {
      const answer = p.handshake?.(
        request({ method: 'GET', headers: { 'X-AdobeSign-ClientId': 'CBJCHBCAABAAm0qPrtdnZ' } }),
        config,
      );
      assert.equal(answer?.status, 200);
      assert.equal(answer?.headers?.['X-AdobeSign-ClientId'], 'CBJCHBCAABAAm0qPrtdnZ');
      assert.deepEqual(JSON.parse(answer?.body ?? ''), {
        xAdobeSignClientId: 'CBJCHBCAABAAm0qPrtdnZ',
      });
    });

    it('refuses another client id, and is no handshake without one', () => {
      const wrong = request({ method: 'GET', headers: { 'x-adobesign-clientid': 'someone-else' } });
      assert.equal(p.handshake?.(wrong, config)?.status, 401);
      assert.equal(p.handshake?.(request({ method: 'GET' }), config), undefined);
    });

    it('echoes the client id on every verified POST notification', () => {
      const r = request({
        headers: { 'x-adobesign-clientid': 'CBJCHBCAABAAm0qPrtdnZ' },
        body: '{"webhookNotificationId":"n1","event":"AGREEMENT_ACTION_COMPLETED"}',
      });
      assertOk(p.verify(r, config, NOW));
      assert.equal(p.handshake?.(r, config), undefined);
      const ack = p.acknowledge?.(r, config);
      assert.equal(ack?.status, 200);
      assert.equal(ack?.headers?.['X-AdobeSign-ClientId'], 'CBJCHBCAABAAm0qPrtdnZ');
      assert.deepEqual(JSON.parse(ack?.body ?? ''), {
        xAdobeSignClientId: 'CBJCHBCAABAAm0qPrtdnZ',
      });
    });
  });

  it('no other type of this set answers GET handshakes', () => {
    const withGet = ['meta', 'adobe-sign'];
    for (const type of ['stripe', 'github', 'shopify', 'svix', 'clerk', 'slack', 'zoom']) {
      const p = provider(type);
      assert.equal(p.handshake?.(request({ method: 'GET' }), {}) ?? undefined, undefined, type);
    }
    assert.ok(withGet.every((type) => provider(type).handshake !== undefined));
  });
});
