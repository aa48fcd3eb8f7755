import type { DeliveryTarget } from '../../store/endpoint-health.js';
import type { MessageRecord } from '../../store/messages.js';
import type { AttemptOutcome } from '../retry-policy.js';

/**
 * What the engine keeps of one attempt, whatever carried it. `outcome` is what the retry
 * policy and the circuit breaker judge (HTTP semantics: 2xx success; 408, 429, 5xx, network
 * errors and timeouts retried; other 4xx and refusals given up); `statusCode` and `response`
 * go to the attempt log.
 */
export interface SendResult {
  outcome: AttemptOutcome;
  /** Response body excerpt, or the error text when there was no response. */
  response: string;
  statusCode: number;
  durationMs: number;
}

/** One attempt to hand over: the endpoint (secrets opened) and the message with its payload. */
export interface Delivery {
  target: DeliveryTarget;
  message: MessageRecord & { payload: string };
  /** When the attempt started, epoch ms (the signature timestamp for HTTP). */
  now: number;
}

/** Carries a delivery to one kind of destination (chosen by the endpoint URL's scheme). */
export interface Transport {
  send(delivery: Delivery): Promise<SendResult>;
  /** Releases connections; called once when the process stops. */
  close?(): Promise<void>;
}

/** A SendResult without its duration: what the pure outcome mappers produce. */
export type Outcome = Omit<SendResult, 'durationMs'>;

/** An answer with an HTTP-like status (2xx success, 408/429/5xx retried, other 4xx not). */
export function answered(status: number, response: string): Outcome {
  return { outcome: { kind: 'response', status }, response, statusCode: status };
}

/** No answer: a network error or a timeout (both retried). */
export function unanswered(kind: 'network-error' | 'timeout', message: string): Outcome {
  return { outcome: { kind, message }, response: message, statusCode: 0 };
}

/** Nothing was sent and the same attempt would be refused again (not retried). */
export function refusedOutcome(message: string): Outcome {
  return { outcome: { kind: 'refused', message }, response: message, statusCode: 0 };
}

/** Times an attempt and adds its duration to the outcome. */
export async function timed(work: () => Promise<Outcome>): Promise<SendResult> {
  const started = performance.now();
  const result = await work();
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

/** The id a destination de-duplicates on: the inbound event's, else the message's. */
export function correlationId(message: MessageRecord): string {
  return message.inboundEventId ?? message.id;
}
