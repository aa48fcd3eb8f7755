import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calendly } from '../../../src/inbound/providers/calendly.js';
import { linear } from '../../../src/inbound/providers/linear.js';
import { mailgun } from '../../../src/inbound/providers/mailgun.js';
import { paddle } from '../../../src/inbound/providers/paddle.js';
import { twitch } from '../../../src/inbound/providers/twitch.js';
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
  withBody,
  withHeaders,
} from './extra-helpers.js';

const WRONG = { secret: 'whsec_other_secret' };

describe('paddle', () => {
  // providers.md §2c (local): ts=1700000000;h1=b010…b987
  const H1 = 'b0109607ef67973bb9307f8d53f499afff810fa14701493880a37e74b9c6b987';
  const request = req({ headers: { 'paddle-signature': `ts=${T};h1=${H1}` }, body: B });
  commonCases({
    provider: paddle,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['paddle-signature'],
  });
  it('defaults to a 5 s tolerance', () => {
    assert.equal(paddle.defaultToleranceSeconds, 5);
    assertOk(paddle.verify(request, { secret: S }, NOW + 5_000, 5));
    assertFails(paddle.verify(request, { secret: S }, NOW + 6_000, 5), /tolerance/);
    assertFails(paddle.verify(request, { secret: S }, NOW + 6_000, undefined), /tolerance/);
    assertFails(paddle.verify(request, { secret: S }, NOW - 6_000, 5), /tolerance/);
  });
  it('lets the source widen the tolerance', () => {
    assertOk(paddle.verify(request, { secret: S, toleranceSeconds: 60 }, NOW + 30_000, 5));
    assertOk(paddle.verify(request, { secret: S }, NOW + 30_000, 60));
  });
  it('accepts any of several h1 signatures (secret rotation)', () => {
    const r = withHeaders(request, { 'paddle-signature': `ts=${T};h1=${'0'.repeat(64)};h1=${H1}` });
    assertOk(paddle.verify(r, { secret: S }, NOW));
  });
  it('rejects a changed timestamp, a missing h1 and two ts', () => {
    for (const header of [
      `ts=${T + 1};h1=${H1}`,
      `ts=${T}`,
      `ts=${T};ts=${T};h1=${H1}`,
      `h1=${H1}`,
      'garbage',
    ]) {
      assertFails(
        paddle.verify(withHeaders(request, { 'paddle-signature': header }), { secret: S }, NOW),
      );
    }
  });
  it('reads event_id and event_type', () => {
    const r = req({
      body: '{"event_id":"evt_01h","event_type":"transaction.completed","notification_id":"ntf_1"}',
    });
    assert.equal(paddle.eventId(r), 'evt_01h');
    assert.equal(paddle.eventType(r), 'transaction.completed');
  });
});

describe('calendly', () => {
  const V1 = 'b56d8d3c94e44b9589adbfff3bbbf3f06503bb5521f34fe7fbb949637cdff25f';
  const request = req({ headers: { 'calendly-webhook-signature': `t=${T},v1=${V1}` }, body: B });
  commonCases({
    provider: calendly,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['calendly-webhook-signature'],
  });
  it('rejects a stale timestamp (default 3 min)', () => {
    assert.equal(calendly.defaultToleranceSeconds, 180);
    assertOk(calendly.verify(request, { secret: S }, NOW + 180_000, 180));
    assertFails(calendly.verify(request, { secret: S }, NOW + 181_000, 180), /tolerance/);
  });
  it('rejects a ; separated header', () => {
    const r = withHeaders(request, { 'calendly-webhook-signature': `t=${T};v1=${V1}` });
    assertFails(calendly.verify(r, { secret: S }, NOW));
  });
  it('names the event and builds the id from event + resource uri', () => {
    const r = req({
      body: JSON.stringify({
        event: 'invitee.canceled',
        created_at: '2024-01-01T00:00:00Z',
        payload: { uri: 'https://api.calendly.com/scheduled_events/E/invitees/I' },
      }),
    });
    assert.equal(calendly.eventType(r), 'invitee.canceled');
    assert.equal(
      calendly.eventId(r),
      'invitee.canceled:https://api.calendly.com/scheduled_events/E/invitees/I',
    );
  });
});

