import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import {
  applyMapping,
  type Mapping,
  MappingSchema,
  mapEventType,
  parseBody,
  validateMapping,
  valueAt,
} from '../../src/inbound/mapping.js';

const FORM = 'application/x-www-form-urlencoded';

/** A Gumroad Ping as Gumroad sends it: form-encoded, bracketed keys kept flat. */
const GUMROAD_SALE = [
  'seller_id=seller_123',
  'product_id=prod_pro',
  'product_name=Switchboard+Pro',
  'permalink=sb-pro',
  'email=buyer%40example.com',
  'full_name=Ada+Lovelace',
  'price=4900',
  'currency=usd',
  'quantity=1',
  'sale_id=sale_abc%3D%3D',
  'sale_timestamp=2024-05-01T10%3A00%3A00Z',
  'variants%5BTier%5D=Team',
  'url_params%5Bsource%5D=newsletter',
  'test=false',
].join('&');

const gumroadMapping: Mapping = {
  eventTypes: { sale: 'licence.sale', refund: 'licence.refund', '*': 'gumroad.other' },
  lookups: {
    tier: { from: 'product_id', table: { prod_basic: 'basic', prod_pro: 'pro' } },
    seats: { from: 'variants[Tier]', table: { Solo: 1, Team: 5 }, default: 1 },
  },
  payload: {
    saleId: 'sale_id',
    email: { path: 'email' },
    tier: { lookup: 'tier' },
    seats: { lookup: 'seats' },
    source: { const: 'gumroad' },
    campaign: 'url_params[source]',
    customer: { object: { name: 'full_name', email: 'email' } },
    coupon: { path: 'offer_code', default: 'none' },
    missing: 'nothing_here',
  },
};

const stripeEvent = {
  id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
  object: 'event',
  type: 'invoice.paid',
  data: {
    object: {
      id: 'in_1',
      customer: 'cus_9',
      amount_paid: 2000,
      lines: { data: [{ price: { id: 'price_pro', lookup_key: 'pro' } }, { price: { id: 'x' } }] },
      metadata: { 'order.ref': 'A-17' },
    },
  },
};

function json(result: ReturnType<typeof applyMapping>) {
  assert.ok(result.ok, result.ok ? '' : result.error);
  return JSON.parse(result.body.toString('utf8'));
}

