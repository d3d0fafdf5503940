/**
 * LKH key tree of a group (RFC 9838 §3.2 and Appendix A; RFC 2627 §5.4; digest §7).
 *
 * A d-ary tree whose root is the Rekey SA keying material (held by the caller, not here),
 * whose inner nodes are shared KWKs and whose leaves are the members' personal keys. A
 * member holds the keys on its path; the GCKS reaches any subset of members by wrapping
 * under the right nodes. Nodes are numbered by heap position (root 0, children of p are
 * d·p+1 … d·p+d), so a position names its parent; each key version has its own Key ID.
 *
 * Changes are batched. `join` and `evict` give every node on the member's path a new key
 * and Key ID at once (marking it dirty) and `commit` produces the membership rekey: the
 * new Rekey SA key wrapped under every root child, and each dirty node's new key wrapped
 * under each of its children's current keys (App. A "Removing F": 2→15, 5→16,
 * KD(GP(SA3)(1{K_sa3}, 15{K_sa3}), MP(6{15}, 16{15}, 11{16})), d·log_d n wraps).
 *
 * Access control (RFC 9838 §3.2.1, digest §12 item 6):
 *  - backward: a joiner only ever receives fresh path keys (its path is refreshed before it
 *    gets it) and the batch's new Rekey SA, so it can read no earlier rekey;
 *  - forward: an evicted member's path is refreshed and nothing in the commit is wrapped
 *    under a key it holds.
 * Until `commit`, the new keys are "pending": only joiners (and re-registering members)
 * hold them. A member that received pending keys cannot be evicted in the same batch
 * (others of the batch hold the same pending keys): commit first (GKM_KEYS_TREE_STATE).
 *
 * Growth: a joiner takes the shallowest free child slot of an inner node, or, if a leaf is
 * shallower, splits that leaf (its member moves one level down under a new KWK, which it
 * learns from the commit). Leaves of this batch's joiners are not split: they cannot read
 * the commit (it travels under the old Rekey SA), and a leaf is split at most once per batch
 * (else a burst of joins would push one member down a long chain); when nothing else is
 * left, `canJoin` is false and the batch must be committed first. The tree thus grows by a
 * factor of up to d per batch and stays balanced. Inner nodes left without children are removed; inner nodes with one child
 * are kept (as in App. A, where node 5 keeps E alone) and refilled by later joins.
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { DepthBuckets } from './depth-buckets.ts';
import type { KeyPath, Kwk, WrapInstruction } from './key-download.ts';
import { KeyIdAllocator } from './key-ids.ts';
import { secureRandom, type RandomSource } from './random.ts';

export type MemberId = string | number;

export const DEFAULT_TREE_DEGREE = 4;
export const MIN_TREE_DEGREE = 2;
export const MAX_TREE_DEGREE = 16;

interface TreeNode {
  position: number;
  depth: number;
  parent: TreeNode | null;
  /** 0 and empty for the root (its key is the Rekey SA's). */
  keyId: number;
  key: Buffer;
  /** Set on leaves only. */
  member: MemberId | undefined;
  /** Child slots of an inner node (length = degree); null for leaves. */
  children: (TreeNode | undefined)[] | null;
  childCount: number;
  detached: boolean;
}

/** A leaf's personal key from its Key ID (`length` = the KWA key size): see leaf-keys.ts. */
export type LeafKeySource = (keyId: number, length: number) => Buffer;

export interface KeyTreeOptions {
  /** KWA of the Rekey SA policy: node keys have its key size and are wrapped with it. */
  readonly kwaId: number;
  readonly degree?: number;
  readonly keyIds?: KeyIdAllocator;
  readonly random?: RandomSource;
  /** Leaf keys derived from their Key IDs instead of drawn from `random` (inner nodes always are). */
  readonly leafKeys?: LeafKeySource;
}

