import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';

/**
 * The Gumroad licences example (examples/gumroad-licences) end to end: its smoke script starts
 * Switchboard with the example's switchboard.yaml, the licence service and a local SMTP
 * server, and exits 0 only when every check passed. Its output is shown when it fails.
 */
describe('examples/gumroad-licences', () => {
  it('smoke.ts passes every check', { timeout: 180_000 }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/gumroad-licences/smoke.ts'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, output);
    assert.match(output, /^PASS: (\d+) of \1 checks passed$/m, output);
  });
});
