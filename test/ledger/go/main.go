// Command ledger-check is the independent check of the otel-ect ledger: it reads a ledger served
// as static C2SP resources (checkpoint, tile/…, tile/entries/…) from a directory and checks it
// with the transparency community's own Go code — golang.org/x/mod/sumdb/note for the signed
// note, github.com/transparency-dev/formats/log for the checkpoint, and
// github.com/transparency-dev/merkle for the tree, inclusion and consistency proofs.
//
// Usage: ledger-check <request.json>; prints a JSON report on stdout, exit 0 when it was produced.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

type request struct {
	Root        string        `json:"root"`
	VerifierKey string        `json:"verifier_key"`
	Origin      string        `json:"origin"`
	Receipts    []receipt     `json:"receipts"`
	Consistency []consistency `json:"consistency"`
}

type receipt struct {
	Token          string   `json:"token"`
	LeafIndex      uint64   `json:"leaf_index"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"`
}

type consistency struct {
	OldCheckpoint string   `json:"old_checkpoint"`
	NewCheckpoint string   `json:"new_checkpoint"`
	Proof         [][]byte `json:"proof"`
}

type result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type report struct {
	Checkpoint  result   `json:"checkpoint"`
	Size        uint64   `json:"size"`
	Entries     int      `json:"entries"`
	RootMatches result   `json:"root_matches"`
	Tiles       result   `json:"tiles"`
	TilesRead   int      `json:"tiles_read"`
	Receipts    []result `json:"receipts"`
	Consistency []result `json:"consistency"`
}

func errResult(err error) result {
	if err != nil {
		return result{Error: err.Error()}
	}
	return result{OK: true}
}

// tilePath encodes a tile path as C2SP tlog-tiles defines it.
func tilePath(level string, index uint64, width uint64) string {
	n := fmt.Sprintf("%03d", index%1000)
	for rest := index / 1000; rest > 0; rest /= 1000 {
		n = fmt.Sprintf("x%03d/%s", rest%1000, n)
	}
	p := "tile/" + level + "/" + n
	if width < 256 {
		p += fmt.Sprintf(".p/%d", width)
	}
	return p
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ledger-check <request.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(req.VerifierKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verifier key:", err)
		os.Exit(2)
	}
	hasher := rfc6962.DefaultHasher
	var out report

	cpBytes, err := os.ReadFile(filepath.Join(req.Root, "checkpoint"))
	var cp *log.Checkpoint
	if err == nil {
		cp, _, _, err = log.ParseCheckpoint(cpBytes, req.Origin, verifier)
	}
	out.Checkpoint = errResult(err)
	if cp != nil {
		out.Size = cp.Size
		// Entries from the entry bundles, every node of the tree from a compact range.
		nodes := map[compact.NodeID][]byte{}
		factory := &compact.RangeFactory{Hash: hasher.HashChildren}
		rng := factory.NewEmptyRange(0)
		visit := func(id compact.NodeID, hash []byte) {
			if id.Level%8 == 0 {
				nodes[id] = hash
			}
		}
		var bundleErr error
		for index := uint64(0); index*256 < cp.Size && bundleErr == nil; index++ {
			width := min(256, cp.Size-index*256)
			data, err := os.ReadFile(filepath.Join(req.Root, tilePath("entries", index, width)))
			if err != nil {
				bundleErr = err
				break
			}
			for len(data) > 0 && bundleErr == nil {
				if len(data) < 2 || int(binary.BigEndian.Uint16(data))+2 > len(data) {
					bundleErr = fmt.Errorf("bundle %d is truncated", index)
					break
				}
				size := int(binary.BigEndian.Uint16(data))
				leaf := hasher.HashLeaf(data[2 : 2+size])
				visit(compact.NewNodeID(0, rng.End()), leaf)
				if err := rng.Append(leaf, visit); err != nil {
					bundleErr = err
				}
				out.Entries++
				data = data[2+size:]
			}
		}
		if bundleErr == nil && uint64(out.Entries) != cp.Size {
			bundleErr = fmt.Errorf("bundles hold %d entries, checkpoint says %d", out.Entries, cp.Size)
		}
		if bundleErr == nil {
			root, err := rng.GetRootHash(nil)
			if err == nil && !bytes.Equal(root, cp.Hash) {
				err = fmt.Errorf("root of the entries %x is not the checkpoint's %x", root, cp.Hash)
			}
			out.RootMatches = errResult(err)
		} else {
			out.RootMatches = errResult(bundleErr)
		}
		// Every hash tile of the tree must hold the nodes just computed.
		var tileErr error
		for level := uint(0); tileErr == nil; level++ {
			count := cp.Size >> (8 * level)
			if count == 0 {
				break
			}
			for index := uint64(0); index*256 < count && tileErr == nil; index++ {
				width := min(256, count-index*256)
				path := tilePath(fmt.Sprint(level), index, width)
				data, err := os.ReadFile(filepath.Join(req.Root, path))
				if err != nil {
					tileErr = err
					break
				}
				out.TilesRead++
				if uint64(len(data)) != width*32 {
					tileErr = fmt.Errorf("%s is %d bytes", path, len(data))
					break
				}
				for k := uint64(0); k < width; k++ {
					want := nodes[compact.NewNodeID(8*level, index*256+k)]
					if !bytes.Equal(data[k*32:(k+1)*32], want) {
						tileErr = fmt.Errorf("%s hash %d differs from the tree recomputed from the entries", path, k)
						break
					}
				}
			}
		}
		out.Tiles = errResult(tileErr)
	}

	for _, r := range req.Receipts {
		c, _, _, err := log.ParseCheckpoint([]byte(r.Checkpoint), req.Origin, verifier)
		if err == nil {
			err = proof.VerifyInclusion(hasher, r.LeafIndex, c.Size, hasher.HashLeaf([]byte(r.Token)), r.InclusionProof, c.Hash)
		}
		out.Receipts = append(out.Receipts, errResult(err))
	}
	for _, c := range req.Consistency {
		older, _, _, err := log.ParseCheckpoint([]byte(c.OldCheckpoint), req.Origin, verifier)
		var newer *log.Checkpoint
		if err == nil {
			newer, _, _, err = log.ParseCheckpoint([]byte(c.NewCheckpoint), req.Origin, verifier)
		}
		if err == nil {
			err = proof.VerifyConsistency(hasher, older.Size, newer.Size, c.Proof, older.Hash, newer.Hash)
		}
		out.Consistency = append(out.Consistency, errResult(err))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(2)
	}
}
