import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TABLES = [
  'applications',
  'endpoints',
  'endpoint_old_secrets',
  'event_types',
  'messages',
  'deliveries',
  'attempts',
  'api_keys',
  'sources',
  'inbound_events',
];

async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const row = await server.sb.ctx.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

/** Every documented route, with path parameters filled from a real app/endpoint/message or junk. */
function routes(doc: { paths: Record<string, Record<string, unknown>> }) {
  const out: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        out.push({ method: method.toUpperCase(), path });
    }
  }
  return out;
}

const BAD_BODIES: { label: string; raw: string | Buffer; contentType: string }[] = [
  { label: 'malformed JSON', raw: '{"name": "x",', contentType: 'application/json' },
  { label: 'JSON array', raw: '[1,2,3]', contentType: 'application/json' },
  { label: 'JSON string', raw: '"hello"', contentType: 'application/json' },
  { label: 'JSON null', raw: 'null', contentType: 'application/json' },
  {
    label: 'wrong types',
    raw: '{"name":1,"url":false,"eventType":[],"payload":"x","since":7,"headers":3,"description":5,"archived":"x","disabled":"no"}',
    contentType: 'application/json',
  },
  {
    label: 'invalid UTF-8',
    raw: Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]),
    contentType: 'application/json',
  },
  { label: 'form body', raw: 'name=x', contentType: 'application/x-www-form-urlencoded' },
  {
    label: 'deep nesting',
    raw: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    contentType: 'application/json',
  },
];

for (const backend of await backends()) {
  describe(`bad input on every route (${backend})`, () => {
    let server: TestServer;
    let fill: Record<string, string>;
    before(async () => {
      server = await startTestServer(backend, { SWITCHBOARD_ROLE: 'api' });
      const app = await server.svix.application.create({ name: 'target', uid: 'target' });
      await server.svix.eventType.create({ name: 'thing.done', description: 'd' });
      const endpoint = await server.svix.endpoint.create(app.id, { url: 'https://example.com/h' });
      const msg = await server.svix.message.create(app.id, {
        eventType: 'thing.done',
        payload: {},
      });
      fill = {
        app_id: app.id,
        endpoint_id: endpoint.id,
        msg_id: msg.id,
        event_type_name: 'thing.done',
        attempt_id: 'atmpt_unknown',
      };
    });
    after(() => server.close());

    it('never answers 5xx, always answers JSON, and writes nothing', async () => {
      const doc = (await server.request('GET', '/api/v1/openapi.json')).json;
      const list = routes(doc);
      assert.ok(list.length > 30, `found ${list.length} routes`);
      const before = await rowCounts(server);
      const failures: string[] = [];
      const check = async (
        method: string,
        path: string,
        options: Parameters<TestServer['request']>[2],
        what: string,
      ) => {
        const response = await server.request(method, path, options);
        if (response.status >= 500 || (response.status >= 400 && response.json === undefined)) {
          failures.push(
            `${method} ${path} (${what}) → ${response.status} ${response.text.slice(0, 120)}`,
          );
        }
        return response;
      };
      for (const { method, path } of list) {
        if (path.includes('openapi') || path.includes('health')) continue;
        const real = path.replace(/\{(\w+)\}/g, (_, name: string) => fill[name] ?? 'unknown');
        const unknown = path.replace(
          /\{(\w+)\}/g,
          (_, name: string) => `${name.replace('_id', '')}_doesnotexist`,
        );
        // unknown ids, with a body that is at least an object
        await check(
          method,
          unknown,
          method === 'GET' || method === 'DELETE' ? {} : { body: {} },
          'unknown ids',
        );
        // bad tokens
        const unauth = await check(method, real, { token: 'not-a-token' }, 'bad token');
        if (unauth.status !== 401)
          failures.push(`${method} ${path} accepted a bad token: ${unauth.status}`);
        // junk query parameters of the wrong types
        await check(
          method,
          `${real}?limit=-5&iterator=%00&since=yesterday&with_content=maybe&status=x`,
          {},
          'bad query',
        );
        if (method === 'GET' || method === 'DELETE') continue;
        for (const body of BAD_BODIES) {
          const response = await check(
            method,
            real,
            { rawBody: body.raw, headers: { 'content-type': body.contentType } },
            body.label,
          );
          if (response.status < 400 && body.label !== 'JSON null') {
            failures.push(`${method} ${path} accepted ${body.label}: ${response.status}`);
          }
        }
        await check(
          method,
          real,
          {
            rawBody: `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}`,
            headers: { 'content-type': 'application/json' },
          },
          'oversized',
        );
      }
      assert.deepEqual(failures, []);
      assert.deepEqual(await rowCounts(server), before, 'no row was written or removed');
      const health = await server.request('GET', '/api/v1/health', { token: null });
      assert.equal(health.status, 200, 'still healthy');
    });
  });
}
