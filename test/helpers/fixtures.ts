import assert from 'node:assert/strict';
import type { ApiException } from 'svix';
import { type AppId, newId } from '../../src/core/ids.js';
import { generateToken } from '../../src/platform/auth.js';
import { insertApiKey } from '../../src/store/api-keys.js';
import type { TestServer } from './server.js';

/** A bearer token scoped to one application, stored the way a real API key is (hash only). */
export async function appScopedToken(server: TestServer, appId: string): Promise<string> {
  const { token, prefix, hash } = generateToken();
  await insertApiKey(server.sb.ctx.db, {
    id: newId('apiKey'),
    name: 'app key',
    prefix,
    hash,
    appId: appId as AppId,
    scopes: null,
    createdAt: Date.now(),
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
  });
  return token;
}

export interface EndpointOptions {
  uid?: string;
  eventTypes?: string[];
  channels?: string[];
  disabled?: boolean;
}

/** An endpoint through the svix SDK (its event types are created first, as they must exist). */
export async function addEndpoint(
  server: TestServer,
  appId: string,
  options: EndpointOptions = {},
): Promise<string> {
  for (const name of options.eventTypes ?? []) {
    await server.svix.eventType
      .create({ name, description: name })
      .catch((error: ApiException<unknown>) => {
        if (error.code !== 409) throw error;
      });
  }
  const endpoint = await server.svix.endpoint.create(appId, {
    url: 'https://example.com/hook',
    ...options,
  });
  return endpoint.id;
}

/** For `assert.rejects`: the SDK call failed with this HTTP status (and error code). */
export function rejectsWith(status: number, code?: string) {
  return (error: ApiException<{ code?: string }>) => {
    assert.equal(error.code, status);
    if (code) assert.equal(error.body.code, code);
    return true;
  };
}
