import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { hashOctets, hashStream, type HashMode } from '../token/hash.js';
import { WORKFLOW_ID } from './propagation/context-keys.js';
import { ATTR } from '../base/conventions.js';

/**
 * Sets the span's `inp_hash` from the task's input octets (`ect.inp_hash`; the content itself is
 * not recorded).
 *
 * @example setInputHash(JSON.stringify(toolArguments));
 */
export function setInputHash(
  data: string | Uint8Array,
  span: Span | undefined = trace.getActiveSpan(),
  mode?: HashMode,
): void {
  span?.setAttribute(ATTR.inpHash, hashOctets(data, mode));
}

/**
 * Sets the span's `out_hash` from the task's output octets.
 *
 * @example setOutputHash(resultBytes);
 */
export function setOutputHash(
  data: string | Uint8Array,
  span: Span | undefined = trace.getActiveSpan(),
  mode?: HashMode,
): void {
  span?.setAttribute(ATTR.outHash, hashOctets(data, mode));
}

/**
 * Hashes a stream into the span's `inp_hash` or `out_hash`; await it before the span ends.
 *
 * @example await setStreamHash('output', fs.createReadStream(reportPath), span);
 */
export async function setStreamHash(
  which: 'input' | 'output',
  stream: AsyncIterable<Uint8Array | string>,
  span: Span | undefined = trace.getActiveSpan(),
  mode?: HashMode,
): Promise<void> {
  const hash = await hashStream(stream, mode);
  span?.setAttribute(which === 'input' ? ATTR.inpHash : ATTR.outHash, hash);
}

/**
 * Names the span's action explicitly (overrides the derived `exec_act`).
 *
 * @example setExecAct('execute_trade');
 */
export function setExecAct(execAct: string, span: Span | undefined = trace.getActiveSpan()): void {
  span?.setAttribute(ATTR.execAct, execAct);
}

/**
 * Runs `fn` in a context whose new spans belong to workflow `wid` (a UUID) instead of their trace.
 *
 * @example await withWorkflow(orderWorkflowId, () => processOrder(order));
 */
export function withWorkflow<T>(wid: string, fn: () => T, parent: Context = context.active()): T {
  return context.with(parent.setValue(WORKFLOW_ID, wid), fn);
}
