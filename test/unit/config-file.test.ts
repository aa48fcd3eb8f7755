// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the syntax under test
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigFileError,
  formatPath,
  parseConfigFile,
  parseConfigText,
  substitute,
} from '../../src/declarative/config-file.js';

const TOKEN = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5'.slice(0, 43);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The error a text raises, or a failure. */
function errorOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigFileError {
  try {
    parseConfigText(text, 'switchboard.yaml', { env });
  } catch (error) {
    assert.ok(error instanceof ConfigFileError, `a ConfigFileError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the file to be refused');
}

describe('config file: ${ENV} substitution', () => {
  it('replaces ${NAME} and ${NAME:-default}, in any string value, never in keys', () => {
    const env = { HOST: 'hooks.example.com', EMPTY: '', TOKEN };
    assert.equal(substitute('https://${HOST}/x', env), 'https://hooks.example.com/x');
    assert.equal(substitute('${MISSING:-fallback}', env), 'fallback');
    assert.equal(substitute('${EMPTY:-fallback}', env), 'fallback', 'empty takes the default');
    assert.equal(substitute('${EMPTY}', env), '', 'set but empty is empty');
    assert.equal(substitute('${HOST:-}', env), 'hooks.example.com');
    assert.equal(substitute('${MISSING:-}', env), '');
    assert.equal(substitute('a $${HOST} b', env), 'a ${HOST} b', '$${ is a literal ${');
    assert.equal(substitute('cost: $5, ${HOST}', env), 'cost: $5, hooks.example.com');
    assert.throws(() => substitute('${MISSING}', env), /environment variable MISSING is not set/);
    assert.throws(() => substitute('${1BAD}', env), /invalid reference/);
    assert.throws(() => substitute('${OPEN', env), /unterminated/);

    const { config } = parseConfigText(
      [
        'sources:',
        '  - uid: gumroad',
        '    name: ${NAME:-Gumroad store}',
        '    type: gumroad',
        '    token: ${TOKEN}',
        '    config: { secret: "${URL_SECRET:-s3cret}" }',
        '    mapping:',
        '      payload: { source: { const: "${SOURCE:-gumroad}" }, "${KEY}": sale_id }',
      ].join('\n'),
      'switchboard.yaml',
      { env },
    );
    const source = config.sources?.[0];
    assert.equal(source?.name, 'Gumroad store');
    assert.equal(source?.token, TOKEN);
    assert.deepEqual(source?.config, { secret: 's3cret' });
    assert.deepEqual(source?.mapping, {
      payload: { source: { const: 'gumroad' }, '${KEY}': 'sale_id' },
    });
  });

  it('names every unset variable with its YAML path and line, never a value', () => {
    const error = errorOf(
      [
        'applications:',
        '  - uid: acme',
        '    name: Acme',
        '    endpoints:',
        '      - uid: main',
        '        url: https://${RECEIVER_HOST}/hooks',
        '        secret: ${ACME_SECRET}',
      ].join('\n'),
      { RECEIVER_HOST: 'example.com' },
    );
    assert.equal(
      error.message,
      'switchboard.yaml:7: applications[0].endpoints[0].secret: environment variable ACME_SECRET is not set',
    );
  });
});

describe('config file: checks', () => {
  it('accepts every key of the reference', () => {
    const { config } = parseConfigText(
      `
eventTypes:
  - name: licence.sale
    description: A licence was sold
    schema: { type: object, properties: { saleId: { type: string } } }
  - name: old.event
    archived: true
applications:
  - uid: acme
    name: Acme Inc
    metadata: { plan: pro }
    throttleRate: 100
    endpoints:
      - uid: main
        url: https://acme.example.com/webhooks
        description: Production
        filterTypes: [licence.sale]
        channels: [eu]
        secret: ${SECRET}
        headers: { x-team: licences }
        disabled: false
        rateLimit: 10
sources:
  - uid: gumroad
    name: Gumroad
    type: gumroad
    config: { sellerId: seller-1, dedupWindowSeconds: 3600 }
    token: ${TOKEN}
    metadata: { team: shop }
    mapping:
      eventTypes: { sale: licence.sale, "*": gumroad.other }
      lookups:
        tier: { from: product_id, table: { prod_basic: basic, prod_pro: pro } }
      payload:
        saleId: sale_id
        email: { path: email }
        tier: { lookup: tier }
        source: { const: gumroad }
    endpoints:
      - uid: receiver
        url: http://127.0.0.1:9000/licences
        description: Licence service
        filterTypes: [licence.sale]
        secret: ${SECRET}
        headers: { x-from: switchboard }
        disabled: false
        rateLimit: 5
  - uid: github
    name: GitHub
    type: github
    config: { secret: "It's a Secret to Everybody" }
    mapping: null
`,
      'switchboard.yaml',
      { env: {} },
    );
    assert.equal(config.eventTypes?.length, 2);
    assert.equal(config.applications?.[0]?.endpoints?.[0]?.rateLimit, 10);
    assert.equal(config.sources?.[0]?.endpoints?.[0]?.uid, 'receiver');
    assert.equal(config.sources?.[1]?.mapping, null);
  });

  it('an empty file declares nothing', () => {
    assert.deepEqual(parseConfigText('', 'empty.yaml').config, {});
    assert.deepEqual(parseConfigText('# nothing yet\n', 'empty.yaml').config, {});
  });

  it("refuses a provider config that misses a required field, at the config's path", () => {
    const error = errorOf(
      [
        'sources:',
        '  - uid: stripe',
        '    name: Stripe',
        '    type: stripe',
        '    config: {}',
      ].join('\n'),
    );
    assert.equal(error.message, 'switchboard.yaml:5: sources[0].config.secret: required');
    assert.deepEqual(error.issues[0]?.path, ['sources', 0, 'config', 'secret']);
  });

  it('refuses unknown keys, wrong types, missing keys, each with its path', () => {
    const error = errorOf(
      [
        'eventTypes:',
        '  - name: a.b',
        '    descripton: typo',
        'applications:',
        '  - uid: acme',
        '    throttleRate: fast',
        'sources:',
        '  - name: No uid',
        '    type: gumroad',
        'routes: []',
      ].join('\n'),
    );
    const lines = error.message.split('\n');
    assert.ok(
      lines.includes('switchboard.yaml:3: eventTypes[0].descripton: unknown key'),
      lines.join('\n'),
    );
    assert.ok(lines.includes('switchboard.yaml:5: applications[0].name: required'));
    assert.ok(
      lines.some((line) =>
        line.startsWith('switchboard.yaml:6: applications[0].throttleRate: Expected'),
      ),
    );
    assert.ok(lines.includes('switchboard.yaml:8: sources[0].uid: required'));
    assert.ok(lines.includes('switchboard.yaml:10: routes: unknown key'));
  });

  it('refuses unknown source types, bad tokens, bad secrets, id-like and duplicate uids', () => {
    const error = errorOf(
      `
applications:
  - { uid: acme, name: Acme, endpoints: [{ uid: a, url: "https://a.example" }, { uid: a, url: "https://b.example", secret: nope }] }
  - { uid: app_123, name: Id-like }
sources:
  - { uid: one, name: One, type: carrier-pigeon }
  - { uid: two, name: Two, type: gumroad, token: too-short }
  - { uid: two, name: Again, type: gumroad }
`,
    );
    const messages = error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    assert.deepEqual(
      messages.sort(),
      [
        'applications[0].endpoints[1].uid: duplicate uid "a" (also at applications[0].endpoints[0])',
        'applications[0].endpoints[1].secret: must start with whsec_ (or whsk_ for ed25519)',
        'applications[1].uid: must not start with "app_" (an id prefix)',
        'sources[2].uid: duplicate uid "two" (also at sources[1])',
        'sources[0].type: unknown source type "carrier-pigeon"',
        'sources[1].token: must be 43 base64url characters (A-Z a-z 0-9 - _), like a generated token: e.g. `openssl rand -base64 32 | tr "+/" "-_" | tr -d "="`',
      ].sort(),
    );
    assert.ok(!error.message.includes('nope'), 'a secret value is never echoed');
  });

  it("refuses a bad mapping with the mapping module's messages, at the mapping's path", () => {
    const error = errorOf(
      `
sources:
  - uid: gumroad
    name: Gumroad
    type: gumroad
    mapping:
      payload:
        tier: { lookup: tier }
        email: { path: email, extra: 1 }
`,
    );
    const messages = error.issues.map((issue) => formatPath(issue.path));
    assert.ok(messages.includes('sources[0].mapping.payload.tier.lookup'), messages.join('\n'));
    assert.ok(messages.includes('sources[0].mapping.payload.email.extra'), messages.join('\n'));
    assert.match(error.message, /no lookup named "tier"/);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    const syntax = errorOf('sources:\n  - uid: a\n   name: bad indent\n');
    assert.match(syntax.message, /^switchboard\.yaml:3: \(root\): /);
    const duplicate = errorOf('eventTypes: []\neventTypes: []\n');
    assert.match(duplicate.message, /^switchboard\.yaml:2: \(root\): Map keys must be unique/);
    const notAMap = errorOf('- a\n- b\n');
    assert.match(notAMap.message, /must be a mapping of eventTypes, applications, sources/);
  });

  it('names the file when it cannot be read, and parses one that can', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    try {
      const missing = join(dir, 'missing.yaml');
      assert.throws(
        () => parseConfigFile(missing),
        (error: unknown) =>
          error instanceof ConfigFileError &&
          error.message.startsWith(`${missing}: (root): cannot read the file`),
      );
      const path = join(dir, 'switchboard.yaml');
      writeFileSync(path, 'eventTypes:\n  - name: a.b\n');
      const parsed = parseConfigFile(path);
      assert.equal(parsed.file, path);
      assert.deepEqual(parsed.config.eventTypes, [{ name: 'a.b' }]);
      assert.equal(parsed.lineOf(['eventTypes', 0, 'name']), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