describe('linear', () => {
  const body = JSON.stringify({
    action: 'create',
    type: 'Issue',
    data: { id: 'i-1' },
    webhookTimestamp: NOW,
  });
  const request = req({
    headers: {
      'linear-signature': hmacOf('sha256', S, body, 'hex'),
      'linear-delivery': '234d1a4e-b617-4388-90fe-adc3633d6b72',
      'linear-event': 'Issue',
    },
    body,
  });
  commonCases({
    provider: linear,
    config: { secret: S },
    wrongConfig: WRONG,
    request,
    signatureHeaders: ['linear-signature'],
  });
  it('matches the local §2c hex vector on the plain body (then needs a timestamp)', () => {
    const r = req({
      headers: {
        'linear-signature': '8ad667a25d21bd731fd8c6faf882450f56d6f70c17b93bfea988684adc8f45af',
      },
      body: B,
    });
    assertFails(linear.verify(r, { secret: S }, NOW), /timestamp/);
  });
  it('checks webhookTimestamp (ms, inside the signed body) within 60 s', () => {
    assert.equal(linear.defaultToleranceSeconds, 60);
    assertOk(linear.verify(request, { secret: S }, NOW + 60_000, 60));
    assertFails(linear.verify(request, { secret: S }, NOW + 61_000, 60), /tolerance/);
    assertFails(linear.verify(request, { secret: S }, NOW - 61_000, 60), /tolerance/);
  });
  it('reads Linear-Delivery and type.action', () => {
    assert.equal(linear.eventId(request), '234d1a4e-b617-4388-90fe-adc3633d6b72');
    assert.equal(linear.eventType(request), 'Issue.create');
  });
});

describe('twitch', () => {
  const ID = 'e76c6bd4-55c9-4987-8304-da1588d8988b';
  const TS = '2019-11-16T10:11:12.634234626Z';
  const TS_MS = Date.parse(TS);
  const SECRET = S; // 17 ASCII characters
  const headers = {
    'twitch-eventsub-message-id': ID,
    'twitch-eventsub-message-timestamp': TS,
    // providers.md §2c local vector
    'twitch-eventsub-message-signature':
      'sha256=29fc30c308a923d57ea183df6464d81c9e7c4def823af04514d38dec11b50343',
    'twitch-eventsub-message-type': 'notification',
    'twitch-eventsub-subscription-type': 'channel.follow',
  };
  const request = req({ headers, body: B });
  commonCases({
    provider: twitch,
    config: { secret: SECRET },
    wrongConfig: WRONG,
    request,
    now: TS_MS,
    signatureHeaders: [
      'twitch-eventsub-message-signature',
      'twitch-eventsub-message-id',
      'twitch-eventsub-message-timestamp',
    ],
  });
  it('signs the message id and the timestamp', () => {
    const otherId = withHeaders(request, { 'twitch-eventsub-message-id': `${ID}x` });
    assertFails(twitch.verify(otherId, { secret: SECRET }, TS_MS));
    const otherTs = withHeaders(request, {
      'twitch-eventsub-message-timestamp': '2019-11-16T10:11:12.634234627Z',
    });
    assertFails(twitch.verify(otherTs, { secret: SECRET }, TS_MS));
  });
  it('rejects messages more than 10 minutes off', () => {
    assert.equal(twitch.defaultToleranceSeconds, 600);
    assertOk(twitch.verify(request, { secret: SECRET }, TS_MS + 600_000, 600));
    assertFails(twitch.verify(request, { secret: SECRET }, TS_MS + 601_000, 600), /tolerance/);
    assertFails(
      twitch.verify(request, { secret: SECRET }, TS_MS + 601_000, undefined),
      /tolerance/,
    );
  });
  it('rejects a timestamp that is not RFC 3339', () => {
    const ts = String(Math.floor(TS_MS / 1000));
    const body = B;
    const sig = `sha256=${hmacOf('sha256', SECRET, ID + ts + body, 'hex')}`;
    const r = withHeaders(request, {
      'twitch-eventsub-message-timestamp': ts,
      'twitch-eventsub-message-signature': sig,
    });
    assertFails(twitch.verify(r, { secret: SECRET }, TS_MS), /timestamp/);
  });
  it('answers webhook_callback_verification with the raw challenge as text/plain', () => {
    const body = JSON.stringify({
      challenge: 'pogchamp-kappa-360noscope-vohiyo',
      subscription: {
        id: 'f1c2a387',
        type: 'channel.follow',
        version: '1',
        status: 'webhook_callback_verification_pending',
      },
    });
    const ts = '2024-01-01T00:00:00.123456789Z';
    const r = req({
      headers: {
        ...headers,
        'twitch-eventsub-message-type': 'webhook_callback_verification',
        'twitch-eventsub-message-timestamp': ts,
        'twitch-eventsub-message-signature': `sha256=${hmacOf('sha256', SECRET, ID + ts + body, 'hex')}`,
      },
      body,
    });
    assertOk(twitch.verify(r, { secret: SECRET }, Date.parse(ts)));
    assert.deepEqual(twitch.handshake?.(r, { secret: SECRET }), {
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: 'pogchamp-kappa-360noscope-vohiyo',
    });
    assert.equal(twitch.handshake?.(request, { secret: SECRET }), undefined);
  });
  it('reads the message id and subscription type; revocations are named apart', () => {
    assert.equal(twitch.eventId(request), ID);
    assert.equal(twitch.eventType(request), 'channel.follow');
    const revoked = withHeaders(request, { 'twitch-eventsub-message-type': 'revocation' });
    assert.equal(twitch.eventType(revoked), 'revocation');
    const noHeader = req({ body: '{"subscription":{"type":"stream.online"},"event":{}}' });
    assert.equal(twitch.eventType(noHeader), 'stream.online');
  });
});

