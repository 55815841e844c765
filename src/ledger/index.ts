/**
 * The audit ledger: a transparency log of tokens in the formats the transparency community runs
 * (RFC 9162 Merkle tree, C2SP tlog-checkpoint, signed-note and tlog-tiles), with receipts anyone
 * can check offline with the ledger's public note key.
 */
export * from './merkle/index.js';
export { NoteSigner, NoteVerifier, openNote, type NoteSignature, type OpenedNote } from './note.js';
export { formatCheckpoint, parseCheckpoint, signCheckpoint, openCheckpoint, type Checkpoint } from './checkpoint.js';
export {
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  parseTilePath,
  tilesOfTree,
  hashesAtLevel,
  encodeEntryBundle,
  parseEntryBundle,
  nodeReaderFromTiles,
  type TileId,
  type TileReader,
} from './tiles.js';
export { claimsOf, toLedgerEntry, jtiKeyOf, type LedgerEntry } from './entry.js';
export { verifyReceipt, type Receipt } from './receipt.js';
export {
  FileLedger,
  defaultLedgerDir,
  LEDGER_FILES,
  type FileLedgerOptions,
  type AppendResult,
} from './file-store.js';
export { PgLedger, type PgLedgerOptions, type PgLedgerReadOptions } from './pg-store.js';
export { RemoteLedger, type RemoteLedgerOptions, type RemoteHead } from './remote-store.js';
export {
  openLedgerForReading,
  ledgerKind,
  type LedgerReader,
  type LedgerHead,
  type LedgerKind,
  type OpenForReadingOptions,
  type LedgerReaderAuditOptions,
} from './open.js';
export { createLedgerServer, type LedgerServerOptions } from './server.js';
export type { LedgerStore } from './store.js';
export {
  auditLedger,
  auditTiledLedger,
  type LedgerAudit,
  type LedgerProblem,
  type AuditLedgerOptions,
  type AuditTiledLedgerOptions,
  type TiledLedgerSource,
} from './audit-log.js';
export { EctLedgerError } from '../base/errors.js';
export { Spool, type SpoolOptions, type SpoolPosition, type SpoolBatch, type RejectedToken } from './spool.js';
export { LedgerForwarder, type LedgerForwarderOptions, type ForwarderEvents } from './forward/forwarder.js';
export type { LedgerTarget, ForwardOutcome, RetryHint } from './forward/target.js';
export { HttpLedgerTarget, type HttpLedgerTargetOptions } from './forward/http-target.js';
export { FileLedgerTarget, type FileLedgerTargetOptions } from './forward/file-target.js';
