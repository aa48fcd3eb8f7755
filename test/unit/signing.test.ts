import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import {
  buildSignatureHeader,
  buildSignatureHeaders,
  generateSecret,
  generateSigningKey,
  InvalidSecretError,
  parsePublicKey,
  parseSecret,
  parseSigningKey,
  publicKeyFromSigningKey,
  signedContent,
  signGithubStyle,
  signStripeStyle,
  signV1,
  signV1a,
  verifyGithubStyle,
  verifyStripeStyle,
  verifyWebhook,
  WebhookVerificationError,
} from '../../src/outbound/signing.js';

// Standard Webhooks official vector (libraries/*/webhook tests; Svix worker.rs).
const KEY = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const PAYLOAD = '{"test": 2432232314}';
const EXPECTED_V1 = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const WRONG_V1 = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=';

// Svix worker.rs test_asymmetric_key_signing; public key from the Svix README.
const SIGNING_KEY =
  'whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==';
const EXPECTED_V1A =
  'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==';
const PUBLIC_KEY = 'whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=';

const AT_TS = { now: new Date(TS * 1000) };

function headersFor(signature: string, id = MSG_ID, ts = TS): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
}

function expectVerificationError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WebhookVerificationError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function randomPayload(): string {
  return JSON.stringify({ type: 'test.event', data: { blob: randomBytes(48).toString('base64') } });
}

describe('signing: official vectors', () => {
  it('signs the Standard Webhooks v1 vector', () => {
    assert.equal(signV1(KEY, MSG_ID, TS, PAYLOAD), EXPECTED_V1);
    assert.equal(signV1(KEY, MSG_ID, TS, Buffer.from(PAYLOAD)), EXPECTED_V1);
    assert.equal(
      signV1(parseSecret(KEY), MSG_ID, TS, new TextEncoder().encode(PAYLOAD)),
      EXPECTED_V1,
    );
    assert.equal(parseSecret(KEY).length, 24);
  });

  it('verifies the v1 vector and rejects the negative one', () => {
    assert.equal(verifyWebhook(KEY, headersFor(EXPECTED_V1), PAYLOAD, AT_TS), PAYLOAD);
    expectVerificationError(
      () => verifyWebhook(KEY, headersFor(WRONG_V1), PAYLOAD, AT_TS),
      /No matching signature/,
    );
  });

  it('signs the Svix v1a (ed25519) vector and derives its public key', () => {
    assert.equal(signV1a(SIGNING_KEY, MSG_ID, TS, PAYLOAD), EXPECTED_V1A);
    assert.equal(publicKeyFromSigningKey(SIGNING_KEY), PUBLIC_KEY);
  });

  it('verifies the v1a vector against the whpk_ public key', () => {
    assert.equal(verifyWebhook(PUBLIC_KEY, headersFor(EXPECTED_V1A), PAYLOAD, AT_TS), PAYLOAD);
    assert.equal(verifyWebhook(SIGNING_KEY, headersFor(EXPECTED_V1A), PAYLOAD, AT_TS), PAYLOAD);
    // A v1a signature never matches an HMAC secret, and a tampered body fails.
    expectVerificationError(
      () => verifyWebhook(KEY, headersFor(EXPECTED_V1A), PAYLOAD, AT_TS),
      /No matching signature/,
    );
    expectVerificationError(
      () => verifyWebhook(PUBLIC_KEY, headersFor(EXPECTED_V1A), `${PAYLOAD} `, AT_TS),
      /No matching signature/,
    );
    const flipped = `${EXPECTED_V1A.slice(0, -3)}Aw==`;
    expectVerificationError(
      () => verifyWebhook(PUBLIC_KEY, headersFor(flipped), PAYLOAD, AT_TS),
      /No matching signature/,
    );
  });

  it('signs the GitHub docs vector', () => {
    const secret = "It's a Secret to Everybody";
    const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    assert.equal(signGithubStyle(secret, 'Hello, World!'), expected);
    assert.equal(signGithubStyle(Buffer.from(secret), Buffer.from('Hello, World!')), expected);
    assert.equal(verifyGithubStyle(expected, 'Hello, World!', secret), 'Hello, World!');
    expectVerificationError(
      () => verifyGithubStyle(expected, 'Hello, World?', secret),
      /No matching signature/,
    );
    expectVerificationError(
      () => verifyGithubStyle(expected.slice('sha256='.length), 'Hello, World!', secret),
      /sha256=/,
    );
  });
});

