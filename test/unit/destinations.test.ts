import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRetry } from '../../src/outbound/retry-policy.js';
import {
  checkSubject,
  DestinationError,
  parseDestination,
  parseMailto,
  renderEmail,
  renderTemplate,
  schemeOf,
  TemplateError,
  templatePaths,
} from '../../src/outbound/transports/destination.js';
import { Transports } from '../../src/outbound/transports/index.js';
import {
  natsAcked,
  natsFailure,
  postmarkResult,
  smtpAccepted,
  smtpFailure,
} from '../../src/outbound/transports/outcomes.js';
import type { Delivery, Outcome, Transport } from '../../src/outbound/transports/types.js';
import { loadConfig } from '../../src/platform/config.js';

/** What the engine would do with an outcome on the first of three attempts. */
function verdict(result: Outcome): 'success' | 'retry' | 'give-up' {
  return decideRetry({
    outcome: result.outcome,
    attempt: 1,
    trigger: 'scheduled',
    schedule: [0, 1, 1],
    now: 0,
    random: () => 0.5,
  }).action;
}

describe('destination URLs', () => {
  it('reads the scheme case-insensitively', () => {
    assert.equal(schemeOf('NATS:a.b'), 'nats');
    assert.equal(schemeOf('https://x'), 'https');
    assert.equal(schemeOf('no-scheme'), undefined);
  });

  it('accepts publishable NATS subjects', () => {
    assert.deepEqual(parseDestination('nats:sales.gumroad'), {
      kind: 'nats',
      subject: 'sales.gumroad',
    });
    assert.equal(checkSubject('a'), 'a');
    assert.equal(checkSubject('orders-v2.EU_west.$x'), 'orders-v2.EU_west.$x');
  });

  for (const [subject, why] of [
    ['', /empty/],
    ['sales.*', /wildcard/],
    ['sales.>', /wildcard/],
    ['a*b.c', /wildcard/],
    ['sales..x', /empty/],
    ['.sales', /empty/],
    ['sales.', /empty/],
    ['sales x', /whitespace/],
    ['sales\tx', /whitespace/],
    ['//localhost:4222/sales', /NATS_URL/],
    ['x'.repeat(256), /longer/],
  ] as const) {
    it(`refuses the NATS subject ${JSON.stringify(subject.slice(0, 30))}`, () => {
      assert.throws(
        () => parseDestination(`nats:${subject}`),
        (error: Error) => {
          assert.ok(error instanceof DestinationError);
          assert.match(error.message, why);
          return true;
        },
      );
    });
  }

  it('accepts app ids and uids, refuses the rest', () => {
    assert.deepEqual(parseDestination('app:crm'), { kind: 'app', app: 'crm' });
    assert.deepEqual(parseDestination('app:app_2abc'), { kind: 'app', app: 'app_2abc' });
    assert.throws(() => parseDestination('app:'), /missing/);
    assert.throws(() => parseDestination('app:a b'), /letters, digits/);
    assert.throws(() => parseDestination('app://crm'), /letters, digits/);
  });

  it('refuses unknown schemes', () => {
    assert.throws(() => parseDestination('ftp:x'), /http, https, nats, mailto or app/);
  });
});

