import { isUtf8 } from 'node:buffer';
import { createHmac, generateKeyPairSync, type KeyObject, sign as signWithKey } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilioSdk from 'twilio';

/**
 * Signatures as the providers make them, for tests that send inbound webhooks over HTTP. Where
 * the provider publishes a library on npm, it signs (GitHub: `@octokit/webhooks-methods`,
 * Stripe: `stripe`, Standard Webhooks: `standardwebhooks`, Twilio: `twilio`); those libraries
 * sign text, so a body that is not valid UTF-8 is signed by hand with the same recipe.
 */

const stripeClient = new Stripe('sk_test_inbound_signing');

function hmac(algorithm: string, key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** GitHub `X-Hub-Signature-256`: `sha256=<hex HMAC-SHA256 of the body>`. */
export async function githubSignature(secret: string, body: Buffer): Promise<string> {
  // The library refuses an empty payload; GitHub never sends one, a fuzzer does.
  if (body.length > 0 && isUtf8(body)) return octokitSign(secret, body.toString('utf8'));
  return `sha256=${hmac('sha256', secret, body).toString('hex')}`;
}

/** Meta `X-Hub-Signature-256` (same recipe as GitHub, keyed with the app secret). */
export const metaSignature = githubSignature;

/** Stripe `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">`. */
export function stripeSignature(secret: string, body: Buffer, timestamp: number): string {
  if (isUtf8(body)) {
    return stripeClient.webhooks.generateTestHeaderString({
      payload: body.toString('utf8'),
      secret,
      timestamp,
    });
  }
  return `t=${timestamp},v1=${hmac('sha256', secret, `${timestamp}.`, body).toString('hex')}`;
}

/** Standard Webhooks (Svix) `webhook-signature` for `id`, `timestamp` (unix s) and the body. */
export function standardWebhookSignature(
  secret: string,
  id: string,
  timestamp: number,
  body: Buffer,
): string {
  if (isUtf8(body)) {
    return new StandardWebhook(secret).sign(id, new Date(timestamp * 1000), body.toString('utf8'));
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${hmac('sha256', key, `${id}.${timestamp}.`, body).toString('base64')}`;
}

/** Slack `X-Slack-Signature` (and Zoom `x-zm-signature`): `v0=<hex HMAC of "v0:{ts}:{body}">`. */
export function v0Signature(secret: string, timestamp: number | string, body: Buffer): string {
  return `v0=${hmac('sha256', secret, `v0:${timestamp}:`, body).toString('hex')}`;
}

/** Paddle `Paddle-Signature: ts=<unix>;h1=<hex HMAC-SHA256 of "{ts}:{body}">`. */
export function paddleSignature(secret: string, body: Buffer, timestamp: number): string {
  return `ts=${timestamp};h1=${hmac('sha256', secret, `${timestamp}:`, body).toString('hex')}`;
}

/** Base64 HMAC-SHA256 of the body (Shopify `X-Shopify-Hmac-Sha256`). */
export function base64BodyHmac(secret: string, body: Buffer): string {
  return hmac('sha256', secret, body).toString('base64');
}

/** Hex HMAC-SHA256 of the body (Linear `Linear-Signature`). */
export function hexBodyHmac(secret: string, body: Buffer): string {
  return hmac('sha256', secret, body).toString('hex');
}

/** Square `x-square-hmacsha256-signature`: base64 HMAC-SHA256 of notification URL + body. */
export function squareSignature(secret: string, url: string, body: Buffer): string {
  return hmac('sha256', secret, url, body).toString('base64');
}

/** Twilio `X-Twilio-Signature` for a form POST to `url` with `params`, by the twilio SDK. */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string {
  return twilioSdk.getExpectedTwilioSignature(authToken, url, params);
}

/** A generic HMAC over the body, in any digest and encoding. */
export function bodyHmac(
  algorithm: 'sha1' | 'sha256' | 'sha512',
  secret: string,
  body: Buffer,
  encoding: 'hex' | 'base64' | 'base64url',
): string {
  return hmac(algorithm, secret, body).toString(encoding);
}

/** An Ed25519 key pair as Discord uses it: the public key as 64 hex digits. */
export function ed25519KeyPair(): { publicKeyHex: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKeyHex: spki.subarray(spki.length - 32).toString('hex'), privateKey };
}

/** Discord `X-Signature-Ed25519`: hex Ed25519 signature of timestamp + body. */
export function discordSignature(privateKey: KeyObject, timestamp: string, body: Buffer): string {
  return signWithKey(
    null,
    Buffer.concat([Buffer.from(timestamp, 'utf8'), body]),
    privateKey,
  ).toString('hex');
}

/** `Authorization: Basic …`. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
