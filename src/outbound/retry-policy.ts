// What to do after one delivery attempt: done, try again at a given time, or stop.
//
// Pure: the dispatcher passes the clock (`now`, epoch ms) and the randomness (`random`, like
// `Math.random`) so that every decision can be replayed exactly in a test.
//
// The schedule has SWITCHBOARD_RETRY_SCHEDULE semantics (SPEC §2): `schedule[0]` is the delay
// before the first try, `schedule[i]` (i ≥ 1) the delay between attempt i and attempt i + 1.
// So a schedule of N values allows at most N attempts. The default `0,30,300,1800,21600,86400`
// is the seed dispatcher's "0 s, 30 s, 5 min, 30 min, 6 h, 24 h".

/** What one attempt produced, as the transport saw it. */
export type AttemptOutcome =
  | {
      kind: 'response';
      status: number;
      /** The raw `Retry-After` response header, if any. */
      retryAfter?: string | null;
    }
  | {
      /**
       * `network-error`: DNS failure, connection reset, TLS error… `timeout`: no response within
       * the deadline. `refused`: the SSRF guard would not let the request leave (nothing was sent).
       */
      kind: 'network-error' | 'timeout' | 'refused';
      message: string;
    };

/** Svix's trigger types: a scheduled attempt follows the retry schedule, a manual one is a resend. */
export type AttemptTrigger = 'scheduled' | 'manual';

export type GiveUpReason = 'exhausted' | 'not-retryable' | 'manual';

export type RetryAction =
  | { action: 'success' }
  | { action: 'retry' /** epoch ms of the next attempt */; at: number; delayMs: number }
  | { action: 'give-up'; reason: GiveUpReason };

export type RetryDecision = RetryAction & {
  /** The endpoint told us it is gone for good (410): the dispatcher disables it. */
  disableEndpoint: boolean;
};

export interface EndpointRetryOptions {
  /** Retry every non-2xx answer, not only 408, 429 and 5xx (410 still gives up: it disables). */
  retryNon2xx?: boolean;
}

export interface RetryInput {
  outcome: AttemptOutcome;
  /** The number of the attempt just made, 1-based, counted over the scheduled attempts. */
  attempt: number;
  trigger: AttemptTrigger;
  /** Delays in seconds, SWITCHBOARD_RETRY_SCHEDULE semantics (see the top of this file). */
  schedule: readonly number[];
  endpoint?: EndpointRetryOptions;
  /** Current time, epoch ms. */
  now: number;
  /** Uniform in [0, 1], like `Math.random`. */
  random: () => number;
}

/**
 * A `Retry-After` can push the next attempt later than the schedule, but never further than this:
 * a misconfigured (or hostile) receiver must not park a message for months. 24 h is the longest
 * step of the default schedule, so honouring a larger value would add nothing a user expects.
 */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Each scheduled delay is spread uniformly over ±20 % so that retries of a burst do not align. */
export const JITTER_RATIO = 0.2;

const GONE = 410;

/**
 * Whether a non-2xx status is worth trying again. 408 (the receiver timed out reading us), 429
 * (slow down) and 5xx (its fault, maybe temporary) are; other 4xx mean the request itself is
 * wrong for this receiver and will stay wrong; 3xx are failures too, because redirects are not
 * followed (following them would let a receiver bounce us past the SSRF guard).
 */
export function isRetryableStatus(status: number, retryNon2xx = false): boolean {
  if (status >= 200 && status <= 299) return false;
  if (status === GONE) return false;
  if (retryNon2xx) return true;
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// The three HTTP-date forms of RFC 9110 §5.6.7. Parsed by hand rather than with `Date.parse`,
// which accepts almost anything and reads the zone-less asctime form in local time.
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850_DATE = /^[a-z]+, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME_DATE = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

function utc(
  year: number,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  const [d, h, m, s] = [day, hour, minute, second].map((part) => Number(part.trim()));
  if (monthIndex < 0 || d < 1 || d > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, monthIndex, d, h, m, s);
  return Number.isFinite(ms) ? ms : undefined;
}

function parseHttpDate(value: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) return utc(Number(match[3]), match[2], match[1], match[4], match[5], match[6]);
  match = RFC850_DATE.exec(value);
  if (match) {
    // Two-digit year: RFC 9110 says a date more than 50 years in the future is in the past century.
    let year = 2000 + Number(match[3]);
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
    return utc(year, match[2], match[1], match[4], match[5], match[6]);
  }
  match = ASCTIME_DATE.exec(value);
  if (match) return utc(Number(match[6]), match[1], match[2], match[3], match[4], match[5]);
  return undefined;
}