describe('applyMapping', () => {
  it('projects a form-encoded Gumroad sale with lookups, constants and nesting', () => {
    const result = applyMapping(gumroadMapping, {
      eventType: 'sale',
      body: Buffer.from(GUMROAD_SALE),
      contentType: FORM,
    });
    assert.ok(result.ok);
    assert.equal(result.eventType, 'licence.sale');
    assert.deepEqual(json(result), {
      saleId: 'sale_abc==',
      email: 'buyer@example.com',
      tier: 'pro',
      seats: 5,
      source: 'gumroad',
      campaign: 'newsletter',
      customer: { name: 'Ada Lovelace', email: 'buyer@example.com' },
      coupon: 'none',
      missing: null,
    });
  });

  it('keeps the field order of the projection in the JSON text', () => {
    const result = applyMapping(
      { payload: { b: 'b', a: 'a' } },
      { eventType: null, body: Buffer.from('a=1&b=2'), contentType: FORM },
    );
    assert.ok(result.ok);
    assert.equal(result.body.toString(), '{"b":"2","a":"1"}');
  });

  it('fails an unmapped product without a default, naming the lookup and the value', () => {
    const body = Buffer.from(GUMROAD_SALE.replace('prod_pro', 'xyz'));
    const result = applyMapping(gumroadMapping, { eventType: 'sale', body, contentType: FORM });
    assert.deepEqual(result, { ok: false, error: 'lookup tier: no entry for product_id = "xyz"' });
  });

  it('fails a missing lookup value without a default (null in the message)', () => {
    const body = Buffer.from('sale_id=1&email=a%40b.c');
    const result = applyMapping(gumroadMapping, { eventType: 'sale', body, contentType: FORM });
    assert.deepEqual(result, { ok: false, error: 'lookup tier: no entry for product_id = null' });
  });

  it('uses a lookup default for a missing or unmapped value', () => {
    const mapping: Mapping = {
      lookups: { tier: { from: 'product_id', table: { p: 'pro' }, default: 'basic' } },
      payload: { tier: { lookup: 'tier' } },
    };
    for (const body of ['product_id=other', 'x=1', 'product_id=']) {
      assert.deepEqual(
        json(
          applyMapping(mapping, { eventType: null, body: Buffer.from(body), contentType: FORM }),
        ),
        { tier: 'basic' },
        body,
      );
    }
    assert.deepEqual(
      json(
        applyMapping(mapping, {
          eventType: null,
          body: Buffer.from('product_id=p'),
          contentType: FORM,
        }),
      ),
      { tier: 'pro' },
    );
  });

  it('does not evaluate lookups the projection does not use', () => {
    const mapping: Mapping = {
      lookups: { strict: { from: 'nope', table: {} } },
      payload: { id: 'id' },
    };
    assert.deepEqual(
      json(
        applyMapping(mapping, {
          eventType: null,
          body: Buffer.from('{"id":7}'),
          contentType: 'application/json',
        }),
      ),
      { id: 7 },
    );
  });

  it('looks up numbers and booleans by their text; never by inherited keys', () => {
    const mapping: Mapping = {
      lookups: {
        n: { from: 'n', table: { '42': 'answer' } },
        b: { from: 'b', table: { true: 'yes' } },
        proto: { from: 'k', table: {} },
      },
      payload: { n: { lookup: 'n' }, b: { lookup: 'b' } },
    };
    assert.deepEqual(
      json(
        applyMapping(mapping, {
          eventType: null,
          body: Buffer.from('{"n":42,"b":true}'),
          contentType: undefined,
        }),
      ),
      { n: 'answer', b: 'yes' },
    );
    const inherited = applyMapping(
      { lookups: mapping.lookups, payload: { p: { lookup: 'proto' } } },
      { eventType: null, body: Buffer.from('{"k":"constructor"}'), contentType: undefined },
    );
    assert.deepEqual(inherited, {
      ok: false,
      error: 'lookup proto: no entry for k = "constructor"',
    });
  });

  it('projects a Stripe JSON event: dotted paths, array indexes, dotted keys', () => {
    const mapping: Mapping = {
      eventTypes: { 'invoice.paid': 'billing.invoice_paid' },
      lookups: {
        plan: { from: 'data.object.lines.data.0.price.id', table: { price_pro: 'pro' } },
      },
      payload: {
        invoice: 'data.object.id',
        customer: 'data.object.customer',
        amount: 'data.object.amount_paid',
        firstLookupKey: 'data.object.lines.data.0.price.lookup_key',
        secondLookupKey: 'data.object.lines.data.1.price.lookup_key',
        outOfRange: 'data.object.lines.data.9.price.id',
        notAnIndex: 'data.object.lines.data.first',
        lines: 'data.object.lines.data',
        orderRef: 'data.object.metadata.order.ref',
        plan: { lookup: 'plan' },
      },
    };
    const result = applyMapping(mapping, {
      eventType: 'invoice.paid',
      body: Buffer.from(JSON.stringify(stripeEvent)),
      contentType: 'application/json; charset=utf-8',
    });
    assert.ok(result.ok);
    assert.equal(result.eventType, 'billing.invoice_paid');
    assert.deepEqual(json(result), {
      invoice: 'in_1',
      customer: 'cus_9',
      amount: 2000,
      firstLookupKey: 'pro',
      secondLookupKey: null,
      outOfRange: null,
      notAnIndex: null,
      lines: stripeEvent.data.object.lines.data,
      orderRef: 'A-17',
      plan: 'pro',
    });
  });

  it('forwards the body byte for byte when there is no payload projection', () => {
    const body = Buffer.from('{"a":  1.0 ,"z":"\\u00e9"}\n');
    const result = applyMapping(
      { eventTypes: { push: 'code.pushed' } },
      { eventType: 'push', body, contentType: 'application/json' },
    );
    assert.ok(result.ok);
    assert.equal(result.eventType, 'code.pushed');
    assert.equal(result.body, body, 'the same buffer');
    const binary = Buffer.from([0xff, 0x00, 0x7b]);
    const raw = applyMapping(
      { eventTypes: {} },
      { eventType: null, body: binary, contentType: undefined },
    );
    assert.ok(raw.ok && raw.body.equals(binary));
  });

  it('with no mapping, changes nothing', () => {
    const body = Buffer.from('whatever');
    assert.deepEqual(applyMapping(null, { eventType: 'x', body, contentType: undefined }), {
      ok: true,
      eventType: 'x',
      body,
    });
  });

  it('maps event types: exact rule, then "*", else the provider type', () => {
    const mapping: Mapping = { eventTypes: { sale: 'licence.sale', '*': 'gumroad.other' } };
    assert.equal(mapEventType(mapping, 'sale'), 'licence.sale');
    assert.equal(mapEventType(mapping, 'refund'), 'gumroad.other');
    assert.equal(mapEventType(mapping, null), 'gumroad.other');
    assert.equal(mapEventType({ eventTypes: { sale: 'licence.sale' } }, 'refund'), 'refund');
    assert.equal(mapEventType({ eventTypes: { sale: 'licence.sale' } }, null), null);
    assert.equal(mapEventType({ eventTypes: { sale: 'x' } }, 'toString'), 'toString');
    assert.equal(mapEventType(null, 'sale'), 'sale');
  });

  it('refuses a body that is neither JSON nor form-encoded when projecting', () => {
    const mapping: Mapping = { payload: { a: 'a' } };
    for (const [body, contentType] of [
      ['<xml/>', 'application/xml'],
      ['not json', 'application/json'],
      ['plain words here', undefined],
      [Buffer.from([0xff, 0xfe]), FORM],
    ] as const) {
      const result = applyMapping(mapping, {
        eventType: null,
        body: Buffer.isBuffer(body) ? body : Buffer.from(body),
        contentType,
      });
      assert.deepEqual(result, { ok: false, error: 'body is not JSON or form-encoded' });
    }
  });

  it('parses a form without a content type when it looks like one; repeated keys → arrays', () => {
    assert.deepEqual(
      { ...(parseBody(Buffer.from('a=1&b=x+y&a=2'), undefined) as object) },
      {
        a: ['1', '2'],
        b: 'x y',
      },
    );
    const mapping: Mapping = { payload: { first: 'a.0', second: 'a.1', all: 'a' } };
    assert.deepEqual(
      json(
        applyMapping(mapping, { eventType: null, body: Buffer.from('a=1&a=2'), contentType: FORM }),
      ),
      { first: '1', second: '2', all: ['1', '2'] },
    );
  });

  it('prefers JSON when a form-typed body parses as JSON', () => {
    assert.deepEqual(parseBody(Buffer.from('{"a":1}'), FORM), { a: 1 });
  });

  it('projects over a JSON array body and scalars', () => {
    const mapping: Mapping = { payload: { first: '0.id', len: 'length' } };
    assert.deepEqual(
      json(
        applyMapping(mapping, {
          eventType: null,
          body: Buffer.from('[{"id":"a"}]'),
          contentType: undefined,
        }),
      ),
      { first: 'a', len: null },
    );
    assert.deepEqual(
      json(
        applyMapping(
          { payload: { x: 'x' } },
          { eventType: null, body: Buffer.from('3'), contentType: undefined },
        ),
      ),
      { x: null },
    );
  });

  it('a path default applies only to a missing value, not to null', () => {
    const mapping: Mapping = {
      payload: { a: { path: 'a', default: 'd' }, b: { path: 'b', default: 0 } },
    };
    assert.deepEqual(
      json(
        applyMapping(mapping, {
          eventType: null,
          body: Buffer.from('{"a":null}'),
          contentType: undefined,
        }),
      ),
      { a: null, b: 0 },
    );
  });

  it('outputs a field named like a prototype key as plain data', () => {
    const result = applyMapping(
      { payload: { constructor: 'a', toString: { const: 1 } } },
      { eventType: null, body: Buffer.from('{"a":2}'), contentType: undefined },
    );
    assert.ok(result.ok);
    assert.equal(result.body.toString(), '{"constructor":2,"toString":1}');
  });
});

