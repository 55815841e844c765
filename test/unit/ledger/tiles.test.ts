import { describe, expect, it } from 'vitest';
import { inclusionProof, leafHash, readerOverLeaves, treeRoot } from '../../../src/ledger/merkle/index.js';
import {
  encodeEntryBundle,
  nodeReaderFromTiles,
  parseEntryBundle,
  parseTilePath,
  TILE_WIDTH,
  tilePath,
  tilesOfTree,
} from '../../../src/ledger/tiles.js';

describe('tile paths (C2SP tlog-tiles)', () => {
  it('encodes indexes in groups of three digits, x-prefixed but the last', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 1, index: 0, width: 3 })).toBe('tile/1/000.p/3');
    expect(tilePath({ level: 'entries', index: 1000, width: 255 })).toBe('tile/entries/x001/000.p/255');
  });

  it('parses what it encodes and nothing else', () => {
    for (const tile of [
      { level: 0, index: 1234067, width: 256 },
      { level: 2, index: 999, width: 1 },
      { level: 'entries' as const, index: 5, width: 17 },
    ]) {
      expect(parseTilePath(tilePath(tile))).toEqual(tile);
    }
    for (const bad of [
      'tile/0/1',
      'tile/0/x000/001',
      'tile/0/001.p/256',
      'tile/0/001.p/0',
      'tile/00/001',
      'tile/0/001/',
    ]) {
      expect(parseTilePath(bad)).toBeUndefined();
    }
  });

  it('lists the full and partial tiles of a tree', () => {
    expect(tilesOfTree(300).map(tilePath)).toEqual([
      'tile/0/000',
      'tile/0/001.p/44',
      'tile/1/000.p/1',
      'tile/entries/000',
      'tile/entries/001.p/44',
    ]);
    expect(tilesOfTree(0)).toEqual([]);
  });

  it('round-trips entry bundles', () => {
    const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(4096, 7)];
    expect(parseEntryBundle(encodeEntryBundle(entries))).toEqual(entries);
  });

  it('computes roots and proofs from tiles alone, reading each tile once', () => {
    const size = TILE_WIDTH * TILE_WIDTH + 3 * TILE_WIDTH + 5;
    const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(String(i))));
    const reference = readerOverLeaves(leaves);
    const level8 = Array.from({ length: Math.floor(size / 256) }, (_, i) => reference(8, i));
    const level16 = [reference(16, 0)];
    const reads: string[] = [];
    const readTile = (level: number, index: number, width: number) => {
      reads.push(`${level}/${index}/${width}`);
      const hashes = [leaves, level8, level16][level] as Buffer[];
      return Buffer.concat(hashes.slice(index * 256, index * 256 + width));
    };
    const fromTiles = nodeReaderFromTiles(readTile, size);
    expect(treeRoot(fromTiles, size)).toEqual(treeRoot(reference, size));
    reads.length = 0;
    expect(inclusionProof(fromTiles, 1234, size)).toEqual(inclusionProof(reference, 1234, size));
    expect(new Set(reads).size).toBe(reads.length);
  });
});
