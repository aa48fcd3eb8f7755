import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AddressClass,
  checkAddress,
  checkDestination,
  classifyAddress,
  isAllowed,
  type Lookup,
  parseAllowedNetworks,
  resolveAndCheck,
} from '../../src/outbound/ssrf.js';
import { ConfigError } from '../../src/platform/config.js';

const CLASSES: [string, AddressClass][] = [
  // IPv4
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['10.0.0.5', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.1', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.0.9', 'loopback'],
  ['169.254.1.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.10', 'documentation'],
  ['192.168.1.1', 'private'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.20.0.1', 'public'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  // IPv6
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4007:80e::200e', 'public'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'documentation'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:ec2::253', 'unique-local'],
  ['100::1', 'reserved'],
  ['2001::1', 'reserved'], // Teredo
  // IPv4-mapped: judged by the embedded IPv4 address, in either notation
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:8.8.8.8', 'public'],
  // NAT64 well-known prefix
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::808:808', 'public'],
  // 6to4: IPv4 in bits 16–47
  ['2002:c0a8:0101::1', 'private'],
  ['2002:a9fe:a9fe::', 'metadata'],
  ['2002:0808:0808::1', 'public'],
];

describe('classifyAddress', () => {
  for (const [ip, expected] of CLASSES) {
    it(`${ip} is ${expected}`, () => assert.equal(classifyAddress(ip), expected));
  }

  it('throws on something that is not an IP address', () => {
    assert.throws(() => classifyAddress('example.com'), TypeError);
    assert.throws(() => classifyAddress('1.2.3.256'), TypeError);
  });
});

describe('parseAllowedNetworks / isAllowed', () => {
  const allow = parseAllowedNetworks(['127.0.0.0/8', '::1/128']);

  it('lets loopback through but not other private addresses', () => {
    assert.equal(isAllowed('127.0.0.1', allow), true);
    assert.equal(isAllowed('127.9.9.9', allow), true);
    assert.equal(isAllowed('::1', allow), true);
    assert.equal(isAllowed('[::1]', allow), true);
    assert.equal(isAllowed('::ffff:127.0.0.1', allow), true); // same host as 127.0.0.1
    assert.equal(isAllowed('10.0.0.1', allow), false);
    assert.equal(isAllowed('::2', allow), false);
    assert.equal(isAllowed('localhost', allow), false);
  });

  it('accepts bare addresses and ignores blank entries', () => {
    const list = parseAllowedNetworks([' 10.1.2.3 ', '', 'fd00::/8']);
    assert.equal(isAllowed('10.1.2.3', list), true);
    assert.equal(isAllowed('10.1.2.4', list), false);
    assert.equal(isAllowed('fd12::1', list), true);
  });

  it('rejects a bad CIDR with a clear error', () => {
    for (const bad of ['10.0.0.0/33', '::1/129', 'example.com/8', '10.0.0.0/', '10.0.0/8', '1/x']) {
      assert.throws(
        () => parseAllowedNetworks([bad]),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.includes('SWITCHBOARD_ALLOWED_NETWORKS') &&
          error.message.includes(bad),
        bad,
      );
    }
  });
});

describe('checkAddress', () => {
  const loopback = parseAllowedNetworks(['127.0.0.0/8']);

  it('gives a refusal message, or undefined for public and allowed addresses', () => {
    assert.equal(checkAddress('93.184.216.34', loopback), undefined);
    assert.equal(checkAddress('127.0.0.1', loopback), undefined);
    assert.equal(
      checkAddress('10.0.0.5', loopback),
      'refused: 10.0.0.5 is a private address (set SWITCHBOARD_ALLOWED_NETWORKS to allow it)',
    );
    assert.match(checkAddress('fd00:ec2::254', loopback) ?? '', /cloud metadata address/);
    assert.match(checkAddress('example.com', loopback) ?? '', /not an IP address/);
  });
});