describe('mailgun', () => {
  const SIG = '79a986444f333afee1fdd5ae063d57b5aeaa52d372e21752fe83abefa01f86b6'; // §2c local
  const json = JSON.stringify({
    signature: { timestamp: String(T), token: 'abc123', signature: SIG },
    'event-data': { event: 'delivered', id: 'CPgfbmQMTCKtHW6uIWtuVe', timestamp: T },
  });
  const request = req({ headers: { 'content-type': 'application/json' }, body: json });

  it('accepts the JSON webhook', () => {
    assertOk(mailgun.verify(request, { secret: S }, NOW));
  });
  it('rejects a wrong signing key', () => {
    assertFails(mailgun.verify(request, WRONG, NOW));
  });
  it('rejects a changed token, timestamp or signature', () => {
    for (const [from, to] of [
      ['"abc123"', '"abc124"'],
      [`"timestamp":"${T}"`, `"timestamp":"${T + 1}"`],
      [SIG, `${SIG.slice(0, -1)}7`],
    ] as const) {
      assertFails(mailgun.verify(withBody(request, json.replace(from, to)), { secret: S }, NOW));
    }
  });
  it('rejects a body without signature fields, and unparsable bodies', () => {
    for (const body of ['{}', '{"signature":{}}', 'not json', '', '[1,2]']) {
      assertFails(mailgun.verify(withBody(request, body), { secret: S }, NOW));
    }
  });
  it('bounds the timestamp only when a tolerance is set', () => {
    assert.equal(mailgun.defaultToleranceSeconds, undefined);
    assertOk(mailgun.verify(request, { secret: S }, NOW + 86_400_000, undefined));
    assertFails(
      mailgun.verify(request, { secret: S, toleranceSeconds: 300 }, NOW + 301_000),
      /tolerance/,
    );
    assertFails(mailgun.verify(request, { secret: S }, NOW + 301_000, 300), /tolerance/);
  });
  it('accepts a parent-signature from the primary account key', () => {
    const parentKey = 'parent-key';
    const body = JSON.stringify({
      signature: {
        timestamp: String(T),
        token: 'abc123',
        signature: SIG,
        'parent-signature': hmacOf('sha256', parentKey, `${T}abc123`, 'hex'),
      },
      'event-data': { event: 'opened', id: 'x' },
    });
    assertOk(mailgun.verify(withBody(request, body), { secret: parentKey }, NOW));
    assertOk(mailgun.verify(withBody(request, body), { secret: S }, NOW));
  });
  it('accepts legacy url-encoded and multipart form webhooks', () => {
    const form = `event=delivered&timestamp=${T}&token=abc123&signature=${SIG}&Message-Id=%3Cm%40x%3E`;
    const r = req({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    assertOk(mailgun.verify(r, { secret: S }, NOW));
    assertFails(mailgun.verify(r, WRONG, NOW));
    assert.equal(mailgun.eventType(r), 'delivered');
    assert.equal(mailgun.eventId(r), 'abc123');

    const boundary = '----mg7';
    const parts = [
      ['timestamp', String(T)],
      ['token', 'abc123'],
      ['signature', SIG],
      ['subject', 'Grüße'],
    ];
    let multipart = '';
    for (const [name, value] of parts) {
      multipart += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    }
    multipart += `--${boundary}\r\nContent-Disposition: form-data; name="attachment-1"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nsignature=bogus\r\n`;
    multipart += `--${boundary}--\r\n`;
    const m = req({
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: multipart,
    });
    assertOk(mailgun.verify(m, { secret: S }, NOW));
    assertFails(mailgun.verify(m, WRONG, NOW));
  });
  it('reads event-data.id and event-data.event', () => {
    assert.equal(mailgun.eventId(request), 'CPgfbmQMTCKtHW6uIWtuVe');
    assert.equal(mailgun.eventType(request), 'delivered');
  });
  it('ignores a doubled content-type instead of throwing', () => {
    const r = withHeaders(request, { 'content-type': ['application/json', 'text/plain'] });
    assert.doesNotThrow(() => mailgun.verify(r, { secret: S }, NOW));
  });
});
