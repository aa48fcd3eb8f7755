import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/platform/config.js';
import { parseMasterKey, SecretBox } from '../../src/platform/secret-box.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, 'sqlite:./data/switchboard.db');
    assert.equal(config.role, 'all');
    assert.deepEqual(config.retryScheduleSeconds, [0, 30, 300, 1800, 21600, 86400]);
    assert.deepEqual(config.allowedNetworks, []);
    assert.equal(config.publicUrl, 'http://localhost:8080');
    assert.match(config.dataDir, /\/data$/);
    assert.equal(config.sqliteSynchronous, 'FULL', 'a 2xx survives power loss by default');
  });

  it('reads every variable of the spec', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgres://u@h/db',
      SWITCHBOARD_ADMIN_TOKEN: 'tok',
      SWITCHBOARD_ROLE: 'worker',
      SWITCHBOARD_RETRY_SCHEDULE: '0, 5,10',
      SWITCHBOARD_ALLOWED_NETWORKS: '127.0.0.0/8, ::1/128',
      SWITCHBOARD_MASTER_KEY: 'k',
      NATS_URL: 'nats://127.0.0.1:4222',
      SWITCHBOARD_PUBLIC_URL: 'https://hooks.example.com/',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.role, 'worker');
    assert.deepEqual(config.retryScheduleSeconds, [0, 5, 10]);
    assert.deepEqual(config.allowedNetworks, ['127.0.0.0/8', '::1/128']);
    assert.equal(config.publicUrl, 'https://hooks.example.com');
    assert.equal(config.natsUrl, 'nats://127.0.0.1:4222');
  });

  it('rejects bad values with a message naming the variable', () => {
    assert.throws(() => loadConfig({ PORT: 'http' }), /PORT must be an integer/);
    assert.throws(() => loadConfig({ SWITCHBOARD_RETRY_SCHEDULE: '0,,5' }), ConfigError);
    assert.throws(() => loadConfig({ SWITCHBOARD_RETRY_SCHEDULE: '0,-1' }), /RETRY_SCHEDULE/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ SWITCHBOARD_ROLE: 'x' }), /SWITCHBOARD_ROLE/);
    assert.throws(
      () => loadConfig({ SWITCHBOARD_SQLITE_SYNCHRONOUS: 'OFF' }),
      /SWITCHBOARD_SQLITE_SYNCHRONOUS must be FULL or NORMAL/,
    );
    assert.throws(
      () => loadConfig({ SWITCHBOARD_SENDER_THREAD: 'yes' }),
      /SWITCHBOARD_SENDER_THREAD must be true or false, got "yes"/,
    );
  });

  it('sends HTTP webhooks from a thread of their own unless told not to', () => {
    assert.equal(loadConfig({}).senderThread, true);
    assert.equal(loadConfig({ SWITCHBOARD_SENDER_THREAD: 'false' }).senderThread, false);
    assert.equal(loadConfig({ SWITCHBOARD_SENDER_THREAD: 'true' }).senderThread, true);
  });

  it('lets SQLite trade power-loss durability for fewer fsyncs only when asked', () => {
    assert.equal(
      loadConfig({ SWITCHBOARD_SQLITE_SYNCHRONOUS: 'normal' }).sqliteSynchronous,
      'NORMAL',
    );
  });
});

describe('secret box', () => {
  it('seals with AES-256-GCM and refuses tampered or foreign ciphertext', () => {
    const box = new SecretBox(parseMasterKey('a'.repeat(64)));
    const sealed = box.seal('whsec_secret');
    assert.doesNotMatch(sealed, /whsec_secret/);
    assert.notEqual(box.seal('whsec_secret'), sealed, 'a fresh IV every time');
    assert.equal(box.open(sealed), 'whsec_secret');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    assert.throws(() => box.open(`v1:${raw.toString('base64')}`));
    const other = new SecretBox(parseMasterKey(Buffer.alloc(32, 7).toString('base64')));
    assert.throws(() => other.open(sealed));
    assert.throws(() => parseMasterKey('short'), /32 bytes/);
  });
});