describe('mailto (RFC 6068)', () => {
  it('parses addresses, to/cc/bcc fields, subject and body, percent-decoded', () => {
    const mailto = parseMailto(
      'a@example.com,%7B%7Bemail%7D%7D?cc=c@example.com&BCC=d@example.com,e@example.com&subject=Hello%20{{name}}&body=Line%201%0Aa+b&to=f@example.com',
    );
    assert.deepEqual(mailto, {
      to: ['a@example.com', '{{email}}', 'f@example.com'],
      cc: ['c@example.com'],
      bcc: ['d@example.com', 'e@example.com'],
      subject: 'Hello {{name}}',
      body: 'Line 1\na+b', // + is a plus in RFC 6068
    });
  });

  it('takes recipients from the query alone', () => {
    assert.deepEqual(parseMailto('?to=a@example.com').to, ['a@example.com']);
  });

  for (const [rest, why] of [
    ['', /no recipient/],
    ['?subject=x', /no recipient/],
    ['not-an-address', /not an email address/],
    ['a b@example.com', /not an email address/],
    ['a@example.com?subject=x&subject=y', /twice/],
    ['a@example.com?x-mailer=y', /not supported/],
    ['a@example.com?subject', /no value/],
    ['a@example.com?subject=%E0%A4%A', /percent-encoding/],
    ['{{email', /unbalanced/],
    ['a@example.com?subject={{ bad path }}', /not a field path/],
    ['a@example.com?body={{}}', /not a field path/],
    ['a@example.com?body=x}}', /unbalanced/],
  ] as const) {
    it(`refuses mailto:${rest}`, () => {
      assert.throws(() => parseDestination(`mailto:${rest}`), why);
    });
  }
});

describe('templates', () => {
  const payload = {
    email: 'buyer@example.com',
    n: 3,
    ok: true,
    data: { customer: { email: 'c@example.com', name: 'Zoë' }, items: [{ sku: 'A1' }] },
    nothing: null,
  };

  it('lists the paths of a template', () => {
    assert.deepEqual(templatePaths('{{a}} and {{ b.c }}'), ['a', 'b.c']);
    assert.deepEqual(templatePaths('plain'), []);
  });

  it('fills dotted paths; numbers, booleans and objects as text', () => {
    assert.equal(
      renderTemplate(
        '{{email}} {{ data.customer.name }} {{n}} {{ok}} {{data.items.0.sku}}',
        payload,
      ),
      'buyer@example.com Zoë 3 true A1',
    );
    assert.equal(renderTemplate('{{data.items}}', payload), '[{"sku":"A1"}]');
  });

  for (const path of ['missing', 'data.customer.phone', 'nothing', 'email.length', 'constructor']) {
    it(`fails on the missing field {{${path}}}`, () => {
      assert.throws(
        () => renderTemplate(`{{${path}}}`, payload),
        (error: Error) => {
          assert.ok(error instanceof TemplateError);
          assert.match(error.message, new RegExp(`no field "${path.replace('.', '\\.')}"`));
          return true;
        },
      );
    });
  }

  it('renders an email: templated recipients and subject, default body pretty-printed', () => {
    const email = renderEmail(
      parseMailto(
        '{{data.customer.email}},ops@example.com?subject=Order%20for%20{{data.customer.name}}',
      ),
      JSON.stringify(payload),
      'sale',
    );
    assert.deepEqual(email.to, ['c@example.com', 'ops@example.com']);
    assert.equal(email.subject, 'Order for Zoë');
    assert.equal(email.text, JSON.stringify(payload, null, 2));
  });

  it('renders the body template and defaults the subject to the event type', () => {
    const email = renderEmail(
      parseMailto('a@example.com?body=Hi%20{{email}}'),
      JSON.stringify(payload),
      'sale',
    );
    assert.equal(email.subject, 'Switchboard: sale');
    assert.equal(email.text, 'Hi buyer@example.com');
  });

  it('keeps line breaks out of the subject', () => {
    const email = renderEmail(
      parseMailto('a@example.com?subject={{s}}'),
      '{"s":"a\\r\\nBcc: x@y.z"}',
      'e',
    );
    assert.equal(email.subject, 'a Bcc: x@y.z');
  });

  it('fails when a rendered recipient is not an address, or the payload is not JSON', () => {
    assert.throws(
      () => renderEmail(parseMailto('{{n}}'), JSON.stringify(payload), 'e'),
      /not an email address/,
    );
    assert.throws(() => renderEmail(parseMailto('{{email}}'), 'not json', 'e'), /not JSON/);
    // Without templates a non-JSON payload is the body as it is.
    assert.equal(renderEmail(parseMailto('a@example.com'), 'not json', 'e').text, 'not json');
  });
});

