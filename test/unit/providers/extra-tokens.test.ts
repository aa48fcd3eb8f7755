import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gitlab } from '../../../src/inbound/providers/gitlab.js';
import { gumroad } from '../../../src/inbound/providers/gumroad.js';
import { moyasar } from '../../../src/inbound/providers/moyasar.js';
import { okta } from '../../../src/inbound/providers/okta.js';
import { postmark } from '../../../src/inbound/providers/postmark.js';
import { assertFails, assertOk, commonCases, NOW, req, withHeaders } from './extra-helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('gumroad', () => {
  // Field names from Gumroad's payload_for_ping_notification (providers.md §2b).
  const sale =
    'seller_id=SELLER1&product_id=P1&product_name=Pro+Plan&permalink=pro&product_permalink=https%3A%2F%2Fx.gumroad.com%2Fl%2Fpro' +
    '&email=buyer%40example.com&price=1000&currency=usd&quantity=1&order_number=123&sale_id=SALE%3D%3D1' +
    '&sale_timestamp=2024-01-01T00%3A00%3A00Z&card%5Btype%5D=visa&url_params%5Bsource%5D=ad&test=false&resource_name=sale';
  const url = 'https://hooks.example.com/in/tok_g?secret=s3cr3t';
  const request = req({ url, headers: FORM, body: sale });

  it('accepts any ping when no secret or seller id is configured (the URL token is the secret)', () => {
    assertOk(gumroad.verify(req({ headers: FORM, body: sale }), {}, NOW));
    assertOk(gumroad.verify(req({ headers: FORM, body: '' }), {}, NOW));
  });
  it('checks the optional URL secret in constant time', () => {
    assertOk(gumroad.verify(request, { secret: 's3cr3t' }, NOW));
    assertFails(gumroad.verify(request, { secret: 's3cr3T' }, NOW));
    assertFails(gumroad.verify(req({ headers: FORM, body: sale }), { secret: 's3cr3t' }, NOW));
    const doubled = req({ url: `${url}&secret=s3cr3t`, headers: FORM, body: sale });
    assertFails(gumroad.verify(doubled, { secret: 's3cr3t' }, NOW));
  });
  it('reads the secret from a custom query parameter', () => {
    const r = req({ url: 'https://hooks.example.com/in/tok_g?k=abc', headers: FORM, body: sale });
    assertOk(gumroad.verify(r, { secret: 'abc', secretQueryParam: 'k' }, NOW));
    assertFails(gumroad.verify(r, { secret: 'abc' }, NOW));
  });
  it('checks seller_id when configured', () => {
    assertOk(gumroad.verify(request, { sellerId: 'SELLER1' }, NOW));
    assertFails(gumroad.verify(request, { sellerId: 'SELLER2' }, NOW));
    assertFails(
      gumroad.verify(req({ headers: FORM, body: 'sale_id=1' }), { sellerId: 'SELLER1' }, NOW),
    );
  });
  it('reads sale_id and resource_name from form and JSON bodies', () => {
    assert.equal(gumroad.eventId(request), 'SALE==1');
    assert.equal(gumroad.eventType(request), 'sale');
    const refund = req({
      headers: FORM,
      body: sale.replace('resource_name=sale', 'resource_name=refund'),
    });
    assert.equal(gumroad.eventId(refund), 'SALE==1:refund');
    assert.equal(gumroad.eventType(refund), 'refund');
    const legacy = req({ headers: FORM, body: 'seller_id=S&sale_id=abc&price=100' });
    assert.equal(gumroad.eventId(legacy), 'abc');
    assert.equal(gumroad.eventType(legacy), 'sale');
    const json = req({
      headers: { 'content-type': 'application/json' },
      body: '{"sale_id":"j1","resource_name":"dispute","seller_id":"SELLER1"}',
    });
    assert.equal(gumroad.eventId(json), 'j1:dispute');
    assert.equal(gumroad.eventType(json), 'dispute');
    assertOk(gumroad.verify(json, { sellerId: 'SELLER1' }, NOW));
  });
  it('parses a form body sent without a content type', () => {
    assert.equal(gumroad.eventId(req({ body: 'sale_id=x1' })), 'x1');
  });
});

