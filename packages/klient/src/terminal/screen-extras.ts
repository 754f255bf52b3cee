import type { Terminal } from '@xterm/headless';

/**
 * Terminal state the serialize addon (0.14) leaves out but a full-screen program relies on:
 * cursor visibility and shape, the scroll region, the mouse encoding, the window title and a
 * DEC line-drawing character set left selected.
 * Read from xterm's internals (named here, in one place); when a newer xterm moves them, the
 * missing part is skipped rather than guessed, and screen.test.ts shows what broke.
 */
interface XtermInternals {
  _core?: {
    coreService?: {
      isCursorHidden?: boolean;
      decPrivateModes?: {
        cursorStyle?: 'block' | 'underline' | 'bar';
        cursorBlink?: boolean;
        origin?: boolean;
      };
    };
    coreMouseService?: { activeEncoding?: string };
    _bufferService?: { buffer?: { scrollTop: number; scrollBottom: number; x: number; y: number } };
    _inputHandler?: { _windowTitle?: string };
    _charsetService?: { glevel: number; _charsets?: Array<Record<string, string> | undefined> };
  };
}

const mouseEncodings: Record<string, string> = {
  SGR: '\x1b[?1006h',
  SGR_PIXELS: '\x1b[?1016h',
  UTF8: '\x1b[?1005h',
  URXVT: '\x1b[?1015h',
};

const cursorShapes: Record<string, number> = { block: 1, underline: 3, bar: 5 };

/** ESC ( ) * + designate G0..G3; SI, SO, LS2, LS3 invoke them. */
const designators = ['(', ')', '*', '+'];
const invocations = ['\x0f', '\x0e', '\x1bn', '\x1bo'];

/** Escape sequences to append after the serialize addon's output to restore the rest. */
export function screenExtras(term: Terminal): string {
  const core = (term as unknown as XtermInternals)._core;
  if (!core) return '';
  let out = '';
  const buffer = core._bufferService?.buffer;
  const modes = core.coreService?.decPrivateModes;
  const fullRegion = buffer ? buffer.scrollTop === 0 && buffer.scrollBottom === term.rows - 1 : true;
  if (buffer && (!fullRegion || modes?.origin)) {
    // DECSTBM and DECOM move the cursor home, so the cursor is placed again after them.
    if (!fullRegion) out += `\x1b[${buffer.scrollTop + 1};${buffer.scrollBottom + 1}r`;
    const row = modes?.origin ? buffer.y - buffer.scrollTop : buffer.y;
    out += `\x1b[${row + 1};${Math.min(buffer.x, term.cols - 1) + 1}H`;
  }
  if (modes?.cursorStyle) {
    out += `\x1b[${cursorShapes[modes.cursorStyle] + (modes.cursorBlink === false ? 1 : 0)} q`;
  }
  const encoding = core.coreMouseService?.activeEncoding;
  if (encoding && mouseEncodings[encoding]) out += mouseEncodings[encoding];
  const title = core._inputHandler?._windowTitle;
  if (title) out += `\x1b]2;${title}\x07`;
  // DEC line drawing left designated (ncurses' box characters), the one non-ASCII set in use.
  const charsets = core._charsetService;
  charsets?._charsets?.forEach((set, g) => {
    if (set?.q === '─') out += `\x1b${designators[g]}0`;
  });
  if (charsets?.glevel) out += invocations[charsets.glevel] ?? '';
  if (core.coreService?.isCursorHidden) out += '\x1b[?25l';
  return out;
}
