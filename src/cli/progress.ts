import type { CliIo } from './io.js';

/** One state of a long command, as the progress line shows it. */
export interface ProgressState {
  /** What is under way: `reading export/spans.jsonl`, `verifying`. */
  label: string;
  /** How far, of how much, when the end is known: a bar and a percentage are drawn. */
  done?: number;
  total?: number;
  /** A count shown after the bar (or alone, when the end is unknown): `1,204,096 records`. */
  count?: { value: number; unit: string };
}

const BAR_CELLS = 24;
/** A terminal is redrawn at most this often: more is flicker and, over ssh, traffic. */
const REDRAW_MS = 100;

/**
 * The text of one progress line, at most `columns` wide: the label, a bar with its percentage when
 * the end is known, and the count. Pure, so its shape is tested without a terminal.
 *
 * @example
 * renderProgress({ label: 'reading a.jsonl', done: 42, total: 100, count: { value: 8192, unit: 'records' } }, 80)
 * // 'reading a.jsonl [██████████░░░░░░░░░░░░░░]  42% 8,192 records'
 */
export function renderProgress(state: ProgressState, columns = 80): string {
  const parts: string[] = [];
  if (state.total !== undefined && state.total > 0 && state.done !== undefined) {
    const fraction = Math.min(1, Math.max(0, state.done / state.total));
    const filled = Math.floor(fraction * BAR_CELLS);
    parts.push(
      `[${'█'.repeat(filled)}${'░'.repeat(BAR_CELLS - filled)}]`,
      `${Math.floor(fraction * 100)}%`.padStart(4),
    );
  }
  if (state.count !== undefined) parts.push(`${state.count.value.toLocaleString('en')} ${state.count.unit}`);
  const tail = parts.join(' ');
  // The label gives way first: a long path is cut at its start, where it matters least.
  const room = Math.max(0, columns - 1 - tail.length - (tail === '' ? 0 : 1));
  const label = state.label.length <= room ? state.label : `…${state.label.slice(state.label.length - room + 1)}`;
  return (tail === '' ? label : room === 0 ? tail : `${label} ${tail}`).slice(0, Math.max(0, columns - 1));
}

/**
 * A progress line on standard error, redrawn in place on a terminal at most every 100 ms and never
 * written anywhere else: piped or redirected output stays clean. `done()` erases it.
 *
 * @example
 * const line = ProgressLine.forStderr(io, !options.json);
 * for (const x of work) line.update({ label: 'reading', done: i, total: n });
 * line.done();
 */
export class ProgressLine {
  readonly #io: CliIo;
  /** The terminal's width; undefined when nothing is drawn. */
  readonly #columns: (() => number) | undefined;
  #drawn = false;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #lastLabel = '';

  private constructor(io: CliIo, columns: (() => number) | undefined) {
    this.#io = io;
    this.#columns = columns;
  }

  /**
   * A line drawn when `wanted` and standard error is a terminal; otherwise one that draws nothing.
   * `isTTY` and `columns` default to the process's standard error.
   */
  static forStderr(
    io: CliIo,
    wanted: boolean,
    terminal: { isTTY?: boolean; columns?: number } = process.stderr,
  ): ProgressLine {
    // A terminal that reports no width (a pseudo-terminal never sized reports 0) is taken as 80 wide.
    const columns = () => (terminal.columns !== undefined && terminal.columns >= 20 ? terminal.columns : 80);
    return new ProgressLine(io, wanted && terminal.isTTY === true ? columns : undefined);
  }

  /** True when the line is drawn (a terminal, and wanted). */
  get shown(): boolean {
    return this.#columns !== undefined;
  }

  /** Redraws the line, unless it was drawn less than 100 ms ago with the same label. */
  update(state: ProgressState, now = performance.now()): void {
    if (this.#columns === undefined) return;
    if (state.label === this.#lastLabel && now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#lastLabel = state.label;
    this.#drawn = true;
    this.#io.stderr(`\r\u001b[K${renderProgress(state, this.#columns())}`);
  }

  /** Erases the line. */
  done(): void {
    if (this.#drawn) this.#io.stderr('\r\u001b[K');
    this.#drawn = false;
  }
}
