import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { findProvider } from '../../../src/inbound/providers/index.js';
import { SVIX_FAMILY_TYPES } from '../../../src/inbound/providers/svix-family.js';
import { svixSdkProviders } from '../../../src/inbound/providers/svix-types.js';
import { assertFails, assertOk, BODY, NOW, provider, request } from './svix-types.helpers.js';

/** The 44 `type` strings of svix-ingest.md §4, in SDK order. */
const SDK_TYPES = [
  'generic-webhook',
  'cron',
  'adobe-sign',
  'beehiiv',
  'brex',
  'checkbook',
  'clerk',
  'docusign',
  'easypost',
  'github',
  'guesty',
  'hubspot',
  'incident-io',
  'lithic',
  'merge',
  'meta',
  'nango',
  'nash',
  'openclaw',
  'orum-io',
  'panda-doc',
  'port-io',
  'pleo',
  'psi-fi',
  'replicate',
  'resend',
  'rutter',
  'safebase',
  'sardine',
  'segment',
  'shopify',
  'slack',
  'stripe',
  'stych',
  'svix',
  'zoom',
  'tailscale',
  'telnyx',
  'vapi',
  'open-ai',
  'render',
  'veriff',
  'airwallex',
  'vgs',
];

/** Config fields of svix-ingest.md §4.1: name → required. */
const SECRET_REQUIRED = { secret: true };
const SECRET_OPTIONAL = { secret: false };
const EXPECTED_FIELDS: Record<string, Record<string, boolean>> = {
  'generic-webhook': {},
  cron: { schedule: true, payload: true, contentType: false },
  'adobe-sign': { clientId: true },
  ...Object.fromEntries(SVIX_FAMILY_TYPES.map((type) => [type, SECRET_REQUIRED])),
  airwallex: SECRET_REQUIRED,
  checkbook: SECRET_REQUIRED,
  docusign: SECRET_OPTIONAL,
  easypost: SECRET_OPTIONAL,
  github: SECRET_OPTIONAL,
  hubspot: SECRET_OPTIONAL,
  merge: SECRET_REQUIRED,
  meta: { secret: true, verifyToken: true },
  nango: SECRET_REQUIRED,
  openclaw: SECRET_REQUIRED,
  'orum-io': { publicKey: true },
  'panda-doc': SECRET_REQUIRED,
  'port-io': SECRET_REQUIRED,
  rutter: SECRET_REQUIRED,
  segment: SECRET_OPTIONAL,
  shopify: SECRET_REQUIRED,
  slack: SECRET_REQUIRED,
  stripe: SECRET_REQUIRED,
  tailscale: { secret: true, timestampGraceSeconds: false },
  telnyx: { publicKey: true },
  vapi: SECRET_REQUIRED,
  veriff: SECRET_REQUIRED,
  vgs: SECRET_REQUIRED,
  zoom: SECRET_REQUIRED,
};

/** Types whose scheme signs a timestamp: they also take an optional `toleranceSeconds`. */
const TIMESTAMPED = new Set([
  ...SVIX_FAMILY_TYPES,
  'airwallex',
  'hubspot',
  'port-io',
  'slack',
  'stripe',
  'tailscale',
  'telnyx',
  'zoom',
]);

const SDK_MODELS = new URL('../../../node_modules/svix/src/models/', import.meta.url);

/** `type` → config interface fields (name → required), read from the installed SDK source. */
function sdkConfigFields(): Map<string, Record<string, boolean>> {
  const source = readFileSync(new URL('ingestSourceIn.ts', SDK_MODELS), 'utf8');
  const result = new Map<string, Record<string, boolean>>();
  const cases = /case "([a-z-]+)":\s*return ([^;]+);/g;
  for (const [, type, expression] of source.matchAll(cases)) {
    if (expression === '{}') {
      result.set(type as string, {});
      continue;
    }
    const serializer = /^(\w+)Serializer\._fromJsonObject/.exec(expression as string)?.[1];
    assert.ok(serializer, `config serializer of ${type}`);
    const file = `${serializer[0]?.toLowerCase()}${serializer.slice(1)}.ts`;
    const model = readFileSync(new URL(file, SDK_MODELS), 'utf8');
    const body = new RegExp(`export interface ${serializer} \\{([\\s\\S]*?)\\n\\}`).exec(
      model,
    )?.[1];
    assert.ok(body !== undefined, `interface ${serializer}`);
    const fields: Record<string, boolean> = {};
    for (const [, name, optional] of body.matchAll(/^ {2}(\w+)(\?)?:/gm)) {
      fields[name as string] = optional !== '?';
    }
    result.set(type as string, fields);
  }
  return result;
}

function schemaFields(schema: TSchema): Record<string, boolean> {
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  return Object.fromEntries(Object.keys(properties).map((name) => [name, required.has(name)]));
}

