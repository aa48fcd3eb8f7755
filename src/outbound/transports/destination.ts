// Endpoint URLs beyond http(s), as source endpoints take them (pure: no I/O):
//
//   nats:SUBJECT                              a JetStream publish to SUBJECT on NATS_URL
//   mailto:ADDR[,ADDR…]?subject=…&body=…     an email (RFC 6068 form), with {{path}} templates
//   app:APP_ID_OR_UID                         a message of that application
//
// Checked when the endpoint is registered (a 422 naming the problem) and parsed again at every
// delivery, so a row that somehow holds a malformed URL fails its attempt instead of throwing.

/** A URL that is not a valid destination; the message says what is wrong. */
export class DestinationError extends Error {
  override name = 'DestinationError';
}

/** A template that cannot be filled from a payload (a missing field, a non-JSON payload). */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** The schemes only a source endpoint may use. */
export const DESTINATION_SCHEMES = ['nats', 'mailto', 'app'] as const;
export type DestinationScheme = (typeof DESTINATION_SCHEMES)[number];

export interface Mailto {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | undefined;
  body: string | undefined;
}

export type Destination =
  | { kind: 'nats'; subject: string }
  | { kind: 'mailto'; mailto: Mailto }
  | { kind: 'app'; app: string };

/** The URL's scheme, lower case (`https`, `nats`, …), or undefined when it has none. */
export function schemeOf(url: string): string | undefined {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
}

export function isDestinationScheme(scheme: string | undefined): scheme is DestinationScheme {
  return (DESTINATION_SCHEMES as readonly string[]).includes(scheme ?? '');
}

/** Parses a `nats:`, `mailto:` or `app:` URL; throws {@link DestinationError} when invalid. */
export function parseDestination(url: string): Destination {
  const scheme = schemeOf(url);
  const rest = url.slice((scheme?.length ?? 0) + 1);
  switch (scheme) {
    case 'nats':
      return { kind: 'nats', subject: checkSubject(rest) };
    case 'mailto':
      return { kind: 'mailto', mailto: parseMailto(rest) };
    case 'app':
      return { kind: 'app', app: checkAppRef(rest) };
    default:
      throw new DestinationError(
        `URL scheme must be http, https, nats, mailto or app, got ${scheme ? `"${scheme}:"` : 'none'}.`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// NATS

const MAX_SUBJECT_LENGTH = 255;

/**
 * A publishable NATS subject: dot-separated non-empty tokens, no wildcards (`*`, `>`), no
 * whitespace or control characters. The server is NATS_URL, never part of the endpoint URL.
 */
export function checkSubject(subject: string): string {
  if (subject.startsWith('//')) {
    throw new DestinationError(
      'Use nats:SUBJECT (e.g. nats:sales.gumroad); the server is set by NATS_URL, not in the URL.',
    );
  }
  if (subject === '') throw new DestinationError('NATS subject is empty: use nats:SUBJECT.');
  if (subject.length > MAX_SUBJECT_LENGTH) {
    throw new DestinationError(`NATS subject is longer than ${MAX_SUBJECT_LENGTH} characters.`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\s\x00-\x1f\x7f]/.test(subject)) {
    throw new DestinationError('NATS subject must not contain whitespace or control characters.');
  }
  const tokens = subject.split('.');
  if (tokens.some((token) => token === '')) {
    throw new DestinationError(
      'NATS subject tokens must not be empty (no leading, trailing or double dots).',
    );
  }
  if (tokens.some((token) => token.includes('*') || token.includes('>'))) {
    throw new DestinationError(
      'NATS subject must not contain wildcards (* or >): publish needs one subject.',
    );
  }
  return subject;
}

// ---------------------------------------------------------------------------------------------
// Applications

const APP_REF = /^[a-zA-Z0-9\-_.]{1,256}$/;

/** An application id (`app_…`) or uid. */
export function checkAppRef(ref: string): string {
  if (ref === '') throw new DestinationError('Application is missing: use app:APP_ID_OR_UID.');
  if (!APP_REF.test(ref)) {
    throw new DestinationError(
      'Application must be an application id or uid (letters, digits, -, _ and . only).',
    );
  }
  return ref;
}

// ---------------------------------------------------------------------------------------------
// mailto (RFC 6068) with {{path}} templates

const MAILTO_FIELDS = new Set(['to', 'cc', 'bcc', 'subject', 'body']);
// Deliberately loose (a local part, @, a domain with a dot or not): the mail server judges the
// rest. What it refuses are things that cannot be one address: spaces, brackets, separators.
const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+$/;

export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value) && value.length <= 320;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DestinationError(`mailto ${what} has an invalid percent-encoding.`);
  }
}

function addresses(list: string, what: string): string[] {
  return list
    .split(',')
    .map((part) => decode(part, what).trim())
    .filter((part) => part !== '');
}

/**
 * `ADDR[,ADDR…][?to=…&cc=…&bcc=…&subject=…&body=…]` (after `mailto:`), percent-decoded as in
 * RFC 6068 (`+` is a plus, not a space). Addresses, subject and body may hold `{{path}}`
 * templates; an address without one must look like an email address.
 */
