import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idFloorAt, idTimestampMs, newId } from '../../src/core/ids.js';

describe('ids', () => {
  it('have the Svix shape: prefix and 27 base62 characters', () => {
    assert.match(newId('application'), /^app_[0-9A-Za-z]{27}$/);
    assert.match(newId('endpoint'), /^ep_[0-9A-Za-z]{27}$/);
    assert.match(newId('message'), /^msg_[0-9A-Za-z]{27}$/);
    assert.match(newId('attempt'), /^atmpt_[0-9A-Za-z]{27}$/);
  });

  it('increase strictly, even within one millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 2000 }, () => newId('message', now));
    const sorted = [...ids].sort();
    assert.deepEqual(ids, sorted);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('encode their creation time to 4 ms', () => {
    // Later than every id made so far: an earlier time would be bumped past the last id.
    const at = Date.now() + 60_000 + 456;
    const id = newId('message', at);
    assert.ok(Math.abs((idTimestampMs(id) ?? 0) - at) < 4);
    assert.ok(idFloorAt('message', at - 4) < id && id > idFloorAt('message', at - 1000));
    assert.ok(idFloorAt('message', at + 4) > id);
  });
});