/**
 * A `Retry-After` header as a delay in ms from `now`: delta-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past gives 0. Anything else is ignored
 * (`undefined`): a garbled header must not stop the retry schedule. Not capped here — the
 * policy applies {@link MAX_RETRY_AFTER_MS}; this only says what the receiver asked for.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Math.min(Number(trimmed) * 1000, Number.MAX_SAFE_INTEGER);
  }
  const at = parseHttpDate(trimmed, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

function checkSchedule(schedule: readonly number[]): void {
  if (schedule.length === 0) throw new RangeError('retry schedule must have at least one delay');
  if (schedule.some((delay) => !Number.isFinite(delay) || delay < 0)) {
    throw new RangeError(`retry schedule delays must be non-negative seconds: ${schedule}`);
  }
}

/**
 * Delay before a message's first try, ms. Not jittered: it is usually 0, and a new message
 * should not wait a random extra time before anything has gone wrong.
 */
export function firstAttemptDelayMs(schedule: readonly number[]): number {
  checkSchedule(schedule);
  return schedule[0] * 1000;
}

/** `delayMs` scaled by a uniform factor in [1 − 20 %, 1 + 20 %]. */
function jitter(delayMs: number, random: () => number): number {
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(delayMs * (1 - JITTER_RATIO + 2 * JITTER_RATIO * r));
}

/**
 * The decision after attempt number `attempt`. Order of the rules:
 * 1. 2xx → success.
 * 2. 410 → the endpoint is gone: give up and disable it (whatever the trigger).
 * 3. A manual attempt (resend) is exactly one attempt: it never schedules another.
 * 4. A failure that will not change on its own (SSRF refusal, most 4xx, 3xx) → give up.
 * 5. The schedule has no more attempts → exhausted. A `Retry-After` never adds attempts.
 * 6. Otherwise retry after the next scheduled delay ± jitter, or later if `Retry-After` asks
 *    (up to {@link MAX_RETRY_AFTER_MS}); never sooner than the jittered schedule.
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome, attempt, trigger, schedule, now, random } = input;
  checkSchedule(schedule);
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  const status = outcome.kind === 'response' ? outcome.status : undefined;
  if (status !== undefined && status >= 200 && status <= 299) {
    return { action: 'success', disableEndpoint: false };
  }
  const disableEndpoint = status === GONE;
  const giveUp = (reason: GiveUpReason): RetryDecision => ({
    action: 'give-up',
    reason,
    disableEndpoint,
  });
  if (disableEndpoint) return giveUp(trigger === 'manual' ? 'manual' : 'not-retryable');
  if (trigger === 'manual') return giveUp('manual');

  const retryable =
    outcome.kind === 'response'
      ? isRetryableStatus(outcome.status, input.endpoint?.retryNon2xx === true)
      : outcome.kind !== 'refused'; // the same URL will be refused again: retrying is pointless
  if (!retryable) return giveUp('not-retryable');
  if (attempt >= schedule.length) return giveUp('exhausted');

  let delayMs = jitter(schedule[attempt] * 1000, random);
  if (outcome.kind === 'response') {
    const asked = parseRetryAfter(outcome.retryAfter, now);
    if (asked !== undefined) delayMs = Math.max(delayMs, Math.min(asked, MAX_RETRY_AFTER_MS));
  }
  return { action: 'retry', at: now + delayMs, delayMs, disableEndpoint };
}
