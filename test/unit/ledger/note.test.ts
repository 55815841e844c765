import { describe, expect, it } from 'vitest';
import { isEctError } from '../../../src/base/errors.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../../../src/ledger/checkpoint.js';
import { emptyRoot } from '../../../src/ledger/merkle/index.js';
import { NoteSigner, NoteVerifier, openNote } from '../../../src/ledger/note.js';

// The example key pair and signed note published in the documentation of golang.org/x/mod/sumdb/note.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const refusedWith = (code: string, run: () => unknown): boolean => {
  try {
    run();
    return false;
  } catch (error) {
    return isEctError(error) && error.code === code;
  }
};

describe('signed notes (Go sumdb/note key encodings)', () => {
  it('reads Go key strings and reproduces Go’s signature byte for byte', () => {
    const signer = NoteSigner.fromString(GO_SKEY);
    expect(signer.verifier.toString()).toBe(GO_VKEY);
    expect(signer.toString()).toBe(GO_SKEY);
    expect(signer.sign(GO_TEXT)).toBe(GO_NOTE); // Ed25519 signatures are deterministic
    const opened = openNote(GO_NOTE, [NoteVerifier.fromString(GO_VKEY)]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.verifiedBy.map((v) => v.name)).toEqual(['PeterNeumann']);
  });

  it('refuses altered text, foreign keys and malformed notes', () => {
    const verifier = NoteVerifier.fromString(GO_VKEY);
    expect(
      refusedWith('ECT_LEDGER_NOTE_INVALID', () => openNote(GO_NOTE.replace('answer', 'Answer'), [verifier])),
    ).toBe(true);
    const other = NoteSigner.generate('PeterNeumann').verifier;
    expect(refusedWith('ECT_LEDGER_NOTE_INVALID', () => openNote(GO_NOTE, [other]))).toBe(true);
    expect(refusedWith('ECT_LEDGER_NOTE_INVALID', () => openNote(GO_TEXT, [verifier]))).toBe(true);
    expect(
      refusedWith('ECT_LEDGER_NOTE_INVALID', () => NoteVerifier.fromString(GO_VKEY.replace('c74f20a3', 'c74f20a4'))),
    ).toBe(true);
    expect(refusedWith('ECT_LEDGER_NOTE_INVALID', () => NoteSigner.generate('bad name'))).toBe(true);
  });

  it('keeps signatures by unknown keys without trusting them', () => {
    const a = NoteSigner.generate('log.example/a');
    const b = NoteSigner.generate('witness.example/b');
    const note = a.sign('hello\n');
    const cosigned = `${note}${b.sign('hello\n').split('\n\n')[1]}`;
    const opened = openNote(cosigned, [a.verifier]);
    expect(opened.signatures.map((s) => s.name)).toEqual(['log.example/a', 'witness.example/b']);
    expect(opened.verifiedBy).toEqual([a.verifier]);
  });
});

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  it('formats, signs, opens and parses', () => {
    const signer = NoteSigner.generate('example.com/ledger');
    const root = emptyRoot();
    const text = formatCheckpoint({ origin: 'example.com/ledger', size: 0, root });
    expect(text).toBe('example.com/ledger\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    const note = signCheckpoint({ origin: 'example.com/ledger', size: 12, root, extensions: ['ext one'] }, signer);
    expect(openCheckpoint(note, signer.verifier, 'example.com/ledger')).toEqual({
      origin: 'example.com/ledger',
      size: 12,
      root,
      extensions: ['ext one'],
    });
    expect(refusedWith('ECT_LEDGER_NOTE_INVALID', () => openCheckpoint(note, signer.verifier, 'other.example'))).toBe(
      true,
    );
    expect(
      refusedWith('ECT_LEDGER_NOTE_INVALID', () => openCheckpoint(note.replace('\n12\n', '\n13\n'), signer.verifier)),
    ).toBe(true);
  });

  it('refuses malformed bodies', () => {
    const root = emptyRoot().toString('base64');
    for (const bad of [
      `o\n01\n${root}\n`,
      `o\n-1\n${root}\n`,
      'o\n1\nAAAA\n',
      `o\n1\n${root}`,
      `\n1\n${root}\n`,
      'o\n1\n',
    ]) {
      expect(refusedWith('ECT_LEDGER_NOTE_INVALID', () => parseCheckpoint(bad))).toBe(true);
    }
  });
});
