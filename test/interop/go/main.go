// Command ect-interop is the Go side of the interoperability test (test/interop/interop.test.ts).
// It uses go-jose, an implementation independent of this project, to verify tokens the project
// signed and to sign tokens (good and deliberately bad) for the project to verify. It reads one
// JSON request on standard input and writes one JSON response on standard output; the protocol
// is described in test/interop/README.md and is the same for the Python side.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

type signRequest struct {
	Name    string          `json:"name"`
	Alg     string          `json:"alg"`
	Typ     string          `json:"typ,omitempty"`
	Payload json.RawMessage `json:"payload"`
	DER     bool            `json:"der,omitempty"`
}

type request struct {
	Verify struct {
		JWKS   jose.JSONWebKeySet `json:"jwks"`
		Tokens []string           `json:"tokens"`
	} `json:"verify"`
	Sign []signRequest `json:"sign"`
}

type verified struct {
	OK      bool            `json:"ok"`
	Error   string          `json:"error,omitempty"`
	Alg     string          `json:"alg,omitempty"`
	Typ     string          `json:"typ,omitempty"`
	Kid     string          `json:"kid,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type response struct {
	Library  string             `json:"library"`
	Verified []verified         `json:"verified"`
	JWKS     jose.JSONWebKeySet `json:"jwks"`
	Signed   map[string]string  `json:"signed"`
}

// The ECT media types, compared as RFC 7515 §4.1.9 says (case-insensitive, "application/" optional).
var ectTypes = map[string]bool{"exec+jwt": true, "wimse-exec+jwt": true}

var allowed = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(fmt.Errorf("read request: %w", err))
	}
	keys, err := newKeys()
	if err != nil {
		fail(err)
	}
	res := response{Library: "github.com/go-jose/go-jose/v4", Signed: map[string]string{}}
	for _, token := range req.Verify.Tokens {
		res.Verified = append(res.Verified, verify(token, req.Verify.JWKS))
	}
	for _, alg := range []string{"ES256", "ES384", "EdDSA"} {
		res.JWKS.Keys = append(res.JWKS.Keys, keys[alg].Public())
	}
	for _, s := range req.Sign {
		token, err := sign(s, keys)
		if err != nil {
			fail(fmt.Errorf("sign %s: %w", s.Name, err))
		}
		res.Signed[s.Name] = token
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ect-interop:", err)
	os.Exit(2)
}

// verify checks one token of the project: an allowed alg, an ECT typ, a kid equal to go-jose's own
// RFC 7638 thumbprint of one of the given public keys (their kid members are ignored), and the
// signature under that key.
func verify(token string, set jose.JSONWebKeySet) verified {
	jws, err := jose.ParseSignedCompact(token, allowed)
	if err != nil {
		return verified{Error: err.Error()}
	}
	header := jws.Signatures[0].Protected
	typ, _ := header.ExtraHeaders[jose.HeaderType].(string)
	out := verified{Alg: header.Algorithm, Typ: typ, Kid: header.KeyID}
	if !ectTypes[strings.TrimPrefix(strings.ToLower(typ), "application/")] {
		out.Error = fmt.Sprintf("typ %q is not an ECT type", typ)
		return out
	}
	var key *jose.JSONWebKey
	for i := range set.Keys {
		if thumbprint(&set.Keys[i]) == header.KeyID {
			key = &set.Keys[i]
		}
	}
	if key == nil {
		out.Error = "no key whose thumbprint is the kid"
		return out
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.OK = true
	out.Payload = payload
	return out
}

func thumbprint(key *jose.JSONWebKey) string {
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// newKeys makes one fresh key per algorithm, each with its thumbprint as kid.
func newKeys() (map[string]*jose.JSONWebKey, error) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	keys := map[string]*jose.JSONWebKey{
		"ES256": {Key: p256, Algorithm: "ES256", Use: "sig"},
		"ES384": {Key: p384, Algorithm: "ES384", Use: "sig"},
		"EdDSA": {Key: ed, Algorithm: "EdDSA", Use: "sig"},
		"RS256": {Key: rsaKey, Algorithm: "RS256", Use: "sig"},
		"HS256": {Key: secret, Algorithm: "HS256", Use: "sig"},
	}
	for _, key := range keys {
		key.KeyID = thumbprint(key)
	}
	// A symmetric key has no thumbprint here; an HS256 forgery names the ES256 key, as an
	// algorithm-confusion attack would.
	keys["HS256"].KeyID = keys["ES256"].KeyID
	return keys, nil
}

// sign makes one token as go-jose writes it, then, where the request asks for a defect no library
// would produce (alg none, a DER-encoded ECDSA signature), rewrites the relevant part by hand.
func sign(s signRequest, keys map[string]*jose.JSONWebKey) (string, error) {
	if s.Alg == "none" {
		header := map[string]string{"alg": "none", "kid": keys["ES256"].KeyID}
		if s.Typ != "" {
			header["typ"] = s.Typ
		}
		encoded, err := json.Marshal(header)
		if err != nil {
			return "", err
		}
		return b64(encoded) + "." + b64(s.Payload) + ".", nil
	}
	key, ok := keys[s.Alg]
	if !ok {
		return "", fmt.Errorf("no key for alg %q", s.Alg)
	}
	// The raw key and an explicit kid: go-jose leaves kid out for a symmetric JSONWebKey.
	options := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), key.KeyID)
	if s.Typ != "" {
		options = options.WithType(jose.ContentType(s.Typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(s.Alg), Key: key.Key}, options)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(s.Payload)
	if err != nil {
		return "", err
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", err
	}
	if !s.DER {
		return token, nil
	}
	ec, ok := key.Key.(*ecdsa.PrivateKey)
	if !ok {
		return "", errors.New("a DER signature needs an ECDSA key")
	}
	input := token[:strings.LastIndex(token, ".")]
	var digest []byte
	if s.Alg == "ES384" {
		sum := sha512.Sum384([]byte(input))
		digest = sum[:]
	} else {
		sum := sha256.Sum256([]byte(input))
		digest = sum[:]
	}
	der, err := ecdsa.SignASN1(rand.Reader, ec, digest)
	if err != nil {
		return "", err
	}
	return input + "." + b64(der), nil
}

func b64(data []byte) string { return base64.RawURLEncoding.EncodeToString(data) }