/** One node as stored (the store seals `key`). */
export interface KeyTreeNodeRecord {
  readonly position: number;
  readonly keyId: number;
  readonly key: Buffer;
  /** Present on leaves. */
  readonly member?: MemberId;
}

export interface KeyTreeSnapshot {
  readonly version: 1;
  readonly degree: number;
  readonly kwaId: number;
  /** Every node but the root, parents before children. */
  readonly nodes: readonly KeyTreeNodeRecord[];
  /** The batch not yet committed. */
  readonly pending: {
    readonly dirty: readonly number[];
    readonly fresh: readonly MemberId[];
    readonly exposed: readonly MemberId[];
    /** Members whose leaf was split in the batch (not split again before the commit). */
    readonly moved: readonly MemberId[];
    readonly membershipChanged: boolean;
    readonly joined: number;
    readonly evicted: number;
  };
}

/** What changed since the last takeChanges(), for incremental persistence. */
export interface KeyTreeChanges {
  /** Nodes with a new key, a new position, or new. */
  readonly upserts: readonly KeyTreeNodeRecord[];
  /** Key IDs no longer in the tree (replaced or removed). */
  readonly retiredKeyIds: readonly number[];
}

/** The membership rekey of one batch (what goes in the first GSA_REKEY). */
export interface TreeCommit {
  /** KWKs the new Rekey SA key is wrapped under (the root's children). */
  readonly rekeySaUnder: readonly Kwk[];
  /** New path keys, each under each child of its node. */
  readonly wrapKeys: readonly WrapInstruction[];
  readonly wraps: number;
  readonly joined: number;
  readonly evicted: number;
}

export class KeyTree {
  readonly degree: number;
  readonly kwaId: number;
  /** Node key size = KWA key size. */
  readonly keyLength: number;
  readonly #keyIds: KeyIdAllocator;
  readonly #random: RandomSource;
  readonly #leafKeys: LeafKeySource | undefined;
  readonly #root: TreeNode;
  readonly #members = new Map<MemberId, TreeNode>();
  /** Inner nodes (root included) with a free child slot. */
  readonly #vacant = new DepthBuckets<TreeNode>();
  /** Leaves that may be split: all but those of this batch's joiners and those split in it. */
  readonly #splittable = new DepthBuckets<TreeNode>();
  /** Leaves held out of #splittable until the batch is committed. */
  readonly #heldBack = new Set<TreeNode>();
  readonly #dirty = new Set<TreeNode>();
  /** Joined in this batch: hold every pending key of their path already. */
  readonly #fresh = new Set<MemberId>();
  /** Received pending keys in this batch (joiners and re-registrations). */
  readonly #exposed = new Set<MemberId>();
  #membershipChanged = false;
  #joined = 0;
  #evicted = 0;
  readonly #changed = new Set<TreeNode>();
  #retired: number[] = [];

