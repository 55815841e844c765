"""The Python side of the interoperability test (test/interop/interop.test.ts).

Uses jwcrypto, an implementation independent of this project, to verify tokens the project signed
and to sign tokens (good and deliberately bad) for the project to verify. Reads one JSON request on
standard input, writes one JSON response on standard output; the protocol is described in
test/interop/README.md and is the same for the Go side.
"""

import base64
import json
import sys
from importlib import metadata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk, jws

ALLOWED = ["ES256", "ES384", "EdDSA"]
# The ECT media types, compared as RFC 7515 section 4.1.9 says (case-insensitive, "application/" optional).
ECT_TYPES = {"exec+jwt", "wimse-exec+jwt"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_keys() -> dict:
    """One fresh key per algorithm, each with jwcrypto's RFC 7638 thumbprint as kid."""
    keys = {
        "ES256": jwk.JWK.generate(kty="EC", crv="P-256"),
        "ES384": jwk.JWK.generate(kty="EC", crv="P-384"),
        "EdDSA": jwk.JWK.generate(kty="OKP", crv="Ed25519"),
        "RS256": jwk.JWK.generate(kty="RSA", size=2048),
        "HS256": jwk.JWK.generate(kty="oct", size=256),
    }
    kids = {alg: key.thumbprint() for alg, key in keys.items()}
    # An HS256 forgery names the ES256 key, as an algorithm-confusion attack would.
    kids["HS256"] = kids["ES256"]
    return {alg: (key, kids[alg]) for alg, key in keys.items()}


def verify(token: str, jwks: list) -> dict:
    """Checks one token of the project: an allowed alg, an ECT typ, a kid equal to jwcrypto's own
    thumbprint of one of the given public keys (their kid members are ignored), and the signature."""
    try:
        parsed = jws.JWS()
        parsed.deserialize(token)
        parsed.allowed_algs = ALLOWED
        header = parsed.jose_header
        out = {"ok": False, "alg": header.get("alg"), "typ": header.get("typ"), "kid": header.get("kid")}
        typ = str(header.get("typ", "")).lower().removeprefix("application/")
        if typ not in ECT_TYPES:
            return {**out, "error": f"typ {header.get('typ')!r} is not an ECT type"}
        key = next((k for k in jwks if k.thumbprint() == header.get("kid")), None)
        if key is None:
            return {**out, "error": "no key whose thumbprint is the kid"}
        parsed.verify(key)
        return {**out, "ok": True, "payload": json.loads(parsed.payload)}
    except Exception as error:  # every refusal is reported, the test decides
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def sign(request: dict, keys: dict) -> str:
    """Makes one token as jwcrypto writes it, then, where the request asks for a defect no library
    would produce (alg none, a DER-encoded ECDSA signature), rewrites the relevant part by hand."""
    payload = json.dumps(request["payload"]).encode("utf-8")
    alg = request["alg"]
    header = {"alg": alg}
    if request.get("typ"):
        header["typ"] = request["typ"]
    if alg == "none":
        header["kid"] = keys["ES256"][1]
        return f"{b64(json.dumps(header).encode())}.{b64(payload)}."
    key, kid = keys[alg]
    header["kid"] = kid
    signed = jws.JWS(payload)
    signed.add_signature(key, alg=None, protected=json.dumps(header))
    token = signed.serialize(compact=True)
    if not request.get("der"):
        return token
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    digest = hashes.SHA384() if alg == "ES384" else hashes.SHA256()
    der = key.get_op_key("sign").sign(signing_input, ec.ECDSA(digest))
    return f"{signing_input.decode('ascii')}.{b64(der)}"


def public_jwk(alg: str, keys: dict) -> dict:
    key, kid = keys[alg]
    return {**key.export_public(as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


def main() -> None:
    request = json.load(sys.stdin)
    keys = new_keys()
    verify_part = request.get("verify", {})
    jwks = [jwk.JWK(**k) for k in verify_part.get("jwks", {}).get("keys", [])]
    response = {
        "library": f"jwcrypto {metadata.version('jwcrypto')}",
        "verified": [verify(token, jwks) for token in verify_part.get("tokens", [])],
        "jwks": {"keys": [public_jwk(alg, keys) for alg in ALLOWED]},
        "signed": {r["name"]: sign(r, keys) for r in request.get("sign", [])},
    }
    json.dump(response, sys.stdout)


if __name__ == "__main__":
    main()
