export type { SigningKey, VerificationKey, KeyResolver } from './types.js';
export {
  jwkThumbprint,
  algorithmOf,
  importVerificationJwk,
  importSigningJwk,
  publicJwkOf,
  privateJwkOf,
  verificationKeyOf,
  type EctPublicJwk,
  type JwkSet,
} from './jwk.js';
export { generateSigningKey } from './generate.js';
export { JwksResolver } from './jwks-resolver.js';
export { DirectoryJwksResolver } from './directory-resolver.js';
export { RemoteJwksResolver, type RemoteJwksOptions } from './remote.js';
export {
  parseSigningKey,
  parseVerificationKeys,
  loadSigningKey,
  loadVerificationKeys,
  loadVerificationKeysFrom,
  readJwkSetFolder,
  saveKeyFiles,
  findIssuerBinding,
  type IssuerBinding,
  PRIVATE_KEY_FILE,
  JWKS_FILE,
} from './files.js';
