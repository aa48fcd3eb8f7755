import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import Razorpay from 'razorpay';
import { bitbucket } from '../../../src/inbound/providers/bitbucket.js';
import { dropbox } from '../../../src/inbound/providers/dropbox.js';
import { intercom } from '../../../src/inbound/providers/intercom.js';
import { lemonSqueezy } from '../../../src/inbound/providers/lemon-squeezy.js';
import { razorpay } from '../../../src/inbound/providers/razorpay.js';
import { square } from '../../../src/inbound/providers/square.js';
import { typeform } from '../../../src/inbound/providers/typeform.js';
import { woocommerce } from '../../../src/inbound/providers/woocommerce.js';
import { xero } from '../../../src/inbound/providers/xero.js';
import {
  assertFails,
  assertOk,
  B,
  commonCases,
  hmacOf,
  NOW,
  req,
  S,
  withHeaders,
} from './extra-helpers.js';

// Locally computed vectors, providers.md §2c (secret whsec_test_secret, body B).
const HEX = '8ad667a25d21bd731fd8c6faf882450f56d6f70c17b93bfea988684adc8f45af';
const B64 = 'itZnol0hvXMf2Mb6+IJFD1bW9wwXuTv+qYhoStyPRa8=';
const WRONG = { secret: 'whsec_other_secret' };

describe('lemon-squeezy', () => {
  const request = req({
    headers: {
      'x-signature': HEX,
      'x-event-name': 'order_created',
      'content-type': 'application/json',
    },
    body: B,
  });
  commonCases({
    provider: lemonSqueezy,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-signature'],
  });
  it('accepts upper-case hex', () => {
    const upper = withHeaders(request, { 'x-signature': HEX.toUpperCase() });
    assertOk(lemonSqueezy.verify(upper, { secret: S }, NOW));
  });
  it('rejects a truncated signature', () => {
    const short = withHeaders(request, { 'x-signature': HEX.slice(0, 40) });
    assertFails(lemonSqueezy.verify(short, { secret: S }, NOW));
  });
  it('takes the event name from the header or meta.event_name, and a composite id', () => {
    const body = JSON.stringify({
      meta: { event_name: 'subscription_updated' },
      data: { id: '42', attributes: { updated_at: '2024-01-01T00:00:00.000000Z' } },
    });
    const r = req({ body });
    assert.equal(lemonSqueezy.eventType(r), 'subscription_updated');
    assert.equal(lemonSqueezy.eventId(r), 'subscription_updated:42:2024-01-01T00:00:00.000000Z');
    assert.equal(lemonSqueezy.eventType(request), 'order_created');
    assert.equal(lemonSqueezy.eventId(request), undefined);
  });
});

describe('typeform', () => {
  const request = req({ headers: { 'typeform-signature': `sha256=${B64}` }, body: B });
  commonCases({
    provider: typeform,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['typeform-signature'],
  });
  it('requires the sha256= prefix', () => {
    assertFails(
      typeform.verify(withHeaders(request, { 'typeform-signature': B64 }), { secret: S }, NOW),
    );
  });
  it('reads event_id and event_type', () => {
    const r = req({ body: '{"event_id":"01HX","event_type":"form_response","form_response":{}}' });
    assert.equal(typeform.eventId(r), '01HX');
    assert.equal(typeform.eventType(r), 'form_response');
  });
});

describe('intercom', () => {
  const request = req({
    headers: { 'x-hub-signature': 'sha1=cc3108d52f0e454ba304e839dc52a538cadce0c5' },
    body: B,
  });
  commonCases({
    provider: intercom,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-hub-signature'],
  });
  it('rejects a sha256 signature in the sha1 slot', () => {
    const r = withHeaders(request, { 'x-hub-signature': `sha256=${HEX}` });
    assertFails(intercom.verify(r, { secret: S }, NOW));
  });
  it('reads id and topic', () => {
    const r = req({
      body: '{"type":"notification_event","id":"notif_1","topic":"conversation.user.created"}',
    });
    assert.equal(intercom.eventId(r), 'notif_1');
    assert.equal(intercom.eventType(r), 'conversation.user.created');
  });
});

describe('bitbucket', () => {
  const request = req({
    headers: {
      'x-hub-signature': `sha256=${HEX}`,
      'x-event-key': 'repo:push',
      'x-request-uuid': 'a1b2',
    },
    body: B,
  });
  commonCases({
    provider: bitbucket,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-hub-signature'],
  });
  it('rejects the signature without its prefix', () => {
    assertFails(
      bitbucket.verify(withHeaders(request, { 'x-hub-signature': HEX }), { secret: S }, NOW),
    );
  });
  it('reads X-Event-Key and X-Request-UUID', () => {
    assert.equal(bitbucket.eventType(request), 'repo:push');
    assert.equal(bitbucket.eventId(request), 'a1b2');
  });
});