describe('valueAt', () => {
  it('walks objects and arrays; finds keys that contain dots', () => {
    const root = { a: { 'b.c': { d: 1 } }, 'x.y': 2, list: [[0, 1]] };
    assert.equal(valueAt(root, 'a.b.c.d'), 1);
    assert.equal(valueAt(root, 'x.y'), 2);
    assert.equal(valueAt(root, 'list.0.1'), 1);
    assert.equal(valueAt(root, 'list.-1'), undefined);
    assert.equal(valueAt(root, 'a.toString'), undefined);
    assert.equal(valueAt(root, 'a.b'), undefined);
  });
});

describe('validateMapping', () => {
  const valid = (value: unknown) => assert.deepEqual(validateMapping(value), []);
  const issues = (value: unknown) => validateMapping(value, ['body']);

  it('accepts the documented shapes, and TypeBox agrees', () => {
    valid(gumroadMapping);
    valid({});
    valid({ eventTypes: {} });
    valid({ payload: { deep: { object: { a: { object: { b: 'x' } } } } } });
    valid({ lookups: { t: { from: 'a', table: {}, default: null } }, payload: {} });
    assert.ok(Value.Check(MappingSchema, gumroadMapping));
  });

  it('refuses what is not an object', () => {
    for (const value of [null, [], 'x', 3]) {
      assert.equal(issues(value).length, 1);
      assert.deepEqual(issues(value)[0].loc, ['body']);
    }
  });

  it('refuses unknown keys at every level, with their location', () => {
    assert.deepEqual(issues({ eventType: {} }), [
      { loc: ['body', 'eventType'], msg: 'unknown key (expected eventTypes, lookups or payload)' },
    ]);
    assert.deepEqual(issues({ lookups: { t: { from: 'a', table: {}, fallback: 'x' } } })[0].loc, [
      'body',
      'lookups',
      't',
      'fallback',
    ]);
    assert.deepEqual(issues({ payload: { a: { path: 'a', lookup: 't' } } })[0].loc, [
      'body',
      'payload',
      'a',
    ]);
    assert.deepEqual(issues({ payload: { a: { const: 1, default: 2 } } })[0].loc, [
      'body',
      'payload',
      'a',
      'default',
    ]);
    assert.deepEqual(issues({ payload: { a: { object: { b: { pth: 'x' } } } } })[0].loc, [
      'body',
      'payload',
      'a',
      'object',
      'b',
    ]);
  });

  it('refuses empty names and bad paths', () => {
    assert.deepEqual(issues({ payload: { '': 'a' } })[0], {
      loc: ['body', 'payload', ''],
      msg: 'names must not be empty',
    });
    assert.match(issues({ payload: { a: '' } })[0].msg, /empty/);
    assert.match(issues({ payload: { a: 'x..y' } })[0].msg, /empty segment/);
    assert.match(issues({ payload: { a: { path: '.x' } } })[0].msg, /empty segment/);
    assert.match(issues({ lookups: { '': { from: 'a', table: {} } } })[0].msg, /empty/);
    assert.match(issues({ eventTypes: { '': 'a' } })[0].msg, /empty/);
    assert.deepEqual(issues(JSON.parse('{"payload":{"__proto__":"a"}}'))[0], {
      loc: ['body', 'payload', '__proto__'],
      msg: 'the name __proto__ is not allowed',
    });
  });

  it('refuses bad event type rules', () => {
    assert.deepEqual(issues({ eventTypes: { sale: 'has space' } })[0].loc, [
      'body',
      'eventTypes',
      'sale',
    ]);
    assert.match(issues({ eventTypes: { sale: 3 } })[0].msg, /not a number/);
    assert.match(issues({ eventTypes: ['a'] })[0].msg, /not an array/);
  });

  it('refuses bad lookups and references to lookups that do not exist', () => {
    assert.deepEqual(issues({ lookups: { t: { table: {} } } })[0], {
      loc: ['body', 'lookups', 't', 'from'],
      msg: 'field required',
    });
    assert.match(issues({ lookups: { t: { from: 'a', table: [] } } })[0].msg, /not an array/);
    assert.match(issues({ lookups: { t: 'a' } })[0].msg, /not a string/);
    assert.deepEqual(issues({ payload: { tier: { lookup: 'tier' } } })[0], {
      loc: ['body', 'payload', 'tier', 'lookup'],
      msg: 'no lookup named "tier" in lookups',
    });
  });

  it('refuses field shapes it does not know', () => {
    assert.match(issues({ payload: { a: 3 } })[0].msg, /must be a path or one of/);
    assert.match(issues({ payload: { a: {} } })[0].msg, /must have one of/);
    assert.match(issues({ payload: { a: { path: 3 } } })[0].msg, /must be a path/);
    assert.match(issues({ payload: { a: { object: 'x' } } })[0].msg, /must be an object/);
    assert.match(issues({ payload: [] })[0].msg, /not an array/);
  });

  it('bounds nesting and the number of issues reported', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 12; i++) deep = { object: { f: deep } };
    assert.match(issues({ payload: { f: deep } })[0].msg, /nested deeper/);
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, 3]));
    assert.equal(issues({ payload: many }).length, 20);
  });
});