describe('checkDestination', () => {
  const none = parseAllowedNetworks([]);
  const loopback = parseAllowedNetworks(['127.0.0.0/8', '::1/128']);

  it('accepts https to a public host, with the default or explicit port', () => {
    const result = checkDestination('https://hooks.example.com/in?x=1', none);
    assert.ok(result.ok);
    assert.equal(result.host, 'hooks.example.com');
    assert.equal(result.port, 443);
    assert.equal(result.protocol, 'https:');
    assert.equal(result.ipLiteral, false);
    const withPort = checkDestination('https://hooks.example.com:8443/', none);
    assert.equal(withPort.ok && withPort.port, 8443);
  });

  it('refuses http to a public host', () => {
    const result = checkDestination('http://hooks.example.com/', none);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /https:\/\//);
    assert.equal(checkDestination('http://8.8.8.8/', none).ok, false);
  });

  it('allows http to an IP literal inside the allow list', () => {
    const result = checkDestination('http://127.0.0.1:3000/hook', loopback);
    assert.ok(result.ok);
    assert.equal(result.ipLiteral, true);
    assert.equal(result.port, 3000);
    const v6 = checkDestination('http://[::1]:3000/hook', loopback);
    assert.ok(v6.ok);
    assert.equal(v6.host, '::1');
  });

  it('allows http://localhost only when the allow list contains loopback', () => {
    assert.equal(checkDestination('http://localhost:3000/', loopback).ok, true);
    assert.equal(checkDestination('http://api.localhost/', loopback).ok, true);
    assert.equal(checkDestination('http://localhost:3000/', none).ok, false);
    assert.equal(
      checkDestination('http://localhost:3000/', parseAllowedNetworks(['10.0.0.0/8'])).ok,
      false,
    );
    // https://localhost passes the static check; the resolved address is checked at delivery
    assert.equal(checkDestination('https://localhost/', none).ok, true);
  });

  it('refuses private IP literals, even over https, unless allowed', () => {
    const result = checkDestination('https://10.0.0.5/hook', none);
    assert.deepEqual(result, {
      ok: false,
      reason:
        'refused: 10.0.0.5 is a private address (set SWITCHBOARD_ALLOWED_NETWORKS to allow it)',
    });
    assert.equal(checkDestination('https://10.0.0.1/', loopback).ok, false);
    assert.equal(checkDestination('https://169.254.169.254/latest/meta-data', none).ok, false);
    assert.equal(checkDestination('https://[::ffff:127.0.0.1]/', none).ok, false);
    // the URL parser normalises odd IPv4 spellings before we look at them
    assert.equal(checkDestination('https://2130706433/', none).ok, false);
    assert.equal(checkDestination('https://0x7f.1/', none).ok, false);
    assert.equal(checkDestination('https://127.0.0.1/', loopback).ok, true);
  });

  it('refuses credentials in the URL', () => {
    for (const url of ['https://user:pass@example.com/', 'https://user@example.com/']) {
      const result = checkDestination(url, none);
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.reason : '', /credentials/);
    }
  });

  it('refuses non-http schemes and invalid URLs', () => {
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://x/', 'javascript:1']) {
      const result = checkDestination(url, none);
      assert.equal(result.ok, false, url);
      assert.match(!result.ok ? result.reason : '', /scheme/);
    }
    const result = checkDestination('not a url', none);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /not a valid URL/);
  });
});

describe('resolveAndCheck', () => {
  const none = parseAllowedNetworks([]);
  const loopback = parseAllowedNetworks(['127.0.0.0/8', '::1/128']);
  const answers =
    (...addresses: string[]): Lookup =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('returns the first address when every answer is public', async () => {
    const result = await resolveAndCheck(
      'hooks.example.com',
      none,
      answers('93.184.216.34', '2606:2800:220:1::1'),
    );
    assert.deepEqual(result, { ok: true, address: '93.184.216.34', family: 4 });
  });

  it('refuses a rebinding answer: one private address among public ones', async () => {
    const result = await resolveAndCheck(
      'evil.example',
      none,
      answers('93.184.216.34', '10.0.0.5'),
    );
    assert.deepEqual(result, {
      ok: false,
      reason:
        'refused: evil.example resolves to 10.0.0.5, which is a private address (set SWITCHBOARD_ALLOWED_NETWORKS to allow it)',
    });
  });

  it('refuses metadata and loopback answers, allows them through the allow list', async () => {
    const metadata = await resolveAndCheck('m.example', none, answers('169.254.169.254'));
    assert.equal(metadata.ok, false);
    assert.match(!metadata.ok ? metadata.reason : '', /cloud metadata address/);
    assert.equal((await resolveAndCheck('localhost', none, answers('127.0.0.1'))).ok, false);
    assert.deepEqual(await resolveAndCheck('localhost', loopback, answers('::1', '127.0.0.1')), {
      ok: true,
      address: '::1',
      family: 6,
    });
    // allowing 127.0.0.0/8 does not allow 10.0.0.1
    assert.equal(
      (await resolveAndCheck('x', loopback, answers('127.0.0.1', '10.0.0.1'))).ok,
      false,
    );
  });

  it('checks an IP literal without calling the resolver', async () => {
    let called = false;
    const lookup: Lookup = async () => {
      called = true;
      return [];
    };
    assert.deepEqual(await resolveAndCheck('8.8.8.8', none, lookup), {
      ok: true,
      address: '8.8.8.8',
      family: 4,
    });
    assert.deepEqual(await resolveAndCheck('[::1]', loopback, lookup), {
      ok: true,
      address: '::1',
      family: 6,
    });
    assert.equal((await resolveAndCheck('10.0.0.5', loopback, lookup)).ok, false);
    assert.equal(called, false);
  });

  it('lets lookup failures through as errors (retryable), not refusals', async () => {
    const failing: Lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nope.example'), { code: 'ENOTFOUND' });
    };
    await assert.rejects(resolveAndCheck('nope.example', none, failing), /ENOTFOUND/);
    await assert.rejects(resolveAndCheck('empty.example', none, answers()), /no addresses/);
  });

  it('refuses an answer that is not an IP address', async () => {
    const result = await resolveAndCheck('odd.example', none, answers('not-an-ip'));
    assert.equal(result.ok, false);
  });
});