describe('gitlab', () => {
  const request = req({
    headers: {
      'x-gitlab-token': 'glsecret',
      'x-gitlab-event': 'Push Hook',
      'idempotency-key': 'idem-1',
      'x-gitlab-event-uuid': 'uuid-1',
    },
    body: '{"object_kind":"push"}',
  });
  commonCases({
    provider: gitlab,
    config: { secret: 'glsecret' },
    wrongConfig: { secret: 'glsecret2' },
    request,
    signatureHeaders: ['x-gitlab-token'],
    bodySigned: false,
  });
  it('rejects a prefix of the token', () => {
    assertFails(
      gitlab.verify(
        withHeaders(request, { 'x-gitlab-token': 'glsecre' }),
        { secret: 'glsecret' },
        NOW,
      ),
    );
  });
  it('reads Idempotency-Key (else the event UUID) and X-Gitlab-Event (else object_kind)', () => {
    assert.equal(gitlab.eventId(request), 'idem-1');
    assert.equal(gitlab.eventType(request), 'Push Hook');
    const older = req({
      headers: { 'x-gitlab-event-uuid': 'uuid-2' },
      body: '{"object_kind":"merge_request"}',
    });
    assert.equal(gitlab.eventId(older), 'uuid-2');
    assert.equal(gitlab.eventType(older), 'merge_request');
  });
});

describe('moyasar', () => {
  // providers.md §2b: Moyasar verification event sample.
  const sample =
    '{"id": "7a1f0e3c-5d2b-4c8e-9f61-2b8d4f0a9c13", "type": "webhook_verification", "created_at": "2024-01-15T10:05:12Z", "secret_token": "123", "account_name": "My Store", "data": {"webhook_id": "c4bc247d-5288-4673-9b40-39c082ac7fbb", "verification_code": "482913"}}';
  const request = req({ headers: { 'content-type': 'application/json' }, body: sample });
  it('accepts the matching secret_token', () => {
    assertOk(moyasar.verify(request, { secret: '123' }, NOW));
  });
  it('rejects a wrong, missing or non-string secret_token, and non-JSON bodies', () => {
    assertFails(moyasar.verify(request, { secret: '1234' }, NOW));
    for (const body of ['{"id":"x"}', '{"secret_token":123}', 'secret_token=123', '', '[]']) {
      assertFails(moyasar.verify(req({ body }), { secret: '123' }, NOW));
    }
  });
  it('reads id and type', () => {
    assert.equal(moyasar.eventId(request), '7a1f0e3c-5d2b-4c8e-9f61-2b8d4f0a9c13');
    assert.equal(moyasar.eventType(request), 'webhook_verification');
    const paid = req({
      body: '{"id":"e2","type":"payment_paid","secret_token":"123","data":{"id":"pay_1"}}',
    });
    assert.equal(moyasar.eventType(paid), 'payment_paid');
  });
});

