/**
 * The sender thread (see `ThreadedSender`): a `WebhookSender` on its own event loop. Requests
 * arrive in batches; results go back batched per turn of this thread's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WebhookSender } from './sender.js';
import type {
  FromSenderThread,
  SenderThreadOptions,
  SendReply,
  ToSenderThread,
} from './sender-thread.js';
import { parseAllowedNetworks } from './ssrf.js';
import { unanswered } from './transports/types.js';

const port = parentPort;
if (port === null) throw new Error('sender-thread-entry runs as a worker thread');
const options = workerData as SenderThreadOptions;
const sender = new WebhookSender({
  allowList: parseAllowedNetworks(options.allowedNetworks),
  userAgent: options.userAgent,
});

const post = (message: FromSenderThread) => port.postMessage(message);

let replies: SendReply[] = [];
const flush = () => {
  if (replies.length === 0) return;
  const batch = replies;
  replies = [];
  post({ replies: batch });
};
const reply = (entry: SendReply) => {
  if (replies.length === 0) setImmediate(flush);
  replies.push(entry);
};

port.on('message', (message: ToSenderThread) => {
  if ('close' in message) {
    sender.close().finally(() => {
      flush();
      port.close();
    });
    return;
  }
  for (const [id, url, headers, body, signing] of message.send) {
    sender.send(url, headers, body, signing).then(
      (result) => reply([id, result]),
      // `send` turns every failure into an outcome; should that ever throw, the attempt still
      // gets one (a network error, retried) instead of waiting forever.
      (error: unknown) =>
        reply([
          id,
          { ...unanswered('network-error', `network error: ${String(error)}`), durationMs: 0 },
        ]),
    );
  }
});

post({ ready: true });