describe('svixSdkProviders registry', () => {
  it('lists every type of svix-ingest.md §4 exactly once, and nothing else', () => {
    const types = svixSdkProviders.map((p) => p.type);
    assert.equal(types.length, 44);
    assert.equal(new Set(types).size, 44, 'no type twice');
    assert.deepEqual([...types].sort(), [...SDK_TYPES].sort());
  });

  it('matches the type strings of the installed svix SDK', () => {
    const sdk = [...sdkConfigFields().keys()].sort();
    assert.equal(sdk.length, 44);
    assert.deepEqual(svixSdkProviders.map((p) => p.type).sort(), sdk);
  });

  it('is what the provider index resolves for each of these types', () => {
    for (const p of svixSdkProviders) assert.equal(findProvider(p.type), p, p.type);
  });

  for (const type of SDK_TYPES) {
    it(`${type}: config schema has exactly the SDK's fields (+ toleranceSeconds when timestamped)`, () => {
      const p = provider(type);
      assert.equal((p.configSchema as { type?: string }).type, 'object');
      assert.equal(
        (p.configSchema as { additionalProperties?: boolean }).additionalProperties,
        false,
      );
      const fields = schemaFields(p.configSchema);
      const expected: Record<string, boolean> = { ...EXPECTED_FIELDS[type] };
      if (TIMESTAMPED.has(type)) expected.toleranceSeconds = false;
      assert.deepEqual(fields, expected);
      const sdk = sdkConfigFields().get(type);
      const ours = { ...fields };
      delete ours.toleranceSeconds;
      assert.deepEqual(ours, sdk, 'same fields and required-ness as the SDK interface');
      for (const name of p.secretFields) assert.ok(name in fields, `${name} is a config field`);
    });
  }
});

describe('config schemas', () => {
  it('accept what the SDK sends and refuse unknown fields', () => {
    const stripe = provider('stripe').configSchema;
    assert.ok(Value.Check(stripe, { secret: 'whsec_x' }));
    assert.ok(Value.Check(stripe, { secret: 'whsec_x', toleranceSeconds: 600 }));
    assert.ok(!Value.Check(stripe, {}));
    assert.ok(!Value.Check(stripe, { secret: 'whsec_x', extra: 1 }));
    assert.ok(!Value.Check(stripe, { secret: '' }));
    assert.ok(!Value.Check(stripe, { secret: 'whsec_x', toleranceSeconds: -1 }));
  });

  it('take explicit null for the SDK fields that are nullable', () => {
    for (const type of ['docusign', 'easypost', 'github', 'hubspot', 'segment']) {
      const schema = provider(type).configSchema;
      assert.ok(Value.Check(schema, {}), type);
      assert.ok(Value.Check(schema, { secret: null }), type);
      assert.ok(Value.Check(schema, { secret: 's3cret' }), type);
    }
    const cron = provider('cron').configSchema;
    assert.ok(Value.Check(cron, { schedule: '*/5 * * * *', payload: '{}', contentType: null }));
    assert.ok(Value.Check(cron, { schedule: 'hello', payload: 'world' }));
    assert.ok(!Value.Check(cron, { schedule: 'hello' }));
    const tailscale = provider('tailscale').configSchema;
    assert.ok(Value.Check(tailscale, { secret: 's', timestampGraceSeconds: null }));
    assert.ok(Value.Check(tailscale, { secret: 's', timestampGraceSeconds: 60 }));
    assert.ok(!Value.Check(tailscale, { secret: 's', timestampGraceSeconds: -1 }));
  });

  it('generic-webhook takes only {}', () => {
    const schema = provider('generic-webhook').configSchema;
    assert.ok(Value.Check(schema, {}));
    assert.ok(!Value.Check(schema, { secret: 'x' }));
  });

  it('checks key formats where a malformed key could never verify', () => {
    assert.ok(!Value.Check(provider('svix').configSchema, { secret: 'whsec_not base64!' }));
    assert.ok(
      Value.Check(provider('svix').configSchema, {
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      }),
    );
    assert.ok(!Value.Check(provider('telnyx').configSchema, { publicKey: 'abc' }));
  });

  it('lists as secrets every secret field and no public key', () => {
    assert.deepEqual(provider('meta').secretFields, ['secret', 'verifyToken']);
    assert.deepEqual(provider('orum-io').secretFields, []);
    assert.deepEqual(provider('telnyx').secretFields, []);
    assert.deepEqual(provider('cron').secretFields, []);
    assert.deepEqual(provider('generic-webhook').secretFields, []);
    assert.deepEqual(provider('adobe-sign').secretFields, ['clientId']);
  });
});

describe('generic-webhook and cron', () => {
  it('generic-webhook accepts anything, names no event', () => {
    const p = provider('generic-webhook');
    assertOk(p.verify(request({ body: BODY }), {}, NOW));
    assertOk(p.verify(request({ body: 'not json' }), {}, NOW));
    assert.equal(p.eventId(request({ body: BODY })), undefined);
    assert.equal(p.eventType(request({ body: BODY })), undefined);
  });

  it('cron refuses every request with a clear reason', () => {
    const p = provider('cron');
    const config = { schedule: '0 * * * *', payload: '{}' };
    assertFails(p.verify(request({ body: BODY }), config, NOW), /cron source is scheduled/);
    assertFails(p.verify(request({ method: 'GET' }), config, NOW), /not inbound/);
    assert.equal(p.handshake, undefined);
  });
});

describe('event extraction never throws on malformed bodies', () => {
  const bodies = [
    '',
    'not json',
    '{"id":',
    '[1,2',
    'null',
    '42',
    '"str"',
    '[]',
    '[null]',
    '{"id":{}}',
  ];
  for (const p of svixSdkProviders) {
    it(p.type, () => {
      for (const body of bodies) {
        const r = request({ body, headers: { 'content-type': 'application/json' } });
        const id = p.eventId(r);
        const type = p.eventType(r);
        assert.ok(id === undefined || typeof id === 'string');
        assert.ok(type === undefined || typeof type === 'string');
      }
    });
  }
});
