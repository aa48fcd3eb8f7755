import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../core/errors.js';
import { type ApiKeyId, type AppId, newId } from '../core/ids.js';
import type { Clock } from '../core/time.js';
import { countOrgApiKeys, findApiKeyByHash, insertApiKey, touchApiKey } from '../store/api-keys.js';
import type { Database } from '../store/sql.js';

/** Who is calling: the organisation (admin) or one application (a key scoped to it). */
export type Principal =
  | { kind: 'org'; keyId: ApiKeyId | null }
  | { kind: 'app'; appId: AppId; keyId: ApiKeyId | null };

const TOKEN_PREFIX = 'sb_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new random token; only its hash and a display prefix are ever stored. */
export function generateToken(): { token: string; prefix: string; hash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, prefix: token.slice(0, TOKEN_PREFIX.length + 6), hash: hashToken(token) };
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

interface CachedKey {
  principal: Principal;
  expiresAt: number | null;
  checkedAt: number;
}

/**
 * Turns bearer tokens into principals. Lookups are cached for a few seconds so a hot API key
 * costs no query per request; a revoked key stops working within that time.
 */
export class Authenticator {
  private readonly adminHash: Buffer | undefined;
  private readonly cache = new Map<string, CachedKey>();
  private readonly lastTouched = new Map<string, number>();
  private static readonly CACHE_MS = 5_000;
  private static readonly TOUCH_EVERY_MS = 60_000;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    adminToken: string | undefined,
  ) {
    this.adminHash = adminToken ? createHash('sha256').update(adminToken).digest() : undefined;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    if (!token) throw new UnauthorizedError();
    const digest = createHash('sha256').update(token).digest();
    // Compare digests, not tokens: equal length, constant time, nothing learned from timing.
    if (this.adminHash && timingSafeEqual(digest, this.adminHash)) {
      return { kind: 'org', keyId: null };
    }
    const hash = digest.toString('hex');
    const now = this.clock();
    let cached = this.cache.get(hash);
    if (!cached || now - cached.checkedAt > Authenticator.CACHE_MS) {
      const key = await findApiKeyByHash(this.db, hash);
      if (!key || key.revokedAt !== null) {
        this.cache.delete(hash);
        throw new UnauthorizedError();
      }
      cached = {
        principal: key.appId
          ? { kind: 'app', appId: key.appId, keyId: key.id }
          : { kind: 'org', keyId: key.id },
        expiresAt: key.expiresAt,
        checkedAt: now,
      };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, cached);
    }
    if (cached.expiresAt !== null && cached.expiresAt <= now) throw new UnauthorizedError();
    const keyId = cached.principal.keyId;
    if (keyId && now - (this.lastTouched.get(keyId) ?? 0) > Authenticator.TOUCH_EVERY_MS) {
      this.lastTouched.set(keyId, now);
      await touchApiKey(this.db, keyId, now);
    }
    return cached.principal;
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }
}

/**
 * First start without `SWITCHBOARD_ADMIN_TOKEN` and without any organisation key: create one
 * and hand the token back to be printed once. Only its hash is stored.
 */
export async function bootstrapAdminKey(
  db: Database,
  clock: Clock,
  adminToken: string | undefined,
): Promise<string | undefined> {
  if (adminToken) return undefined;
  return db.transaction(async (tx) => {
    if ((await countOrgApiKeys(tx)) > 0) return undefined;
    const { token, prefix, hash } = generateToken();
    const now = clock();
    await insertApiKey(tx, {
      id: newId('apiKey', now),
      name: 'admin (created at first start)',
      prefix,
      hash,
      appId: null,
      scopes: null,
      createdAt: now,
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
    });
    return token;
  });
}
