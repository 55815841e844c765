import type { NodeVerdict } from './model.js';

/** The node verdicts in legend order, worst first after `verified`. */
export const NODE_VERDICTS: readonly NodeVerdict[] = ['verified', 'failed', 'suspect', 'partial', 'missing'];

/** How each node verdict is drawn, in every rendering (HTML, Mermaid, DOT). */
export interface VerdictStyle {
  /** Fill of the node box. */
  fill: string;
  /** Border and legend swatch edge. */
  stroke: string;
  /** Text on the fill. */
  text: string;
  /** What the verdict means, for the legend. */
  meaning: string;
}

/**
 * Colours chosen to stay apart for the common colour-vision deficiencies (blue for verified rather
 * than green, so red/green confusion cannot hide a failure); `missing` is also dashed.
 */
export const VERDICT_STYLES: Readonly<Record<NodeVerdict, VerdictStyle>> = {
  verified: { fill: '#cfe3f7', stroke: '#1f5f99', text: '#0b2540', meaning: 'token verified, every check held' },
  failed: { fill: '#f6c3c0', stroke: '#b3261e', text: '#410e0b', meaning: 'a check about this task failed' },
  suspect: { fill: '#fbd9a8', stroke: '#b35c00', text: '#3d1f00', meaning: 'descends from a failed or revoked task' },
  partial: { fill: '#fff2a8', stroke: '#8a7300', text: '#2e2600', meaning: 'something about it could not be checked' },
  missing: { fill: '#e4e4e4', stroke: '#5f5f5f', text: '#262626', meaning: 'named as a predecessor, no token found' },
};