describe('postmark', () => {
  const body =
    '{"RecordType":"Bounce","ID":42,"MessageID":"m-1","BouncedAt":"2024-01-01T00:00:00Z"}';
  const request = req({ headers: { authorization: basic('hook', 'p@ss:word') }, body });
  const config = { username: 'hook', password: 'p@ss:word' };

  commonCases({
    provider: postmark,
    config,
    wrongConfig: { username: 'hook', password: 'p@ss:word2' },
    request,
    signatureHeaders: ['authorization'],
    bodySigned: false,
  });
  it('rejects a wrong user name and other schemes', () => {
    assertFails(postmark.verify(request, { username: 'hook2', password: 'p@ss:word' }, NOW));
    const bearer = withHeaders(request, { authorization: 'Bearer p@ss:word' });
    assertFails(postmark.verify(bearer, config, NOW));
  });
  it('accepts a lower-case scheme', () => {
    const lower = withHeaders(request, {
      authorization: basic('hook', 'p@ss:word').replace('Basic', 'basic'),
    });
    assertOk(postmark.verify(lower, config, NOW));
  });
  it('accepts a token in a query parameter or a custom header', () => {
    const query = req({ url: 'https://hooks.example.com/in/t?token=tk1', body });
    assertOk(postmark.verify(query, { token: 'tk1' }, NOW));
    assertFails(postmark.verify(query, { token: 'tk2' }, NOW));
    assertFails(postmark.verify(req({ body }), { token: 'tk1' }, NOW));
    const header = req({ headers: { 'x-postmark-token': 'tk1' }, body });
    assertOk(postmark.verify(header, { token: 'tk1', tokenHeader: 'X-Postmark-Token' }, NOW));
    assertFails(postmark.verify(query, { token: 'tk1', tokenHeader: 'X-Postmark-Token' }, NOW));
  });
  it('requires every configured credential, and some credential', () => {
    const both = req({
      url: 'https://hooks.example.com/in/t?token=tk1',
      headers: { authorization: basic('hook', 'p@ss:word') },
      body,
    });
    assertOk(postmark.verify(both, { ...config, token: 'tk1' }, NOW));
    assertFails(postmark.verify(request, { ...config, token: 'tk1' }, NOW));
    assertFails(postmark.verify(request, {}, NOW), /no credentials/);
    assertFails(postmark.verify(request, { username: 'hook' }, NOW));
  });
  it('names the record type and builds ids', () => {
    assert.equal(postmark.eventType(request), 'Bounce');
    assert.equal(postmark.eventId(request), 'Bounce:42:2024-01-01T00:00:00Z');
    const open = req({
      body: '{"RecordType":"Open","MessageID":"m-2","ReceivedAt":"2024-01-02T00:00:00Z"}',
    });
    assert.equal(postmark.eventId(open), 'Open:m-2:2024-01-02T00:00:00Z');
    const inbound = req({ body: '{"From":"a@example.com","MessageID":"m-3","Subject":"hi"}' });
    assert.equal(postmark.eventType(inbound), 'Inbound');
    assert.equal(postmark.eventId(inbound), 'Inbound:m-3');
  });
});

describe('okta', () => {
  const body = JSON.stringify({
    eventType: 'com.okta.event_hook',
    eventId: 'b5a188b9-5ece-4636-b041-482ffda96311',
    data: { events: [{ uuid: 'u1', eventType: 'user.session.start' }] },
  });
  const request = req({ headers: { authorization: 'okta-shared-secret' }, body });
  commonCases({
    provider: okta,
    config: { secret: 'okta-shared-secret' },
    wrongConfig: { secret: 'okta-shared-secret!' },
    request,
    signatureHeaders: ['authorization'],
    bodySigned: false,
  });
  it('uses a custom header name when configured', () => {
    const r = req({ headers: { 'x-hook-auth': 'okta-shared-secret' }, body });
    assertOk(okta.verify(r, { secret: 'okta-shared-secret', header: 'X-Hook-Auth' }, NOW));
    assertFails(okta.verify(r, { secret: 'okta-shared-secret' }, NOW));
  });
  it('answers the GET verification challenge with JSON', () => {
    const get = req({
      method: 'GET',
      headers: { 'x-okta-verification-challenge': 'x3Jp8ZT9-ZSQvz7Y' },
    });
    assert.deepEqual(okta.handshake?.(get, { secret: 'okta-shared-secret' }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"verification":"x3Jp8ZT9-ZSQvz7Y"}',
    });
    assert.equal(okta.handshake?.(req({ method: 'GET' }), { secret: 'x' }), undefined);
    assert.equal(okta.handshake?.(request, { secret: 'x' }), undefined);
  });
  it('escapes the challenge as JSON', () => {
    const get = req({ method: 'GET', headers: { 'x-okta-verification-challenge': 'a"b\\c' } });
    const answer = okta.handshake?.(get, { secret: 'x' });
    assert.deepEqual(JSON.parse(answer?.body ?? ''), { verification: 'a"b\\c' });
  });
  it('reads eventId and the common event type', () => {
    assert.equal(okta.eventId(request), 'b5a188b9-5ece-4636-b041-482ffda96311');
    assert.equal(okta.eventType(request), 'user.session.start');
  });
});