describe('SMTP replies → retry semantics', () => {
  it('250 is a success that keeps the reply', () => {
    const result = smtpAccepted({
      response: '250 2.0.0 OK queued',
      messageId: '<m@x>',
      accepted: ['a@x.y'],
      rejected: [],
    });
    assert.equal(verdict(result), 'success');
    assert.equal(result.statusCode, 200);
    assert.deepEqual(JSON.parse(result.response), {
      smtp: '250 2.0.0 OK queued',
      messageId: '<m@x>',
      accepted: ['a@x.y'],
    });
  });

  for (const code of [421, 450, 451, 452]) {
    it(`${code} (transient) is retried`, () => {
      const result = smtpFailure({
        responseCode: code,
        response: `${code} try later`,
        message: 'x',
        code: 'EENVELOPE',
      });
      assert.equal(verdict(result), 'retry');
      assert.equal(result.statusCode, 503);
      assert.equal(result.response, `SMTP ${code} try later`);
    });
  }

  for (const [code, status] of [
    [550, 422],
    [553, 422],
    [554, 422],
    [535, 401],
    [530, 401],
  ] as const) {
    it(`${code} (permanent) is not retried`, () => {
      const result = smtpFailure({
        responseCode: code,
        response: `${code} no`,
        message: 'x',
        code: 'EENVELOPE',
      });
      assert.equal(verdict(result), 'give-up');
      assert.equal(result.statusCode, status);
    });
  }

  it('no reply: connection errors and timeouts are retried; local refusals are not', () => {
    assert.equal(
      verdict(smtpFailure({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' })),
      'retry',
    );
    assert.equal(
      smtpFailure({ code: 'ETIMEDOUT', message: 'Greeting never received' }).outcome.kind,
      'timeout',
    );
    assert.equal(verdict(smtpFailure({ code: 'ESOCKET', message: 'reset' })), 'retry');
    assert.equal(
      verdict(smtpFailure({ code: 'EENVELOPE', message: 'No recipients defined' })),
      'give-up',
    );
  });
});

describe('Postmark answers → retry semantics', () => {
  it('200 with ErrorCode 0 is a success keeping the MessageID', () => {
    const body =
      '{"To":"a@x.y","SubmittedAt":"2026-01-01T00:00:00Z","MessageID":"b7bc2f4a","ErrorCode":0,"Message":"OK"}';
    const result = postmarkResult(200, body);
    assert.equal(verdict(result), 'success');
    assert.match(result.response, /b7bc2f4a/);
  });

  it('401 and 422 about the email are permanent; 429, 5xx and account errors are retried', () => {
    assert.equal(
      verdict(postmarkResult(401, '{"ErrorCode":10,"Message":"Bad or missing API token"}')),
      'give-up',
    );
    const inactive = postmarkResult(422, '{"ErrorCode":406,"Message":"Inactive recipient"}');
    assert.equal(verdict(inactive), 'give-up');
    assert.equal(inactive.response, 'Postmark 422 ErrorCode 406: Inactive recipient');
    assert.equal(
      verdict(postmarkResult(422, '{"ErrorCode":405,"Message":"Not allowed to send"}')),
      'retry',
    );
    assert.equal(verdict(postmarkResult(429, 'slow down')), 'retry');
    assert.equal(verdict(postmarkResult(500, '')), 'retry');
    assert.equal(verdict(postmarkResult(503, '<html>')), 'retry');
  });
});

describe('NATS outcomes → retry semantics', () => {
  it('a PubAck is a success with stream, seq and duplicate', () => {
    const result = natsAcked({ stream: 'SALES', seq: 42, duplicate: false });
    assert.equal(verdict(result), 'success');
    assert.equal(result.response, '{"stream":"SALES","seq":42,"duplicate":false}');
  });

  it('no stream (503), timeouts and connection errors are retried', () => {
    const noStream = natsFailure('sales.x', { code: '503', message: '503' });
    assert.equal(verdict(noStream), 'retry');
    assert.equal(noStream.statusCode, 503);
    assert.match(noStream.response, /no JetStream stream captures subject "sales.x"/);
    assert.equal(natsFailure('s', { code: 'TIMEOUT', message: 'TIMEOUT' }).outcome.kind, 'timeout');
    assert.equal(
      verdict(natsFailure('s', { code: 'CONNECTION_REFUSED', message: 'refused' })),
      'retry',
    );
    assert.equal(verdict(natsFailure('s', { message: 'unknown' })), 'retry');
  });

  it('JetStream API errors keep their code; payload too large is final', () => {
    const sealed = natsFailure('s', {
      message: 'x',
      api_error: { code: 400, err_code: 10109, description: 'stream is sealed' },
    });
    assert.equal(verdict(sealed), 'give-up');
    assert.equal(sealed.statusCode, 400);
    assert.equal(
      verdict(
        natsFailure('s', {
          message: 'x',
          api_error: { code: 503, description: 'maximum messages exceeded' },
        }),
      ),
      'retry',
    );
    assert.equal(
      verdict(natsFailure('s', { code: 'MAX_PAYLOAD_EXCEEDED', message: 'too big' })),
      'give-up',
    );
  });
});

describe('email and NATS settings', () => {
  it('reads the mailer variables, with defaults', () => {
    const config = loadConfig({});
    assert.equal(config.smtpUrl, undefined);
    assert.equal(config.postmarkToken, undefined);
    assert.equal(config.postmarkUrl, 'https://api.postmarkapp.com');
    assert.equal(config.emailFrom, 'switchboard@localhost');
    const set = loadConfig({
      SWITCHBOARD_SMTP_URL: 'smtp://u:p@mail.example.com:587',
      SWITCHBOARD_POSTMARK_TOKEN: 'tok',
      SWITCHBOARD_POSTMARK_URL: 'http://127.0.0.1:9999',
      SWITCHBOARD_POSTMARK_STREAM: 'outbound',
      SWITCHBOARD_EMAIL_FROM: 'Shop <shop@example.com>',
    });
    assert.equal(set.smtpUrl, 'smtp://u:p@mail.example.com:587');
    assert.equal(set.postmarkToken, 'tok');
    assert.equal(set.postmarkUrl, 'http://127.0.0.1:9999');
    assert.equal(set.postmarkStream, 'outbound');
    assert.equal(set.emailFrom, 'Shop <shop@example.com>');
  });

  it('refuses malformed mailer variables at start, without echoing credentials', () => {
    assert.throws(
      () => loadConfig({ SWITCHBOARD_SMTP_URL: 'http://u:secret@x' }),
      (error: Error) => {
        assert.match(error.message, /SWITCHBOARD_SMTP_URL must be a smtp or smtps URL/);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ SWITCHBOARD_POSTMARK_URL: 'not a url' }),
      /SWITCHBOARD_POSTMARK_URL/,
    );
    assert.throws(() => loadConfig({ SWITCHBOARD_EMAIL_FROM: 'nobody' }), /SWITCHBOARD_EMAIL_FROM/);
  });
});

describe('transport selection', () => {
  const stub = (name: string): Transport => ({
    send: async () => ({
      outcome: { kind: 'response', status: 200 },
      response: name,
      statusCode: 200,
      durationMs: 0,
    }),
  });
  const transports = new Transports({
    http: stub('http'),
    nats: stub('nats'),
    email: stub('email'),
    app: stub('app'),
  });
  const send = (url: string) =>
    transports.send({ target: { url }, message: {}, now: 0 } as unknown as Delivery);

  it('picks the transport by the URL scheme, case-insensitively', async () => {
    for (const [url, name] of [
      ['https://example.com/x', 'http'],
      ['HTTP://127.0.0.1/x', 'http'],
      ['nats:a.b', 'nats'],
      ['mailto:a@example.com', 'email'],
      ['app:crm', 'app'],
    ]) {
      assert.equal((await send(url)).response, name, url);
    }
  });

  it('refuses a scheme no transport carries (not retried)', async () => {
    const result = await send('ftp://example.com/x');
    assert.equal(result.outcome.kind, 'refused');
    assert.equal(verdict(result), 'give-up');
  });
});
