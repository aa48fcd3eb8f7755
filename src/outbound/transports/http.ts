import type { Sender } from '../sender.js';
import {
  buildSignatureHeaders,
  SECRET_PREFIX,
  signGithubStyle,
  signStripeStyle,
} from '../signing.js';
import type { Delivery, SendResult, Transport } from './types.js';

/**
 * `http://` and `https://` endpoints: a POST of the payload, signed with Standard Webhooks
 * headers (plus the endpoint's legacy signature, if any), through the SSRF-guarded sender.
 */
export class HttpTransport implements Transport {
  constructor(private readonly sender: Sender) {}

  send({ target, message, now }: Delivery): Promise<SendResult> {
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      ...target.headers,
      ...buildSignatureHeaders(target.keys, message.id, timestamp, message.payload),
    };
    // The legacy schemes are HMACs keyed with a whsec_ secret; an ed25519 (whsk_) key would
    // make the signer throw on every attempt, and the delivery would never be recorded.
    const hmacKey = target.keys[0]?.startsWith(SECRET_PREFIX) ? target.keys[0] : undefined;
    if (hmacKey !== undefined && target.legacySignature?.scheme === 'stripe') {
      headers[target.legacySignature.header ?? 'stripe-signature'] = signStripeStyle(
        hmacKey,
        timestamp,
        message.payload,
        { secretEncoding: 'whsec' },
      );
    } else if (hmacKey !== undefined && target.legacySignature?.scheme === 'github') {
      headers[target.legacySignature.header ?? 'x-hub-signature-256'] = signGithubStyle(
        hmacKey,
        message.payload,
        { secretEncoding: 'whsec' },
      );
    }
    return this.sender.send(target.url, headers, message.payload);
  }

  close(): Promise<void> {
    return this.sender.close();
  }
}
