import type { AuditReport } from './model.js';

/** Nodes, edges or findings serialised per chunk. */
const CHUNK = 2048;

/**
 * The report as JSON text in pieces, the same document `JSON.stringify(report)` gives, one line
 * ending in a newline: a million-node report would exceed the largest string V8 can hold, so the
 * long arrays are written a chunk at a time.
 *
 * @example for (const piece of reportJsonChunks(report)) process.stdout.write(piece);
 */
export function* reportJsonChunks(report: AuditReport): Generator<string> {
  const { nodes, edges, findings, ...head } = report;
  const headText = JSON.stringify(head);
  yield `${headText.slice(0, -1)}${headText === '{}' ? '' : ','}`;
  const lists: [string, readonly unknown[]][] = [
    ['nodes', nodes],
    ['edges', edges],
    ['findings', findings],
  ];
  for (const [i, [name, list]] of lists.entries()) {
    yield `${JSON.stringify(name)}:[`;
    for (let at = 0; at < list.length; at += CHUNK) {
      const text = JSON.stringify(list.slice(at, at + CHUNK));
      yield `${at === 0 ? '' : ','}${text.slice(1, -1)}`;
    }
    yield i === lists.length - 1 ? ']' : '],';
  }
  yield '}\n';
}
