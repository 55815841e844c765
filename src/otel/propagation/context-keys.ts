import { createContextKey, type Context } from '@opentelemetry/api';
import type { EctError } from '../../base/errors.js';
import type { TokenRef } from '../processor/token-ref.js';

/**
 * Tokens extracted from an incoming message: the server span's remote start predecessors. Verified,
 * or (record mode with a crypto pool) as received, their verdict under {@link INCOMING_VERDICT}.
 */
export const INCOMING_TOKENS = createContextKey('otel-ect incoming tokens');
/** Verification failures of an incoming message (recorded on the server span; refused in enforce mode). */
export const INCOMING_FAILURES = createContextKey('otel-ect incoming failures');
/** The verification failures of incoming tokens still being checked in the crypto pool. */
export const INCOMING_VERDICT = createContextKey('otel-ect incoming verdict');
/** An application-chosen workflow id for spans started in this context. */
export const WORKFLOW_ID = createContextKey('otel-ect workflow id');

/** Incoming tokens in `context`, if any. */
export function incomingTokens(context: Context): readonly TokenRef[] {
  return (context.getValue(INCOMING_TOKENS) as readonly TokenRef[] | undefined) ?? [];
}

/** Incoming verification failures in `context`, if any. */
export function incomingFailures(context: Context): readonly EctError[] {
  return (context.getValue(INCOMING_FAILURES) as readonly EctError[] | undefined) ?? [];
}

/** The pending verdict on the incoming tokens in `context` (record mode with a crypto pool), if any. */
export function incomingVerdict(context: Context): Promise<readonly EctError[]> | undefined {
  return context.getValue(INCOMING_VERDICT) as Promise<readonly EctError[]> | undefined;
}