export function parseMailto(rest: string): Mailto {
  const question = rest.indexOf('?');
  const path = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  const mailto: Mailto = {
    to: addresses(path, 'address'),
    cc: [],
    bcc: [],
    subject: undefined,
    body: undefined,
  };
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    if (equals < 0) throw new DestinationError(`mailto field "${pair}" has no value (name=value).`);
    const name = decode(pair.slice(0, equals), 'field name').toLowerCase();
    const value = pair.slice(equals + 1);
    if (!MAILTO_FIELDS.has(name)) {
      throw new DestinationError(
        `mailto field "${name}" is not supported (to, cc, bcc, subject, body).`,
      );
    }
    if (name === 'to' || name === 'cc' || name === 'bcc') {
      mailto[name].push(...addresses(value, name));
    } else if (name === 'subject' || name === 'body') {
      if (mailto[name] !== undefined) throw new DestinationError(`mailto ${name} is given twice.`);
      mailto[name] = decode(value, name);
    }
  }
  if (mailto.to.length + mailto.cc.length + mailto.bcc.length === 0) {
    throw new DestinationError('mailto has no recipient: use mailto:ADDRESS.');
  }
  for (const address of [...mailto.to, ...mailto.cc, ...mailto.bcc]) {
    const paths = templatePaths(address, 'address');
    if (paths.length === 0 && !isEmailAddress(address)) {
      throw new DestinationError(`"${address}" is not an email address.`);
    }
  }
  if (mailto.subject !== undefined) templatePaths(mailto.subject, 'subject');
  if (mailto.body !== undefined) templatePaths(mailto.body, 'body');
  return mailto;
}

const TEMPLATE = /\{\{([^{}]*)\}\}/g;
const FIELD_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/** The dotted paths of the `{{path}}` templates in `text`; throws on malformed ones. */
export function templatePaths(text: string, where = 'template'): string[] {
  const paths: string[] = [];
  const rest = text.replace(TEMPLATE, (_match, inner: string) => {
    const path = inner.trim();
    if (!FIELD_PATH.test(path)) {
      throw new DestinationError(
        `${where}: "{{${inner}}}" is not a field path (e.g. {{email}} or {{data.customer.email}}).`,
      );
    }
    paths.push(path);
    return '';
  });
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new DestinationError(`${where}: unbalanced {{ or }} in "${text}".`);
  }
  return paths;
}

/** The value at a dotted path (`data.items.0.sku`), own properties only; undefined if absent. */
export function lookup(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Fills `{{path}}` templates from `payload` (parsed JSON). Strings go in as they are, numbers
 * and booleans as text, objects and arrays as JSON. A missing or null field throws
 * {@link TemplateError}: sending an email to nobody, or with a hole in it, is worse than not
 * sending it.
 */
export function renderTemplate(text: string, payload: unknown): string {
  return text.replace(TEMPLATE, (_match, inner: string) => {
    const path = inner.trim();
    const value = lookup(payload, path);
    if (value === undefined || value === null) {
      throw new TemplateError(`template {{${path}}}: the payload has no field "${path}".`);
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

export interface RenderedEmail {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
}

/**
 * The email for one message: templates filled from the JSON payload; the subject defaults to
 * the event type, the body to the payload pretty-printed (as is when it is not JSON).
 */
export function renderEmail(mailto: Mailto, payloadText: string, eventType: string): RenderedEmail {
  let parsed: { ok: true; value: unknown } | { ok: false } | undefined;
  const payload = (): unknown => {
    parsed ??= (() => {
      try {
        return { ok: true as const, value: JSON.parse(payloadText) as unknown };
      } catch {
        return { ok: false as const };
      }
    })();
    if (!parsed.ok)
      throw new TemplateError('the payload is not JSON, so templates cannot be filled.');
    return parsed.value;
  };
  const fill = (text: string) =>
    templatePaths(text).length > 0 ? renderTemplate(text, payload()) : text;
  const recipients = (list: string[]) =>
    list.flatMap((template) => {
      const rendered = fill(template)
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
      for (const address of rendered) {
        if (!isEmailAddress(address)) {
          throw new TemplateError(
            `recipient "${address}" (from "${template}") is not an email address.`,
          );
        }
      }
      return rendered;
    });
  const to = recipients(mailto.to);
  const cc = recipients(mailto.cc);
  const bcc = recipients(mailto.bcc);
  if (to.length + cc.length + bcc.length === 0)
    throw new TemplateError('no recipient after filling templates.');
  const subject = (
    mailto.subject === undefined ? `Switchboard: ${eventType}` : fill(mailto.subject)
  )
    .replace(/[\r\n]+/g, ' ')
    .trim();
  let text: string;
  if (mailto.body !== undefined) text = fill(mailto.body);
  else {
    try {
      text = JSON.stringify(JSON.parse(payloadText), null, 2);
    } catch {
      text = payloadText;
    }
  }
  return { to, cc, bcc, subject, text };
}
