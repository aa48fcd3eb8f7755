import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import twilioSdk from 'twilio';
import { twilio } from '../../../src/inbound/providers/twilio.js';
import {
  assertFails,
  assertOk,
  commonCases,
  NOW,
  req,
  withBody,
  withHeaders,
} from './extra-helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function encode(params: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, item);
  }
  return search.toString();
}

describe('twilio', () => {
  // Published: twilio.com "Webhooks security" worked example.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+12349013030',
    Digits: '1234',
    From: '+12349013030',
    To: '+18005551212',
  };
  const published = req({
    url,
    headers: { ...FORM, 'x-twilio-signature': '0/KCTR6DLpKmkAf8muzZqo1nDgQ=' },
    body: encode(params),
  });

  describe('published vector (form POST)', () => {
    commonCases({
      provider: twilio,
      config: { secret: '12345' },
      wrongConfig: { secret: '123456' },
      request: published,
      signatureHeaders: ['x-twilio-signature'],
    });
    it('is what the twilio SDK computes and validates', () => {
      assert.equal(
        twilioSdk.getExpectedTwilioSignature('12345', url, params),
        '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
      );
      assert.equal(
        twilioSdk.validateRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, params),
        true,
      );
    });
    it('signs the URL (query included)', () => {
      assertFails(
        twilio.verify(
          { ...published, url: 'https://mycompany.com/myapp.php?foo=1&bar=3' },
          { secret: '12345' },
          NOW,
        ),
      );
      assertFails(
        twilio.verify(
          { ...published, url: 'https://mycompany.com/myapp.php' },
          { secret: '12345' },
          NOW,
        ),
      );
    });
    it('rejects an added parameter', () => {
      const r = withBody(published, `${encode(params)}&Extra=1`);
      assertFails(twilio.verify(r, { secret: '12345' }, NOW));
    });
    it('does not depend on the order of the form fields', () => {
      const reordered = new URLSearchParams(encode(params));
      const entries = [...reordered].reverse();
      const r = withBody(published, new URLSearchParams(entries).toString());
      assertOk(twilio.verify(r, { secret: '12345' }, NOW));
    });
  });

  it('accepts the URL with or without the default port, as the SDK does', () => {
    const token = 'tok_port';
    const signedWithPort = twilioSdk.getExpectedTwilioSignature(
      token,
      'https://example.com:443/in/t',
      params,
    );
    const r = req({
      url: 'https://example.com/in/t',
      headers: { ...FORM, 'x-twilio-signature': signedWithPort },
      body: encode(params),
    });
    assertOk(twilio.verify(r, { secret: token }, NOW));
    assert.equal(
      twilioSdk.validateRequest(token, signedWithPort, 'https://example.com/in/t', params),
      true,
    );

    const signedWithout = twilioSdk.getExpectedTwilioSignature(
      token,
      'https://example.com/in/t',
      params,
    );
    const r2 = req({
      url: 'https://example.com:443/in/t',
      headers: { ...FORM, 'x-twilio-signature': signedWithout },
      body: encode(params),
    });
    assertOk(twilio.verify(r2, { secret: token }, NOW));
  });

  it('agrees with the SDK on random requests, repeated parameters and non-ASCII values', () => {
    for (let i = 0; i < 20; i += 1) {
      const token = randomBytes(16).toString('hex');
      const u = `https://hooks.example.com/in/${randomBytes(6).toString('hex')}?x=${i}&name=J%C3%BCrgen`;
      const p: Record<string, string | string[]> = {
        MessageSid: `SM${randomBytes(16).toString('hex')}`,
        Body: `héllo wörld ${i} & = + ?`,
        MessageStatus: 'delivered',
        MediaUrl: ['https://b.example/2', 'https://a.example/1'],
      };
      const signature = twilioSdk.getExpectedTwilioSignature(token, u, p);
      assert.equal(twilioSdk.validateRequest(token, signature, u, p), true);
      const r = req({
        url: u,
        headers: { ...FORM, 'x-twilio-signature': signature },
        body: encode(p),
      });
      assertOk(twilio.verify(r, { secret: token }, NOW), `iteration ${i}`);
      assertFails(twilio.verify(r, { secret: `${token}0` }, NOW));
    }
  });

  describe('JSON body with bodySHA256', () => {
    const token = 'json-token';
    const body = '{"AccountSid":"AC1","ResourceSid":"XX1","EventType":"x"}';
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const u = `https://hooks.example.com/in/t?bodySHA256=${bodyHash}`;
    const signature = twilioSdk.getExpectedTwilioSignature(token, u, {});
    const request = req({
      url: u,
      headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
      body,
    });

    it('is what the SDK validates', () => {
      assert.equal(twilioSdk.validateRequestWithBody(token, signature, u, body), true);
    });
    commonCases({
      provider: twilio,
      config: { secret: token },
      wrongConfig: { secret: 'other' },
      request,
      signatureHeaders: ['x-twilio-signature'],
    });
    it('rejects a body that does not match bodySHA256 even with a valid URL signature', () => {
      const r = withBody(request, body.replace('XX1', 'XX2'));
      assertFails(twilio.verify(r, { secret: token }, NOW), /bodySHA256/);
    });
  });

  it('uses config.url when a proxy changes the URL the gateway sees', () => {
    const token = 'proxy';
    const publicUrl = 'https://public.example.com/in/t';
    const signature = twilioSdk.getExpectedTwilioSignature(token, publicUrl, params);
    const r = req({
      url: 'http://internal:8080/in/t',
      headers: { ...FORM, 'x-twilio-signature': signature },
      body: encode(params),
    });
    assertFails(twilio.verify(r, { secret: token }, NOW));
    assertOk(twilio.verify(r, { secret: token, url: publicUrl }, NOW));
  });

  it('keeps the request query (bodySHA256) when config.url is set', () => {
    const token = 'proxy-json';
    const body = '{"a":1}';
    const query = `?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const signature = twilioSdk.getExpectedTwilioSignature(
      token,
      `https://public.example.com/in/t${query}`,
      {},
    );
    const r = req({
      url: `http://internal:8080/in/t${query}`,
      headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
      body,
    });
    assertOk(twilio.verify(r, { secret: token, url: 'https://public.example.com/in/t' }, NOW));
    assertOk(
      twilio.verify(r, { secret: token, url: 'https://public.example.com/in/t?ignored=1' }, NOW),
    );
    assertFails(
      twilio.verify(
        { ...r, body: Buffer.from('{"a":2}') },
        { secret: token, url: 'https://public.example.com/in/t' },
        NOW,
      ),
    );
  });

  it('verifies GET callbacks over the URL alone', () => {
    const token = 'get';
    const u = 'https://hooks.example.com/in/t?CallSid=CA1&CallStatus=ringing';
    const signature = twilioSdk.getExpectedTwilioSignature(token, u, {});
    const r = req({ method: 'GET', url: u, headers: { 'x-twilio-signature': signature } });
    assertOk(twilio.verify(r, { secret: token }, NOW));
    assert.equal(twilio.eventId(r), 'CA1:ringing');
    assert.equal(twilio.eventType(r), 'ringing');
  });

  it('takes the id from the idempotency token or the sid and status', () => {
    assert.equal(twilio.eventId(published), 'CA1234567890ABCDE');
    const status = req({
      headers: FORM,
      body: 'MessageSid=SM1&MessageStatus=delivered&SmsStatus=delivered',
    });
    assert.equal(twilio.eventId(status), 'SM1:delivered');
    assert.equal(twilio.eventType(status), 'delivered');
    const withToken = withHeaders(status, { 'i-twilio-idempotency-token': 'idem-1' });
    assert.equal(twilio.eventId(withToken), 'idem-1');
  });
});