  constructor(opts: KeyTreeOptions) {
    const degree = opts.degree ?? DEFAULT_TREE_DEGREE;
    if (!Number.isInteger(degree) || degree < MIN_TREE_DEGREE || degree > MAX_TREE_DEGREE) {
      throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'degree', detail: `${degree} not in ${MIN_TREE_DEGREE}..${MAX_TREE_DEGREE}` });
    }
    this.degree = degree;
    this.kwaId = opts.kwaId;
    this.keyLength = getKeyWrap(opts.kwaId).keyLength;
    this.#keyIds = opts.keyIds ?? new KeyIdAllocator();
    this.#random = opts.random ?? secureRandom;
    this.#leafKeys = opts.leafKeys;
    this.#root = this.#newInner(0, 0, null);
    this.#vacant.add(0, this.#root);
  }

  /**
   * A balanced tree over `members` as the initial population (or the Appendix A example):
   * no batch is pending, Key IDs are given in breadth-first order.
   */
  static build(members: readonly MemberId[], opts: KeyTreeOptions): KeyTree {
    const tree = new KeyTree(opts);
    if (new Set(members).size !== members.length) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'members', detail: 'duplicate member' });
    tree.#buildUnder(tree.#root, members);
    tree.#forEachNode((n) => tree.#rekey(n, false)); // breadth-first
    return tree;
  }

  /** Rebuild a tree from its snapshot; `keyIds` must be past every Key ID in it. */
  static restore(s: KeyTreeSnapshot, opts: { readonly keyIds: KeyIdAllocator; readonly random?: RandomSource; readonly leafKeys?: LeafKeySource }): KeyTree {
    const bad: (detail: string) => never = (detail) => {
      throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'keyTreeSnapshot', detail });
    };
    if (s.version !== 1) bad(`version ${String(s.version)}`);
    const tree = new KeyTree({ kwaId: s.kwaId, degree: s.degree, keyIds: opts.keyIds, ...(opts.random ? { random: opts.random } : {}), ...(opts.leafKeys ? { leafKeys: opts.leafKeys } : {}) });
    const byPosition = new Map<number, TreeNode>([[0, tree.#root]]);
    const keyIds = new Set<number>();
    for (const r of s.nodes) {
      if (!Number.isSafeInteger(r.position) || r.position <= 0 || byPosition.has(r.position)) bad(`position ${r.position}`);
      const parent = byPosition.get(Math.floor((r.position - 1) / s.degree));
      if (!parent?.children) bad(`node ${r.position} has no inner parent`);
      if (r.keyId < 1 || r.keyId >= opts.keyIds.snapshot().next || keyIds.has(r.keyId)) bad(`Key ID ${r.keyId}`);
      if (r.key.length !== tree.keyLength) bad(`node ${r.position}: ${r.key.length}-octet key`);
      const node = r.member === undefined ? tree.#newInner(r.position, parent.depth + 1, parent) : tree.#newLeaf(r.position, parent.depth + 1, parent, r.member);
      node.keyId = r.keyId;
      node.key = Buffer.from(r.key);
      keyIds.add(r.keyId);
      byPosition.set(r.position, node);
      tree.#attach(parent, node, (r.position - 1) % s.degree);
      if (node.member !== undefined) {
        if (tree.#members.has(node.member)) bad(`member ${String(node.member)} twice`);
        tree.#members.set(node.member, node);
      }
    }
    for (const n of byPosition.values()) if (n !== tree.#root && n.children && n.childCount === 0) bad(`inner node ${n.position} without children`);
    for (const p of s.pending.dirty) tree.#dirty.add(byPosition.get(p) ?? bad(`dirty node ${p}`));
    for (const m of [...s.pending.fresh, ...s.pending.moved]) tree.#holdBack(tree.#members.get(m) ?? bad(`pending member ${String(m)} not in the tree`));
    s.pending.fresh.forEach((m) => tree.#fresh.add(m));
    s.pending.exposed.forEach((m) => tree.#exposed.add(m));
    tree.#membershipChanged = s.pending.membershipChanged;
    tree.#joined = s.pending.joined;
    tree.#evicted = s.pending.evicted;
    tree.#changed.clear();
    return tree;
  }

  get size(): number {
    return this.#members.size;
  }

  /** New leaves get keys derived from their Key IDs (KeyTreeOptions.leafKeys): nothing secret to store for them. */
  get derivesLeafKeys(): boolean {
    return this.#leafKeys !== undefined;
  }

  /** Depth of the deepest leaf (= the longest path); walks the tree. */
  get height(): number {
    let h = 0;
    this.#forEachNode((n) => (h = Math.max(h, n.depth)));
    return h;
  }

  /** Whether join() has a place for a new leaf without a commit first. */
  get canJoin(): boolean {
    return this.#vacant.shallowest() !== undefined || this.#splittable.shallowest() !== undefined;
  }

  /** A membership change waits for commit(). */
  get hasPendingChanges(): boolean {
    return this.#membershipChanged;
  }

  has(member: MemberId): boolean {
    return this.#members.has(member);
  }

  members(): IterableIterator<MemberId> {
    return this.#members.keys();
  }

  /** Joined in the pending batch: give it the batch's new Rekey SA, not the current one. */
  isFresh(member: MemberId): boolean {
    return this.#fresh.has(member);
  }

  /** Received keys of the pending batch: cannot be evicted before commit(). */
  holdsPendingKeys(member: MemberId): boolean {
    return this.#exposed.has(member);
  }

  /** Key IDs on the member's path, top first (read only: nothing counts as handed out). */
  pathKeyIds(member: MemberId): number[] {
    const ids: number[] = [];
    for (let n: TreeNode | null = this.#leaf(member); n && n !== this.#root; n = n.parent) ids.push(n.keyId);
    return ids.reverse();
  }

  /** Heap position and Key ID of the member's leaf. */
  leafOf(member: MemberId): { readonly position: number; readonly keyId: number } {
    const leaf = this.#leaf(member);
    return { position: leaf.position, keyId: leaf.keyId };
  }

  /**
   * Add a member: a new leaf with a fresh personal key, and fresh keys on its whole path
   * (backward access control). Returns the member's path, top key first, for its
   * registration KD; valid until the next tree operation.
   */
  join(member: MemberId): KeyPath {
    if (this.#members.has(member)) throw new GkmError('GKM_KEYS_TREE_STATE', { field: `member ${String(member)}`, detail: 'already in the tree' });
    const v = this.#vacant.shallowest();
    const l = this.#splittable.shallowest();
    let parent: TreeNode;
    if (v && (!l || v.depth <= l.depth)) parent = v.item;
    else if (l) parent = this.#split(l.item);
    else throw new GkmError('GKM_KEYS_TREE_STATE', { detail: 'no free slot and only leaves of joiners to split: commit first' });
    const slot = parent.children!.indexOf(undefined);
    const leaf = this.#newLeaf(this.#childPosition(parent, slot), parent.depth + 1, parent, member);
    this.#attach(parent, leaf, slot);
    this.#holdBack(leaf);
    this.#rekey(leaf, false);
    this.#members.set(member, leaf);
    this.#refreshPath(parent);
    this.#fresh.add(member);
    this.#exposed.add(member);
    this.#membershipChanged = true;
    this.#joined++;
    return this.#pathOf(leaf);
  }

  /**
   * The current path of a member already in the tree (re-registration: RFC 9838 §2.3, a
   * registration replaces the GM's state). Pending keys on it count as handed out.
   */
  path(member: MemberId): KeyPath {
    const leaf = this.#leaf(member);
    for (let n: TreeNode | null = leaf.parent; n && n !== this.#root; n = n.parent) {
      if (this.#dirty.has(n)) {
        this.#exposed.add(member);
        break;
      }
    }
    return this.#pathOf(leaf);
  }

  /** Remove a member: its leaf goes, every key on its path is replaced (forward access control). */
  evict(member: MemberId): void {
    const leaf = this.#leaf(member);
    if (this.#exposed.has(member)) {
      throw new GkmError('GKM_KEYS_TREE_STATE', { field: `member ${String(member)}`, detail: 'holds keys of the pending batch: commit first' });
    }
    this.#members.delete(member);
    let parent = leaf.parent!;
    this.#remove(leaf);
    while (parent !== this.#root && parent.childCount === 0) {
      const up = parent.parent!;
      this.#remove(parent);
      parent = up;
    }
    this.#refreshPath(parent);
    this.#membershipChanged = true;
    this.#evicted++;
  }

  /**
   * Close the batch: the membership rekey's wrap instructions, or null if membership did not
   * change. Wraps under leaves of members that joined in the batch are left out (they got
   * everything at registration and follow the new Rekey SA only).
   */
  commit(): TreeCommit | null {
    if (!this.#membershipChanged) return null;
    const skip = (n: TreeNode): boolean => n.member !== undefined && this.#fresh.has(n.member);
    const kwk = (n: TreeNode): Kwk => ({ keyId: n.keyId, key: n.key });
    const rekeySaUnder = this.#root.children!.filter((c): c is TreeNode => c !== undefined && !skip(c)).map(kwk);
    const wrapKeys: WrapInstruction[] = [];
    for (const d of [...this.#dirty].sort((a, b) => a.position - b.position)) {
      for (const c of d.children!) if (c && !skip(c)) wrapKeys.push({ keyId: d.keyId, key: d.key, under: kwk(c) });
    }
    const result: TreeCommit = { rekeySaUnder, wrapKeys, wraps: rekeySaUnder.length + wrapKeys.length, joined: this.#joined, evicted: this.#evicted };
    for (const leaf of this.#heldBack) if (!leaf.detached) this.#splittable.add(leaf.depth, leaf);
    this.#heldBack.clear();
    this.#dirty.clear();
    this.#fresh.clear();
    this.#exposed.clear();
    this.#membershipChanged = false;
    this.#joined = 0;
    this.#evicted = 0;
    return result;
  }

  snapshot(): KeyTreeSnapshot {
    const nodes: KeyTreeNodeRecord[] = [];
    this.#forEachNode((n) => nodes.push(this.#record(n)));
    return {
      version: 1,
      degree: this.degree,
      kwaId: this.kwaId,
      nodes,
      pending: {
        dirty: [...this.#dirty].map((n) => n.position).sort((a, b) => a - b),
        fresh: [...this.#fresh],
        exposed: [...this.#exposed],
        moved: [...this.#heldBack].filter((n) => !this.#fresh.has(n.member!)).map((n) => n.member!),
        membershipChanged: this.#membershipChanged,
        joined: this.#joined,
        evicted: this.#evicted,
      },
    };
  }

  /** Nodes and Key IDs changed since the previous call (keys are copies). */
  takeChanges(): KeyTreeChanges {
    const upserts = [...this.#changed].filter((n) => !n.detached).sort((a, b) => a.position - b.position).map((n) => this.#record(n));
    const retiredKeyIds = this.#retired;
    this.#changed.clear();
    this.#retired = [];
    return { upserts, retiredKeyIds };
  }

  /** Zero every key (the tree is unusable afterwards). */
  wipe(): void {
    this.#forEachNode((n) => wipe(n.key));
  }

  // --- internals -------------------------------------------------------------------------

  #leaf(member: MemberId): TreeNode {
    const leaf = this.#members.get(member);
    if (!leaf) throw new GkmError('GKM_KEYS_UNKNOWN_MEMBER', { field: `member ${String(member)}` });
    return leaf;
  }

  #record(n: TreeNode): KeyTreeNodeRecord {
    return { position: n.position, keyId: n.keyId, key: Buffer.from(n.key), ...(n.member !== undefined ? { member: n.member } : {}) };
  }

  #newInner(position: number, depth: number, parent: TreeNode | null): TreeNode {
    return { position, depth, parent, keyId: 0, key: Buffer.alloc(0), member: undefined, children: new Array<TreeNode | undefined>(this.degree).fill(undefined), childCount: 0, detached: false };
  }

  #newLeaf(position: number, depth: number, parent: TreeNode, member: MemberId): TreeNode {
    return { position, depth, parent, keyId: 0, key: Buffer.alloc(0), member, children: null, childCount: 0, detached: false };
  }

  #childPosition(parent: TreeNode, slot: number): number {
    const p = this.degree * parent.position + 1 + slot;
    if (!Number.isSafeInteger(p)) throw new GkmError('GKM_KEYS_TREE_STATE', { detail: 'tree too deep for heap positions' });
    return p;
  }

  /** Put `node` into a free slot of `parent` and index it. */
  #attach(parent: TreeNode, node: TreeNode, slot: number): void {
    parent.children![slot] = node;
    parent.childCount++;
    if (parent.childCount === this.degree) this.#vacant.delete(parent.depth, parent);
    if (node.children) this.#vacant.add(node.depth, node);
    else this.#splittable.add(node.depth, node);
    this.#changed.add(node);
  }

  /** Take `node` (a leaf, or an inner node without children) out of the tree; wipe its key. */
  #remove(node: TreeNode): void {
    const parent = node.parent!;
    parent.children![parent.children!.indexOf(node)] = undefined;
    if (parent.childCount-- === this.degree) this.#vacant.add(parent.depth, parent);
    if (node.children) this.#vacant.delete(node.depth, node);
    else this.#splittable.delete(node.depth, node);
    this.#dirty.delete(node);
    this.#heldBack.delete(node);
    this.#retired.push(node.keyId);
    wipe(node.key);
    node.detached = true;
  }

  /** Replace a leaf by a new inner node holding it, to make room below it. */
  #split(leaf: TreeNode): TreeNode {
    const parent = leaf.parent!;
    const slot = parent.children!.indexOf(leaf);
    this.#splittable.delete(leaf.depth, leaf);
    parent.children![slot] = undefined;
    parent.childCount--;
    const inner = this.#newInner(leaf.position, leaf.depth, parent);
    this.#attach(parent, inner, slot); // its key comes with the path refresh
    leaf.parent = inner;
    leaf.depth++;
    leaf.position = this.#childPosition(inner, 0);
    this.#attach(inner, leaf, 0);
    this.#holdBack(leaf);
    return inner;
  }

  #holdBack(leaf: TreeNode): void {
    this.#splittable.delete(leaf.depth, leaf);
    this.#heldBack.add(leaf);
  }

  /** New keys for `from` and its ancestors below the root, top-down; already dirty ones keep theirs. */
  #refreshPath(from: TreeNode): void {
    const path: TreeNode[] = [];
    for (let n: TreeNode | null = from; n && n !== this.#root; n = n.parent) path.push(n);
    for (const n of path.reverse()) if (!this.#dirty.has(n)) this.#rekey(n, true);
  }

  /** Give a node a new key and Key ID, retiring the old ones. */
  #rekey(n: TreeNode, dirty: boolean): void {
    if (n === this.#root) return;
    if (n.keyId !== 0) this.#retired.push(n.keyId);
    wipe(n.key);
    n.keyId = this.#keyIds.allocate();
    n.key = n.children === null && this.#leafKeys ? this.#leafKeys(n.keyId, this.keyLength) : this.#random(this.keyLength);
    this.#changed.add(n);
    if (dirty) this.#dirty.add(n);
  }

  #pathOf(leaf: TreeNode): KeyPath {
    const path: { keyId: number; key: Buffer }[] = [];
    for (let n: TreeNode | null = leaf; n && n !== this.#root; n = n.parent) path.push({ keyId: n.keyId, key: n.key });
    return path.reverse();
  }

  /** Split `members` into at most `degree` nearly equal groups under `parent`. */
  #buildUnder(parent: TreeNode, members: readonly MemberId[]): void {
    const parts = Math.min(this.degree, members.length);
    let start = 0;
    for (let i = 0; i < parts; i++) {
      const size = Math.floor(members.length / parts) + (i < members.length % parts ? 1 : 0);
      const chunk = members.slice(start, (start += size));
      const position = this.#childPosition(parent, i);
      if (chunk.length === 1) {
        const leaf = this.#newLeaf(position, parent.depth + 1, parent, chunk[0]!);
        this.#attach(parent, leaf, i);
        this.#members.set(chunk[0]!, leaf);
      } else {
        const inner = this.#newInner(position, parent.depth + 1, parent);
        this.#attach(parent, inner, i);
        this.#buildUnder(inner, chunk);
      }
    }
  }

  /** Every node but the root, breadth-first (= by heap position). */
  #forEachNode(f: (n: TreeNode) => void): void {
    const queue: TreeNode[] = [this.#root];
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      if (n !== this.#root) f(n);
      for (const c of n.children ?? []) if (c) queue.push(c);
    }
  }
}
