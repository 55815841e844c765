export { HASH_SIZE, leafHash, nodeHash, emptyRoot } from './hash.js';
export { splitPoint, rangeRoot, treeRoot, readerOverLeaves, type NodeReader } from './range.js';
export { inclusionProof, consistencyProof } from './proofs.js';
export { rootFromInclusionProof, verifyInclusion, verifyConsistency } from './verify.js';
export { rightEdge, grow, nodesRead, readerOverNodes, type NodePosition } from './append.js';
