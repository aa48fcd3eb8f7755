import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { discord } from '../../../src/inbound/providers/discord.js';
import { sendgrid } from '../../../src/inbound/providers/sendgrid.js';
import { assertFails, assertOk, commonCases, NOW, req, T, withHeaders } from './extra-helpers.js';

describe('sendgrid', () => {
  // Published: sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
  const PUBLIC_KEY =
    'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==';
  const SIGNATURE =
    'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
  const TIMESTAMP = '1588788367';
  const PAYLOAD = JSON.stringify({
    category: 'example_payload',
    event: 'test_event',
    message_id: 'message_id',
  });
  const SIG = 'x-twilio-email-event-webhook-signature';
  const TS = 'x-twilio-email-event-webhook-timestamp';
  const request = req({ headers: { [SIG]: SIGNATURE, [TS]: TIMESTAMP }, body: PAYLOAD });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const otherKey = other.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

  commonCases({
    provider: sendgrid,
    config: { publicKey: PUBLIC_KEY },
    wrongConfig: { publicKey: otherKey },
    request,
    now: Number(TIMESTAMP) * 1000,
    signatureHeaders: [SIG, TS],
  });
  it('rejects the spec negatives: other payload, other timestamp, other signature', () => {
    const now = Number(TIMESTAMP) * 1000;
    const config = { publicKey: PUBLIC_KEY };
    assertFails(sendgrid.verify({ ...request, body: Buffer.from('payload') }, config, now));
    assertFails(sendgrid.verify(withHeaders(request, { [TS]: 'timestamp' }), config, now));
    assertFails(sendgrid.verify(withHeaders(request, { [TS]: '1588788368' }), config, now));
    const badSig = SIGNATURE.replace(/NH2j\/0=$/, 'NH3j/0=');
    assert.notEqual(badSig, SIGNATURE);
    assertFails(sendgrid.verify(withHeaders(request, { [SIG]: badSig }), config, now));
  });
  it('accepts the key as PEM too, and reports an unreadable key as a failure', () => {
    const now = Number(TIMESTAMP) * 1000;
    const pem = createPublicKey({
      key: Buffer.from(PUBLIC_KEY, 'base64'),
      format: 'der',
      type: 'spki',
    })
      .export({ format: 'pem', type: 'spki' })
      .toString();
    assertOk(sendgrid.verify(request, { publicKey: pem }, now));
    assertFails(sendgrid.verify(request, { publicKey: 'not a key' }, now), /public key/);
    const ed = generateKeyPairSync('ed25519')
      .publicKey.export({ format: 'der', type: 'spki' })
      .toString('base64');
    assertFails(sendgrid.verify(request, { publicKey: ed }, now));
  });
  it('bounds the timestamp only when a tolerance is set', () => {
    const now = Number(TIMESTAMP) * 1000;
    assertOk(sendgrid.verify(request, { publicKey: PUBLIC_KEY }, now + 86_400_000, undefined));
    assertFails(
      sendgrid.verify(request, { publicKey: PUBLIC_KEY, toleranceSeconds: 600 }, now + 601_000),
      /tolerance/,
    );
  });
  it('agrees with @sendgrid/eventwebhook on freshly signed batches', () => {
    const library = new EventWebhook();
    for (let i = 0; i < 10; i += 1) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicKeyB64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
      const body = JSON.stringify([
        { email: 'a@example.com', event: 'delivered', sg_event_id: `ev-${i}`, timestamp: T },
      ]);
      const ts = String(T + i);
      const signature = sign('sha256', Buffer.from(ts + body), privateKey).toString('base64');
      const key = library.convertPublicKeyToECDSA(publicKeyB64);
      assert.equal(library.verifySignature(key, body, signature, ts), true);
      const r = req({ headers: { [SIG]: signature, [TS]: ts }, body });
      assertOk(sendgrid.verify(r, { publicKey: publicKeyB64 }, NOW));
      assert.equal(library.verifySignature(key, `${body} `, signature, ts), false);
      assertFails(
        sendgrid.verify({ ...r, body: Buffer.from(`${body} `) }, { publicKey: publicKeyB64 }, NOW),
      );
    }
  });
  it('takes sg_event_id and event from a single-event batch; mixed batches have no common type', () => {
    const one = req({ body: '[{"event":"open","sg_event_id":"sg1"}]' });
    assert.equal(sendgrid.eventId(one), 'sg1');
    assert.equal(sendgrid.eventType(one), 'open');
    const same = req({
      body: '[{"event":"open","sg_event_id":"a"},{"event":"open","sg_event_id":"b"}]',
    });
    assert.equal(sendgrid.eventId(same), undefined);
    assert.equal(sendgrid.eventType(same), 'open');
    const mixed = req({ body: '[{"event":"open"},{"event":"click"}]' });
    assert.equal(sendgrid.eventType(mixed), undefined);
  });
});