describe('razorpay', () => {
  const request = req({
    headers: { 'x-razorpay-signature': HEX, 'x-razorpay-event-id': 'evt_Rz1' },
    body: B,
  });
  commonCases({
    provider: razorpay,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-razorpay-signature'],
  });
  it('agrees with Razorpay.validateWebhookSignature on random secrets and bodies', () => {
    for (let i = 0; i < 25; i += 1) {
      const secret = randomBytes(12).toString('base64url');
      const body = JSON.stringify({ event: 'payment.captured', n: randomBytes(8).toString('hex') });
      const signature = hmacOf('sha256', secret, body, 'hex');
      assert.equal(Razorpay.validateWebhookSignature(body, signature, secret), true);
      const r = req({ headers: { 'x-razorpay-signature': signature }, body });
      assertOk(razorpay.verify(r, { secret }, NOW));
      const other = `${secret}x`;
      assert.equal(Razorpay.validateWebhookSignature(body, signature, other), false);
      assertFails(razorpay.verify(r, { secret: other }, NOW));
    }
  });
  it('reads the event id header and the body event', () => {
    const r = req({
      headers: { 'x-razorpay-event-id': 'evt_Rz1' },
      body: '{"event":"payment.captured"}',
    });
    assert.equal(razorpay.eventId(r), 'evt_Rz1');
    assert.equal(razorpay.eventType(r), 'payment.captured');
  });
});

describe('square', () => {
  // Published: developer.squareup.com validate-notifications sample.
  const published = req({
    url: 'https://example.com/webhook',
    headers: { 'x-square-hmacsha256-signature': '2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og=' },
    body: '{"hello":"world"}',
  });
  describe('published vector', () => {
    commonCases({
      provider: square,
      config: { secret: 'asdf1234' },
      wrongConfig: { secret: 'asdf12345' },
      request: published,
      signatureHeaders: ['x-square-hmacsha256-signature'],
    });
  });
  it('matches the local §2c vector through notificationUrl', () => {
    const r = req({
      headers: { 'x-square-hmacsha256-signature': 'Ss019GNnaPbHFXFyD/jRfIoEQ1CdFwl77M3r6AhQN5Q=' },
      body: B,
    });
    assertOk(
      square.verify(r, { secret: S, notificationUrl: 'https://example.com/webhooks/square' }, NOW),
    );
    assertFails(square.verify(r, { secret: S }, NOW), /mismatch/);
  });
  it('signs the URL byte for byte (a trailing slash fails)', () => {
    const r = { ...published, url: 'https://example.com/webhook/' };
    assertFails(square.verify(r, { secret: 'asdf1234' }, NOW));
  });
  it('reads event_id and type', () => {
    const r = req({ body: '{"merchant_id":"M","type":"payment.updated","event_id":"e-1"}' });
    assert.equal(square.eventId(r), 'e-1');
    assert.equal(square.eventType(r), 'payment.updated');
  });
});

