/** SmallMap (src/ikev2/sa/small-map.ts) behaves as a Map, iteration under writes included. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GkmError } from '../../../src/ikev2/errors.ts';
import { DerivedKeyMap, SmallMap } from '../../../src/ikev2/sa/small-map.ts';

test('get / set / has / delete / size / clear as a Map', () => {
  const m = new SmallMap<string, number>();
  assert.equal(m.size, 0);
  assert.equal(m.get('a'), undefined);
  assert.equal(m.set('a', 1).set('b', 2).set('a', 3), m);
  assert.deepEqual([...m], [['a', 3], ['b', 2]]);
  assert.equal(m.has('b'), true);
  assert.equal(m.delete('x'), false);
  assert.equal(m.delete('a'), true);
  assert.deepEqual([...m.keys()], ['b']);
  assert.equal(m.size, 1);
  m.clear();
  assert.equal(m.size, 0);
  const n = new SmallMap<number, string>().set(NaN, 'nan').set(-0, 'zero');
  assert.equal(n.get(NaN), 'nan');
  assert.equal(n.get(0), 'zero');
  const seen: string[] = [];
  n.forEach((v, k, map) => seen.push(`${k}:${v}:${map === n}`));
  assert.deepEqual(seen, ['NaN:nan:true', '0:zero:true']);
  assert.equal(Object.prototype.toString.call(n), '[object SmallMap]');
});

test('iteration follows Map semantics under writes', () => {
  const script = (m: Map<string, number>): string[] => {
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, 0);
    const out: string[] = [];
    for (const [k] of m) {
      out.push(k);
      if (k === 'a') {
        m.delete('a'); // visited: no effect on what follows
        m.delete('c'); // not reached yet: skipped
        m.set('e', 1); // added: visited at the end
        m.set('b', 2); // update in place: keeps its position
      }
      if (k === 'd') m.delete('b');
    }
    return out;
  };
  assert.deepEqual(script(new SmallMap()), script(new Map()));
  assert.deepEqual(script(new SmallMap()), ['a', 'b', 'd', 'e']);
  const m = new SmallMap<string, number>().set('x', 1);
  const it = m.values();
  assert.equal(it.next().value, 1);
  m.delete('x');
  assert.equal(it.next().done, true);
});

/** Values that carry their key, as Child SA records carry their inbound SPI. */
interface Item {
  readonly k: string;
  readonly v: number;
}
class ItemMap extends DerivedKeyMap<string, Item> {
  protected keyOf(item: Item): string {
    return item.k;
  }
}

test('DerivedKeyMap: a Map whose keys come from the values; one value kept without an array', () => {
  const m = new ItemMap();
  assert.equal(m.size, 0);
  assert.equal(m.get('a'), undefined);
  const a = { k: 'a', v: 1 };
  assert.equal(m.set('a', a), m);
  assert.equal(m.get('a'), a);
  assert.equal(m.size, 1);
  assert.throws(() => m.set('b', { k: 'c', v: 0 }), (e: unknown) => e instanceof GkmError && e.code === 'GKM_IKE_INVALID_STATE');
  assert.equal(m.size, 1);
  m.set('b', { k: 'b', v: 2 }).set('a', { k: 'a', v: 3 });
  assert.deepEqual([...m].map(([k, x]) => [k, x.v]), [['a', 3], ['b', 2]], 'an update keeps its position');
  assert.equal(m.delete('a'), true);
  assert.equal(m.delete('a'), false);
  assert.deepEqual([...m.keys()], ['b']);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(Object.prototype.toString.call(m), '[object DerivedKeyMap]');
});

test('DerivedKeyMap: iteration follows Map semantics under writes', () => {
  const script = (m: Map<string, Item>): string[] => {
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, { k, v: 0 });
    const out: string[] = [];
    for (const [k, item] of m) {
      out.push(`${k}${item.v}`);
      if (k === 'a') {
        m.delete('a');
        m.delete('c');
        m.set('e', { k: 'e', v: 1 });
        m.set('b', { k: 'b', v: 2 });
      }
      if (k === 'd') m.delete('b');
    }
    return out;
  };
  assert.deepEqual(script(new ItemMap()), script(new Map()));
  assert.deepEqual(script(new ItemMap()), ['a0', 'b2', 'd0', 'e1']);
  const single = new ItemMap().set('x', { k: 'x', v: 1 });
  const it = single.values();
  assert.equal(it.next().value?.v, 1);
  single.set('y', { k: 'y', v: 2 });
  assert.equal(it.next().value?.v, 2, 'from one value to an array: resumes after the visited entry');
  single.delete('x');
  single.delete('y');
  assert.equal(it.next().done, true);
});
