import type { Sender } from '../sender.js';
import type { Delivery, SendResult, Transport } from './types.js';

/**
 * `http://` and `https://` endpoints: a POST of the payload, signed with Standard Webhooks
 * headers (plus the endpoint's legacy signature, if any), through the SSRF-guarded sender. The
 * sender signs (`deliverySignatureHeaders`): on the sender thread, off the event loop.
 */
export class HttpTransport implements Transport {
  constructor(private readonly sender: Sender) {}

  send({ target, message, now }: Delivery): Promise<SendResult> {
    return this.sender.send(target.url, target.headers, message.payload, {
      msgId: message.id,
      timestampSeconds: Math.floor(now / 1000),
      keys: target.keys,
      legacy: target.legacySignature,
    });
  }

  close(): Promise<void> {
    return this.sender.close();
  }
}