describe('signing: Stripe style', () => {
  const body = '{"id":"evt_test_1","type":"test.event"}';

  /** Stripe's SDK algorithm, re-implemented here: HMAC-SHA256(utf8 secret, "{t}.{body}"). */
  function stripeSdkVerify(header: string, payload: string, secret: string): boolean {
    const items = header.split(',').map((item) => item.split('='));
    const t = items.find(([k]) => k === 't')?.[1];
    const v1 = items.filter(([k]) => k === 'v1').map(([, v]) => v ?? '');
    if (t === undefined) return false;
    const expected = createHmac('sha256', secret).update(`${t}.${payload}`, 'utf8').digest();
    return v1.some((sig) => {
      const got = Buffer.from(sig, 'hex');
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
  }

  it('matches the locally computed providers.md vector (secret as UTF-8)', () => {
    // providers.md §2c (computed by verify_vectors.mjs; Stripe publishes no vector).
    assert.equal(
      signStripeStyle('whsec_test_secret', 1700000000, body),
      't=1700000000,v1=b56d8d3c94e44b9589adbfff3bbbf3f06503bb5521f34fe7fbb949637cdff25f',
    );
  });

  it('produces headers the Stripe algorithm accepts, and verifies them itself', () => {
    const secret = generateSecret();
    const ts = 1_700_000_123;
    const header = signStripeStyle(secret, ts, body);
    assert.match(header, /^t=1700000123,v1=[0-9a-f]{64}$/);
    assert.ok(stripeSdkVerify(header, body, secret));
    assert.ok(!stripeSdkVerify(header, `${body} `, secret));
    const now = new Date(ts * 1000);
    assert.equal(verifyStripeStyle(header, body, secret, { now }), body);
    assert.equal(verifyStripeStyle(header, body, Buffer.from(secret), { now }), body);
  });

  it('uses the decoded whsec_ key bytes only when asked to', () => {
    const secret = generateSecret();
    const ts = 1_700_000_000;
    const decoded = signStripeStyle(secret, ts, body, { secretEncoding: 'whsec' });
    assert.equal(decoded, signStripeStyle(parseSecret(secret), ts, body));
    assert.notEqual(decoded, signStripeStyle(secret, ts, body));
    const now = new Date(ts * 1000);
    assert.equal(verifyStripeStyle(decoded, body, secret, { now, secretEncoding: 'whsec' }), body);
    expectVerificationError(() => verifyStripeStyle(decoded, body, secret, { now }), /No match/);
  });

  it('accepts any of several v1 entries and skips v0', () => {
    const ts = 1_700_000_000;
    const now = new Date(ts * 1000);
    const current = signStripeStyle('whsec_new', ts, body);
    const old = signStripeStyle('whsec_old', ts, body).split(',')[1];
    const header = `${current.split(',')[0]},v0=${'0'.repeat(64)},${old},${current.split(',')[1]}`;
    assert.equal(verifyStripeStyle(header, body, 'whsec_new', { now }), body);
    assert.equal(verifyStripeStyle(header, body, 'whsec_old', { now }), body);
    expectVerificationError(
      () => verifyStripeStyle(header, body, 'whsec_other', { now }),
      /No matching signature/,
    );
  });

  it('enforces the tolerance and the header shape', () => {
    const ts = 1_700_000_000;
    const header = signStripeStyle('whsec_x', ts, body);
    const at = (s: number) => ({ now: new Date(s * 1000), toleranceSeconds: 300 });
    assert.equal(verifyStripeStyle(header, body, 'whsec_x', at(ts + 300)), body);
    assert.equal(verifyStripeStyle(header, body, 'whsec_x', at(ts - 300)), body);
    expectVerificationError(() => verifyStripeStyle(header, body, 'whsec_x', at(ts + 301)), /old/);
    expectVerificationError(() => verifyStripeStyle(header, body, 'whsec_x', at(ts - 301)), /new/);
    const now = new Date(ts * 1000);
    expectVerificationError(() => verifyStripeStyle('v1=abc', body, 'whsec_x', { now }), /Missing/);
    expectVerificationError(
      () => verifyStripeStyle(`t=${ts}`, body, 'whsec_x', { now }),
      /Missing/,
    );
    expectVerificationError(
      () => verifyStripeStyle(header.replace(`t=${ts}`, 't=17e8'), body, 'whsec_x', { now }),
      /Invalid timestamp/,
    );
  });
});

describe('signing: Standard Webhooks verification', () => {
  it('passes a multi-signature header if any entry is valid', () => {
    const bogus = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const v2 = 'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const header = [bogus, v2, EXPECTED_V1, bogus].join(' ');
    assert.equal(verifyWebhook(KEY, headersFor(header), PAYLOAD, AT_TS), PAYLOAD);
    expectVerificationError(
      () => verifyWebhook(KEY, headersFor([bogus, v2].join(' ')), PAYLOAD, AT_TS),
      /No matching signature/,
    );
  });

  it('rejects invalid, partial and empty signatures', () => {
    for (const signature of [
      'v1,dawfeoifkpqwoekfpqoekf',
      EXPECTED_V1.slice(0, 8),
      'v1,',
      'v1',
      EXPECTED_V1.replace('v1,', 'v2,'),
      `${EXPECTED_V1}x`,
    ]) {
      expectVerificationError(
        () => verifyWebhook(KEY, headersFor(signature), PAYLOAD, AT_TS),
        /No matching signature/,
      );
    }
  });

  it('checks the timestamp tolerance in both directions', () => {
    const at = (s: number) => ({ now: new Date(s * 1000) });
    const headers = headersFor(EXPECTED_V1);
    assert.equal(verifyWebhook(KEY, headers, PAYLOAD, at(TS + 300)), PAYLOAD);
    assert.equal(verifyWebhook(KEY, headers, PAYLOAD, at(TS - 300)), PAYLOAD);
    expectVerificationError(() => verifyWebhook(KEY, headers, PAYLOAD, at(TS + 301)), /too old/);
    expectVerificationError(() => verifyWebhook(KEY, headers, PAYLOAD, at(TS - 301)), /too new/);
    const wide = { now: new Date((TS + 3600) * 1000), toleranceSeconds: 3600 };
    assert.equal(verifyWebhook(KEY, headers, PAYLOAD, wide), PAYLOAD);
    const narrow = { now: new Date((TS + 11) * 1000), toleranceSeconds: 10 };
    expectVerificationError(() => verifyWebhook(KEY, headers, PAYLOAD, narrow), /too old/);
  });

  it('rejects missing headers and malformed timestamps', () => {
    const full = headersFor(EXPECTED_V1);
    for (const name of Object.keys(full)) {
      const headers = { ...full };
      delete headers[name];
      expectVerificationError(() => verifyWebhook(KEY, headers, PAYLOAD, AT_TS), /Missing/);
    }
    for (const ts of ['abc', '1614265330.0', '-1614265330', '1e9', ' 1614265330']) {
      const headers = { ...full, 'webhook-timestamp': ts };
      expectVerificationError(() => verifyWebhook(KEY, headers, PAYLOAD, AT_TS), /Invalid timest/);
    }
  });

  it('reads svix-* headers, any letter case, and Headers objects', () => {
    const svix = {
      'Svix-Id': MSG_ID,
      'SVIX-TIMESTAMP': String(TS),
      'svix-signature': EXPECTED_V1,
    };
    assert.equal(verifyWebhook(KEY, svix, PAYLOAD, AT_TS), PAYLOAD);
    const upper = {
      'Webhook-Id': MSG_ID,
      'Webhook-Timestamp': String(TS),
      'Webhook-Signature': EXPECTED_V1,
    };
    assert.equal(verifyWebhook(KEY, upper, PAYLOAD, AT_TS), PAYLOAD);
    assert.equal(verifyWebhook(KEY, new Headers(upper), PAYLOAD, AT_TS), PAYLOAD);
    const nodeStyle = { ...headersFor(EXPECTED_V1), 'set-cookie': ['a=1', 'b=2'] };
    assert.equal(verifyWebhook(KEY, nodeStyle, PAYLOAD, AT_TS), PAYLOAD);
  });

  it('accepts several keys, unprefixed and raw secrets, and returns the body as given', () => {
    const other = generateSecret();
    const bytes = Buffer.from(PAYLOAD);
    assert.equal(verifyWebhook([other, KEY], headersFor(EXPECTED_V1), bytes, AT_TS), bytes);
    const unprefixed = KEY.slice('whsec_'.length);
    assert.equal(verifyWebhook(unprefixed, headersFor(EXPECTED_V1), PAYLOAD, AT_TS), PAYLOAD);
    assert.equal(verifyWebhook(parseSecret(KEY), headersFor(EXPECTED_V1), PAYLOAD, AT_TS), PAYLOAD);
    expectVerificationError(
      () => verifyWebhook([other], headersFor(EXPECTED_V1), PAYLOAD, AT_TS),
      /No matching signature/,
    );
  });

  it('throws InvalidSecretError for empty or malformed keys', () => {
    for (const key of ['whsec_', '', 'whsec_not base64!', Buffer.alloc(0), 'whpk_AAAA']) {
      assert.throws(
        () => verifyWebhook(key, headersFor(EXPECTED_V1), PAYLOAD, AT_TS),
        InvalidSecretError,
      );
    }
    assert.throws(
      () => verifyWebhook([], headersFor(EXPECTED_V1), PAYLOAD, AT_TS),
      InvalidSecretError,
    );
  });
});

describe('signing: secrets and keys', () => {
  it('generates whsec_ secrets of 24..64 bytes', () => {
    assert.equal(parseSecret(generateSecret()).length, 32);
    for (const bytes of [24, 32, 48, 64]) {
      const secret = generateSecret(bytes);
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(parseSecret(secret).length, bytes);
    }
    for (const bytes of [0, 23, 65, 32.5, Number.NaN]) {
      assert.throws(() => generateSecret(bytes), RangeError);
    }
    assert.notEqual(generateSecret(), generateSecret());
  });

  it('validates whsec_ secrets strictly', () => {
    const ok = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    assert.equal(parseSecret(ok).length, 24);
    for (const bad of [
      '',
      'whsec_',
      ok.slice('whsec_'.length), // no prefix
      ok.replace('whsec_', 'whsk_'),
      `whsec_${Buffer.alloc(23, 1).toString('base64')}`,
      `whsec_${Buffer.alloc(65, 1).toString('base64')}`,
      `whsec_${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`, // unpadded
      `whsec_${Buffer.alloc(24, 1).toString('base64url')}_-`,
      `${ok}!`,
      `whsec_${Buffer.alloc(32, 1).toString('base64').replace('E=', 'F=')}`, // non-canonical
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS', // truncated
    ]) {
      assert.throws(() => parseSecret(bad), InvalidSecretError, bad);
    }
    assert.throws(() => signV1('whsec_', MSG_ID, TS, PAYLOAD), InvalidSecretError);
    assert.throws(() => signV1('', MSG_ID, TS, PAYLOAD), InvalidSecretError);
    assert.throws(() => signV1(new Uint8Array(0), MSG_ID, TS, PAYLOAD), InvalidSecretError);
  });

  it('generates whsk_ signing keys and whpk_ public keys that round-trip', () => {
    const signingKey = generateSigningKey();
    assert.match(signingKey, /^whsk_[A-Za-z0-9+/]{86}==$/);
    const publicKey = publicKeyFromSigningKey(signingKey);
    assert.match(publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
    const signature = signV1a(signingKey, MSG_ID, TS, PAYLOAD);
    assert.equal(verifyWebhook(publicKey, headersFor(signature), PAYLOAD, AT_TS), PAYLOAD);
    parsePublicKey(publicKey);
    parseSigningKey(signingKey);
  });

  it('rejects malformed ed25519 keys', () => {
    const raw = Buffer.from(SIGNING_KEY.slice('whsk_'.length), 'base64');
    const mismatched = Buffer.from(raw);
    mismatched[40] = (mismatched[40] ?? 0) ^ 1;
    for (const bad of [
      'whsk_',
      SIGNING_KEY.replace('whsk_', 'whsec_'),
      `whsk_${raw.subarray(0, 32).toString('base64')}`,
      `whsk_${mismatched.toString('base64')}`,
    ]) {
      assert.throws(() => parseSigningKey(bad), InvalidSecretError, bad);
    }
    assert.throws(() => parsePublicKey('whpk_'), InvalidSecretError);
    assert.throws(() => parsePublicKey(PUBLIC_KEY.replace('whpk_', 'whsec_')), InvalidSecretError);
    assert.throws(
      () => parsePublicKey(`whpk_${Buffer.alloc(31).toString('base64')}`),
      InvalidSecretError,
    );
  });

  it('validates the message id and timestamp it signs', () => {
    assert.throws(() => signV1(KEY, 'msg.1', TS, PAYLOAD), RangeError);
    assert.throws(() => signV1(KEY, '', TS, PAYLOAD), RangeError);
    for (const ts of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => signV1(KEY, MSG_ID, ts, PAYLOAD), RangeError);
      assert.throws(() => signStripeStyle('whsec_x', ts, PAYLOAD), RangeError);
    }
    assert.equal(signedContent(MSG_ID, 0, 'x').toString(), `${MSG_ID}.0.x`);
  });

  it('signs the exact body bytes, not a re-encoding', () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x41]);
    const view = new Uint8Array([9, 9, ...bytes, 9]).subarray(2, 6);
    const expected = createHmac('sha256', parseSecret(KEY))
      .update(Buffer.concat([Buffer.from(`${MSG_ID}.${TS}.`), bytes]))
      .digest('base64');
    assert.equal(signV1(KEY, MSG_ID, TS, bytes), `v1,${expected}`);
    assert.equal(signV1(KEY, MSG_ID, TS, view), `v1,${expected}`);
    assert.equal(verifyWebhook(KEY, headersFor(`v1,${expected}`), view, AT_TS), view);
  });
});

