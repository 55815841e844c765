/**
 * A span's resource as both SDK lines build it: attributes from asynchronous detectors (host id,
 * cloud metadata) may still be coming, and `waitForAsyncAttributes` settles once they have.
 */
export interface SettlingResource {
  readonly asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<void>;
}

/** How long a shutdown waits at most for resource detectors still running. */
const RESOURCE_WAIT_MS = 5000;

/**
 * The resources of started spans whose asynchronous attributes were still pending, so that a
 * shutdown can wait for them. Why: `BatchSpanProcessor` takes a batch off its queue and then, if
 * the resource is not settled, waits for it before calling its exporter; its shutdown waits for
 * neither that batch nor the export under way, and shuts the exporter down. `EctSpanExporter`
 * waits here first, so such a batch reaches it (and then its inner exporter) before that.
 *
 * @example
 * const resources = new UnsettledResources();
 * resources.note(span.resource); // in the processor's onStart
 * await resources.settled(); // before the exporter shuts down
 */
export class UnsettledResources {
  readonly #pending = new Set<SettlingResource>();

  /** Remembers `resource` if its asynchronous attributes are still pending (one property read otherwise). */
  note(resource: SettlingResource | undefined): void {
    if (resource?.asyncAttributesPending === true && typeof resource.waitForAsyncAttributes === 'function')
      this.#pending.add(resource);
  }

  /**
   * Settles once every resource noted so far has its attributes (a detector that failed counts as
   * done), or after `timeoutMs` at most: a detector that never answers must not hold a shutdown.
   */
  async settled(timeoutMs = RESOURCE_WAIT_MS): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([this.#settleAll(), timeout]);
    clearTimeout(timer);
  }

  async #settleAll(): Promise<void> {
    for (const resource of [...this.#pending]) {
      try {
        await resource.waitForAsyncAttributes?.();
      } catch {
        // The SDK logs a failed detector itself; its batch is exported without that attribute.
      }
      this.#pending.delete(resource);
    }
  }
}
