/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) layout. Hashes are served in tiles of 256: the
 * tile at level L and index N holds the hashes at tree level 8·L numbered 256·N … 256·N+255, so a
 * level-0 tile holds leaf hashes and a level-1 tile the roots of 256-leaf subtrees. A tile the tree
 * has not filled yet is partial, `.p/<W>` naming its width. Entries are served the same way in
 * bundles of 256, each entry prefixed by its length as a big-endian uint16.
 */
import { EctLedgerError } from '../base/errors.js';
import { HASH_SIZE, nodeHash } from './merkle/hash.js';
import type { NodeReader } from './merkle/range.js';

/** Tree levels per tile. */
export const TILE_HEIGHT = 8;
/** Hashes (or entries) per full tile (or bundle). */
export const TILE_WIDTH = 256;

/** A tile's coordinates; `width` below {@link TILE_WIDTH} for a partial tile. */
export interface TileId {
  /** Tile level, or `'entries'` for an entry bundle. */
  level: number | 'entries';
  index: number;
  width: number;
}

function encodeIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`invalid tile index ${index}`);
  const groups: string[] = [];
  let rest = index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
}

/**
 * The resource path of a tile or entry bundle.
 *
 * @example tilePath({ level: 0, index: 1234067, width: 8 }) // 'tile/0/x001/x234/067.p/8'
 */
export function tilePath(tile: TileId): string {
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) {
    throw new RangeError(`invalid tile width ${tile.width}`);
  }
  const suffix = tile.width === TILE_WIDTH ? '' : `.p/${tile.width}`;
  return `tile/${tile.level}/${encodeIndex(tile.index)}${suffix}`;
}

/**
 * Reads a tile or entry bundle path; `undefined` when it is not one.
 *
 * @example parseTilePath('tile/entries/x001/002.p/3') // { level: 'entries', index: 1002, width: 3 }
 */
export function parseTilePath(path: string): TileId | undefined {
  const match = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (match === null) return undefined;
  const [, levelText = '', prefix = '', last = '', widthText] = match;
  const groups = [
    ...prefix
      .split('/')
      .filter((g) => g.length > 0)
      .map((g) => g.slice(1)),
    last,
  ];
  if (groups.length > 1 && groups[0] === '000') return undefined;
  const index = Number(groups.join(''));
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if ((widthText !== undefined && width >= TILE_WIDTH) || !Number.isSafeInteger(index)) return undefined;
  return { level: levelText === 'entries' ? 'entries' : Number(levelText), index, width };
}

/**
 * How many hashes tree level `level` has in a tree of `size` leaves (complete subtrees only).
 *
 * @example hashesAtLevel(1000, 8) // 3
 */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / 2 ** level);
}

/**
 * The tiles (hash tiles at every tile level, and entry bundles) that a tree of `size` leaves
 * publishes, the partial ones with their width.
 *
 * @example tilesOfTree(300).map(tilePath) // ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/000', 'tile/entries/001.p/44']
 */
export function tilesOfTree(size: number): TileId[] {
  const tiles: TileId[] = [];
  const push = (level: number | 'entries', count: number) => {
    for (let index = 0; index * TILE_WIDTH < count; index++) {
      tiles.push({ level, index, width: Math.min(TILE_WIDTH, count - index * TILE_WIDTH) });
    }
  };
  for (let level = 0; hashesAtLevel(size, level * TILE_HEIGHT) > 0; level++) {
    push(level, hashesAtLevel(size, level * TILE_HEIGHT));
  }
  push('entries', size);
  return tiles;
}

/**
 * Splits an entry bundle into its entries.
 *
 * @example parseEntryBundle(bundle).length // 256 for a full bundle
 */
export function parseEntryBundle(bundle: Uint8Array): Buffer[] {
  const data = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  const entries: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length)
      throw new EctLedgerError('ECT_LEDGER_CORRUPT', 'entry bundle ends inside a length prefix');
    const length = data.readUInt16BE(at);
    if (at + 2 + length > data.length)
      throw new EctLedgerError('ECT_LEDGER_CORRUPT', 'entry bundle ends inside an entry');
    entries.push(data.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return entries;
}

/**
 * Encodes entries as an entry bundle.
 *
 * @example encodeEntryBundle([Buffer.from(token)])
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.length > 0xffff) throw new EctLedgerError('ECT_LEDGER_ENTRY_INVALID', 'entry over 65,535 bytes');
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(entry.length);
    parts.push(prefix, Buffer.from(entry));
  }
  return Buffer.concat(parts);
}

/** Reads a hash tile of a tree: `width` hashes of tile level `level`, tile `index`. */
export type TileReader = (level: number, index: number, width: number) => Uint8Array;

/**
 * A {@link NodeReader} over the hash tiles of a tree of `size` leaves, as a client of a tiled log
 * reads it: a node between tile levels is hashed up from the tile below it. Tiles read are kept
 * for the reader's lifetime, so one proof fetches each tile once.
 *
 * @example inclusionProof(nodeReaderFromTiles(fetchTile, size), index, size)
 */
export function nodeReaderFromTiles(readTile: TileReader, size: number): NodeReader {
  const cache = new Map<string, Uint8Array>();
  const tile = (level: number, index: number): Uint8Array => {
    const width = Math.min(TILE_WIDTH, hashesAtLevel(size, level * TILE_HEIGHT) - index * TILE_WIDTH);
    const key = `${level}/${index}`;
    let data = cache.get(key);
    if (data === undefined) {
      data = readTile(level, index, width);
      if (data.length !== width * HASH_SIZE) {
        throw new EctLedgerError(
          'ECT_LEDGER_CORRUPT',
          `tile ${level}/${index} is ${data.length} bytes, not ${width * HASH_SIZE}`,
        );
      }
      cache.set(key, data);
    }
    return data;
  };
  const read: NodeReader = (level, index) => {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const rest = level - tileLevel * TILE_HEIGHT;
    if (rest === 0) {
      const data = tile(tileLevel, Math.floor(index / TILE_WIDTH));
      const at = (index % TILE_WIDTH) * HASH_SIZE;
      return data.subarray(at, at + HASH_SIZE);
    }
    return nodeHash(read(level - 1, index * 2), read(level - 1, index * 2 + 1));
  };
  return read;
}