describe('discord', () => {
  // providers.md §2c (local): seed 32×0x07, ts 1700000000, body {"type":1}
  const PUBLIC_KEY = 'ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c';
  const SIGNATURE =
    'f7caed702889e902c2cde4a4fb00f601284aa47ff4caf84588d7c8c3d8fe7183fd73e13e30d0c07d1515b6684f7b3cfaa231c421768d9667b104f760cf0da302';
  const ping = req({
    headers: {
      'x-signature-ed25519': SIGNATURE,
      'x-signature-timestamp': String(T),
      'content-type': 'application/json',
    },
    body: '{"type":1}',
  });
  const privateKey = createPrivateKey({
    key: Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      Buffer.alloc(32, 7),
    ]),
    format: 'der',
    type: 'pkcs8',
  });
  const signed = (body: string, ts = String(T)) =>
    req({
      headers: {
        'x-signature-ed25519': sign(null, Buffer.from(ts + body), privateKey).toString('hex'),
        'x-signature-timestamp': ts,
      },
      body,
    });
  const config = { publicKey: PUBLIC_KEY };

  commonCases({
    provider: discord,
    config,
    wrongConfig: { publicKey: 'ff'.repeat(32) },
    request: ping,
    signatureHeaders: ['x-signature-ed25519', 'x-signature-timestamp'],
  });
  it('answers an interaction PING with {"type":1}', () => {
    assert.deepEqual(discord.handshake?.(ping, config), {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"type":1}',
    });
  });
  it('signs the timestamp and rejects malformed signatures', () => {
    assertFails(
      discord.verify(withHeaders(ping, { 'x-signature-timestamp': String(T + 1) }), config, NOW),
    );
    for (const bad of [
      'zz',
      SIGNATURE.slice(0, 126),
      `${SIGNATURE}00`,
      SIGNATURE.replace(/^f7/, '07'),
    ]) {
      assertFails(discord.verify(withHeaders(ping, { 'x-signature-ed25519': bad }), config, NOW));
    }
  });
  it('bounds the timestamp only when a tolerance is set', () => {
    assertOk(discord.verify(ping, config, NOW + 3_600_000, undefined));
    assertFails(
      discord.verify(ping, { ...config, toleranceSeconds: 300 }, NOW + 301_000),
      /tolerance/,
    );
  });
  it('answers a Webhook Events PING (type 0) with 204, and acknowledges events with 204', () => {
    const webhookPing = signed('{"version":1,"application_id":"1","type":0}');
    assertOk(discord.verify(webhookPing, config, NOW));
    assert.deepEqual(discord.handshake?.(webhookPing, config), { status: 204 });
    const event = signed(
      '{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{}}}',
    );
    assertOk(discord.verify(event, config, NOW));
    assert.equal(discord.handshake?.(event, config), undefined);
    assert.equal(discord.eventType(event), 'APPLICATION_AUTHORIZED');
    assert.deepEqual(discord.acknowledge?.(event, config), { status: 204 });
  });
  it('defers commands and components so the application can follow up', () => {
    const command = signed(
      '{"id":"i-1","type":2,"token":"t","application_id":"1","data":{"name":"hi"}}',
    );
    assertOk(discord.verify(command, config, NOW));
    assert.equal(discord.handshake?.(command, config), undefined);
    assert.equal(discord.eventId(command), 'i-1');
    assert.equal(discord.eventType(command), 'APPLICATION_COMMAND');
    assert.deepEqual(discord.acknowledge?.(command, config), {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"type":5}',
    });
    const component = signed('{"id":"i-2","type":3,"token":"t"}');
    assert.equal(discord.acknowledge?.(component, config).body, '{"type":6}');
  });
});