describe('dropbox', () => {
  const request = req({ headers: { 'x-dropbox-signature': HEX }, body: B });
  commonCases({
    provider: dropbox,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-dropbox-signature'],
  });
  it('echoes the GET challenge as text/plain with nosniff', () => {
    const r = req({ method: 'GET', url: 'https://hooks.example.com/in/tok?challenge=abc123XYZ' });
    assert.deepEqual(dropbox.handshake?.(r, { secret: S }), {
      status: 200,
      headers: { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' },
      body: 'abc123XYZ',
    });
  });
  it('has no handshake for a GET without challenge, nor for a POST', () => {
    assert.equal(dropbox.handshake?.(req({ method: 'GET' }), { secret: S }), undefined);
    const post = req({ url: 'https://hooks.example.com/in/tok?challenge=abc', body: B });
    assert.equal(dropbox.handshake?.(post, { secret: S }), undefined);
  });
  it('refuses to echo control characters', () => {
    const r = req({ method: 'GET', url: 'https://hooks.example.com/in/tok?challenge=a%0D%0Ab' });
    assert.equal(dropbox.handshake?.(r, { secret: S }), undefined);
  });
  it('names the list_folder notification and has no event id', () => {
    const r = req({ body: '{"list_folder":{"accounts":["dbid:1"]},"delta":{"users":[1]}}' });
    assert.equal(dropbox.eventType(r), 'list_folder');
    assert.equal(dropbox.eventId(r), undefined);
  });
});

describe('woocommerce', () => {
  const headers = {
    'x-wc-webhook-signature': B64,
    'x-wc-webhook-topic': 'order.updated',
    'x-wc-webhook-delivery-id': 'd1',
  };
  const request = req({ headers, body: B });
  commonCases({
    provider: woocommerce,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-wc-webhook-signature'],
  });
  it('answers the unsigned webhook_id ping with 200 as a handshake', () => {
    const ping = req({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'webhook_id=17',
    });
    assertOk(woocommerce.verify(ping, { secret: S }, NOW));
    assert.deepEqual(woocommerce.handshake?.(ping, { secret: S }), { status: 200, body: '' });
  });
  it('does not treat a look-alike as the ping', () => {
    for (const body of [
      'webhook_id=17&x=1',
      'webhook_id=',
      'webhook_id=abc',
      '{"webhook_id":17}',
    ]) {
      assertFails(woocommerce.verify(req({ body }), { secret: S }, NOW));
    }
    const signedPing = req({
      headers: { 'x-wc-webhook-signature': 'bogus' },
      body: 'webhook_id=17',
    });
    assertFails(woocommerce.verify(signedPing, { secret: S }, NOW));
    assert.equal(woocommerce.handshake?.(signedPing, { secret: S }), undefined);
    assert.equal(woocommerce.handshake?.(request, { secret: S }), undefined);
  });
  it('also accepts a secret stored HTML-encoded by WordPress', () => {
    const secret = `a&b"c'd<e>`;
    const body = '{"id":5}';
    const r = req({
      headers: { 'x-wc-webhook-signature': hmacOf('sha256', secret, body, 'base64') },
      body,
    });
    assertOk(woocommerce.verify(r, { secret: 'a&amp;b&quot;c&#039;d&lt;e&gt;' }, NOW));
    assertOk(woocommerce.verify(r, { secret }, NOW));
  });
  it('builds the id from topic, resource id and modification time', () => {
    const r = req({
      headers,
      body: '{"id":123,"date_modified_gmt":"2024-05-01T10:00:00","date_modified":"2024-05-01T12:00:00"}',
    });
    assert.equal(woocommerce.eventId(r), 'order.updated:123:2024-05-01T10:00:00');
    assert.equal(woocommerce.eventType(r), 'order.updated');
    assert.equal(woocommerce.eventId(req({ headers, body: '{"id":123}' })), undefined);
  });
});

describe('xero', () => {
  const request = req({ headers: { 'x-xero-signature': B64 }, body: B });
  commonCases({
    provider: xero,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['x-xero-signature'],
  });

  const itr =
    '{"events": [], "lastEventSequence": 0, "firstEventSequence": 0, "entropy": "S0m3r4Nd0mt3xt"}';
  it('intent-to-receive: a bad signature fails verification (the router answers exactly 401)', () => {
    const bad = req({
      headers: { 'x-xero-signature': hmacOf('sha256', 'wrong', itr, 'base64') },
      body: itr,
    });
    assertFails(xero.verify(bad, { secret: S }, NOW), /mismatch/);
  });
  it('intent-to-receive: a good signature passes and is answered 200 with an empty body', () => {
    const good = req({
      headers: { 'x-xero-signature': hmacOf('sha256', S, itr, 'base64') },
      body: itr,
    });
    assertOk(xero.verify(good, { secret: S }, NOW));
    assert.deepEqual(xero.handshake?.(good, { secret: S }), { status: 200, body: '' });
  });
  const delivery = JSON.stringify({
    events: [
      {
        resourceUrl: 'https://api.xero.com/api.xro/2.0/Invoices/1',
        resourceId: 'inv-1',
        eventDateUtc: '2024-01-01T00:00:00.000',
        eventType: 'UPDATE',
        eventCategory: 'INVOICE',
        tenantId: 't-1',
        tenantType: 'ORGANISATION',
      },
    ],
    firstEventSequence: 7,
    lastEventSequence: 7,
    entropy: 'AAAA',
  });
  it('stores real deliveries (no handshake) and acknowledges them 200 with an empty body', () => {
    const r = req({
      headers: { 'x-xero-signature': hmacOf('sha256', S, delivery, 'base64') },
      body: delivery,
    });
    assertOk(xero.verify(r, { secret: S }, NOW));
    assert.equal(xero.handshake?.(r, { secret: S }), undefined);
    assert.deepEqual(xero.acknowledge?.(r, { secret: S }), { status: 200, body: '' });
  });
  it('derives the id from the events, not from the random entropy', () => {
    const a = req({ body: delivery });
    const b = req({ body: delivery.replace('"AAAA"', '"BBBB"') });
    assert.match(xero.eventId(a) ?? '', /^xero:[0-9a-f]{64}$/);
    assert.equal(xero.eventId(a), xero.eventId(b));
    assert.equal(xero.eventType(a), 'INVOICE.UPDATE');
    assert.equal(xero.eventId(req({ body: itr })), undefined);
  });
});