describe('signing: outbound headers', () => {
  it('builds one entry per key, in order, with v1 and v1a', () => {
    const header = buildSignatureHeader([KEY, SIGNING_KEY], MSG_ID, TS, PAYLOAD);
    assert.equal(header, `${EXPECTED_V1} ${EXPECTED_V1A}`);
    assert.throws(() => buildSignatureHeader([], MSG_ID, TS, PAYLOAD), InvalidSecretError);
    assert.throws(() => buildSignatureHeader(['whsec_'], MSG_ID, TS, PAYLOAD), InvalidSecretError);
  });

  it('sets webhook-* and svix-* headers to the same values', () => {
    const headers = buildSignatureHeaders([KEY], MSG_ID, TS, PAYLOAD);
    assert.deepEqual(headers, {
      'webhook-id': MSG_ID,
      'webhook-timestamp': String(TS),
      'webhook-signature': EXPECTED_V1,
      'svix-id': MSG_ID,
      'svix-timestamp': String(TS),
      'svix-signature': EXPECTED_V1,
    });
  });
});

describe('signing: cross-checks with standardwebhooks and svix', () => {
  it('our signatures verify with both libraries', () => {
    for (let i = 0; i < 10; i++) {
      const secret = generateSecret(24 + Math.floor(Math.random() * 41));
      const payload = randomPayload();
      const ts = nowSeconds();
      const headers = buildSignatureHeaders([secret], `msg_${i}`, ts, payload);
      assert.deepEqual(
        new StandardWebhook(secret).verify(payload, { ...headers }),
        JSON.parse(payload),
      );
      new SvixWebhook(secret).verify(payload, { ...headers });
      new SvixWebhook(secret).verify(Buffer.from(payload), {
        'svix-id': headers['svix-id'],
        'svix-timestamp': headers['svix-timestamp'],
        'svix-signature': headers['svix-signature'],
      });
      assert.throws(() => new StandardWebhook(generateSecret()).verify(payload, { ...headers }));
      assert.throws(() => new SvixWebhook(secret).verify(`${payload} `, { ...headers }));
    }
  });

  it("the libraries' signatures verify with ours", () => {
    for (let i = 0; i < 10; i++) {
      const secret = generateSecret();
      const payload = randomPayload();
      const ts = nowSeconds();
      const msgId = `msg_${randomBytes(8).toString('hex')}`;
      const date = new Date(ts * 1000);
      const fromStandard = new StandardWebhook(secret).sign(msgId, date, payload);
      const fromSvix = new SvixWebhook(secret).sign(msgId, date, payload);
      assert.equal(fromStandard, signV1(secret, msgId, ts, payload));
      for (const signature of [fromStandard, fromSvix]) {
        const headers = headersFor(signature, msgId, ts);
        assert.equal(verifyWebhook(secret, headers, payload), payload);
        assert.equal(verifyWebhook(secret, headers, Buffer.from(payload)).toString(), payload);
      }
    }
    assert.equal(new StandardWebhook(KEY).sign(MSG_ID, new Date(TS * 1000), PAYLOAD), EXPECTED_V1);
  });

  it('a rotation header (old + new key) verifies with either key in every implementation', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret(24);
    const payload = randomPayload();
    const ts = nowSeconds();
    const headers = buildSignatureHeaders([newSecret, oldSecret], 'msg_rotation', ts, payload);
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    for (const secret of [oldSecret, newSecret]) {
      new StandardWebhook(secret).verify(payload, { ...headers });
      new SvixWebhook(secret).verify(payload, { ...headers });
      assert.equal(verifyWebhook(secret, headers, payload), payload);
    }
    assert.throws(() => new StandardWebhook(generateSecret()).verify(payload, { ...headers }));
    assert.throws(
      () => verifyWebhook(generateSecret(), headers, payload),
      WebhookVerificationError,
    );
  });

  it('the libraries skip v1a entries next to a v1 signature', () => {
    const secret = generateSecret();
    const signingKey = generateSigningKey();
    const payload = randomPayload();
    const ts = nowSeconds();
    const headers = buildSignatureHeaders([signingKey, secret], 'msg_mixed', ts, payload);
    assert.match(headers['webhook-signature'], /^v1a,\S+ v1,\S+$/);
    new StandardWebhook(secret).verify(payload, { ...headers });
    new SvixWebhook(secret).verify(payload, { ...headers });
    assert.equal(verifyWebhook(publicKeyFromSigningKey(signingKey), headers, payload), payload);
    assert.equal(verifyWebhook(secret, headers, payload), payload);
  });

  it('generated secrets are accepted by both libraries', () => {
    for (const bytes of [24, 32, 64]) {
      const secret = generateSecret(bytes);
      const date = new Date(TS * 1000);
      const expected = signV1(secret, MSG_ID, TS, PAYLOAD);
      assert.equal(new StandardWebhook(secret).sign(MSG_ID, date, PAYLOAD), expected);
      assert.equal(new SvixWebhook(secret).sign(MSG_ID, date, PAYLOAD), expected);
    }
  });
});
