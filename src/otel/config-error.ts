/**
 * A setting (an `ECT_*` environment variable or the option that stands for it) that cannot be
 * used. `code` is stable for programs; the message names the setting and what it accepts.
 *
 * @example
 * try { ectConfigFromEnv(); } catch (error) { if (error instanceof EctConfigError) console.error(error.message); }
 */
export class EctConfigError extends Error {
  override name = 'EctConfigError';
  readonly code: 'ECT_CONFIG_INVALID' = 'ECT_CONFIG_INVALID';
}
