/**
 * Untrusted content per session, written from docs/policy.md ("Untrusted content") alone: what a
 * session read from untrusted tools, and whether a value came from it.
 *
 * Checklist (each line is a sentence of the docs):
 * - a session is untrusted once one result of an untrusted tool was recorded for it;
 * - the untrusted texts of a result are its strings, its numbers as JSON writes them and its
 *   object keys, at any depth;
 * - the words of a text are its pieces between whitespace (U+0009–U+000D, U+0020) and the
 *   characters " ' ` < > ( ) [ ] { } , ; — with . : ! ? at a word's end dropped;
 * - a string or a number (as JSON writes it) came from untrusted content when it is not empty and
 *   equals an untrusted text or a word of one, or when 10 consecutive UTF-16 units of it occur in
 *   an untrusted text; an array or object when a string or number inside it, or one of its keys
 *   (a string, judged as one), did; true and false never;
 * - the same holds of a value's folded form against the folded texts and their folded words, and
 *   the runs of consecutive folded words (end to end) shorter than 10 units:
 *   folding goes code point by code point (a lone surrogate is one); fullwidth U+FF01–U+FF5E are
 *   read as U+0021–U+007E; ASCII letters are lower-cased, ASCII digits kept; @ . _ - +, the dashes
 *   and the invisible characters are dropped; the other ASCII characters and the spaces beyond
 *   ASCII are dropped and end a folded word; every other code point is kept; a value that folds
 *   to nothing never matches folded;
 * - past 1,048,576 UTF-16 units kept over all sessions the session that records more is saturated
 *   (its texts dropped); past 1,024 untrusted sessions every session is; in a saturated session
 *   every string, number, array and object came from untrusted content.
 */

/** Length, in UTF-16 units, of a piece of a value found in an untrusted text. */
export const REFERENCE_PIECE = 10;
const MAX_UNITS = 1 << 20;
const MAX_SESSIONS = 1024;

/** One session's untrusted content. */
export interface ReferenceSessionContent {
  readonly texts: string[];
  readonly words: Set<string>;
  /** The texts folded (see {@link foldedWords}). */
  readonly folded: string[];
  /** The folded texts and their folded words. */
  readonly foldedWords: Set<string>;
  saturated: boolean;
  results: number;
  units: number;
}

const SEPARATORS = /[\t\n\v\f\r "'`<>()[\]{},;]+/;

/**
 * The strings of a value, its numbers as JSON writes them and its object keys, at any depth (a
 * result's untrusted texts, and what a checked value is judged by); `keysAt`, when given, collects
 * the indices in `out` of the keys.
 */
export function textsOf(value: unknown, out: string[] = [], keysAt?: Set<number>): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number') out.push(JSON.stringify(value));
  else if (Array.isArray(value)) for (const item of value) textsOf(item, out, keysAt);
  else if (typeof value === 'object' && value !== null)
    for (const key of Object.keys(value)) {
      keysAt?.add(out.length);
      out.push(key);
      textsOf((value as Record<string, unknown>)[key], out, keysAt);
    }
  return out;
}

/** The untrusted content of every session. */
export class ReferenceUntrustedContent {
  readonly #sessions = new Map<string, ReferenceSessionContent>();
  #units = 0;
  #overflow = false;

  /** Records an untrusted result for `session`. */
  record(session: string, result: unknown): void {
    const content = this.#open(session);
    if (content === null) return;
    content.results++;
    const texts: string[] = [];
    textsOf(result, texts);
    for (const text of texts) {
      if (content.saturated || text === '') continue;
      if (this.#units + text.length > MAX_UNITS) {
        this.saturate(session);
        continue;
      }
      this.#units += text.length;
      content.units += text.length;
      content.texts.push(text);
      content.words.add(text);
      for (const piece of text.split(SEPARATORS)) {
        const word = piece.replace(/[.:!?]+$/, '');
        if (word !== '') content.words.add(word);
      }
      const words = foldedWords(text);
      content.folded.push(words.join(''));
      for (const word of words) content.foldedWords.add(word);
      for (const run of foldedRuns(words)) content.foldedWords.add(run);
      if (words.length > 0) content.foldedWords.add(words.join(''));
    }
  }

  /** Saturates `session`: its texts are dropped, every value counts as untrusted. */
  saturate(session: string): void {
    const content = this.#open(session);
    if (content === null) return;
    this.#units -= content.units;
    content.units = 0;
    content.texts.length = 0;
    content.words.clear();
    content.folded.length = 0;
    content.foldedWords.clear();
    content.saturated = true;
  }

  #open(session: string): ReferenceSessionContent | null {
    const seen = this.#sessions.get(session);
    if (seen !== undefined) return seen;
    if (this.#sessions.size >= MAX_SESSIONS) {
      this.#overflow = true;
      return null;
    }
    const content: ReferenceSessionContent = {
      texts: [],
      words: new Set(),
      folded: [],
      foldedWords: new Set(),
      saturated: false,
      results: 0,
      units: 0,
    };
    this.#sessions.set(session, content);
    return content;
  }

  /** The session's content (a saturated stand-in past the session bound), or null when it read none. */
  of(session: string): ReferenceSessionContent | null {
    const content = this.#sessions.get(session) ?? null;
    if (content === null && this.#overflow)
      return {
        texts: [],
        words: new Set(),
        folded: [],
        foldedWords: new Set(),
        saturated: true,
        results: 0,
        units: 0,
      };
    return this.#overflow && content !== null ? { ...content, saturated: true } : content;
  }

  /** Forgets every session. */
  forget(): void {
    this.#sessions.clear();
    this.#units = 0;
    this.#overflow = false;
  }

  /** The state as the engine reports it. */
  state(): {
    overflow: boolean;
    sessions: { session: string; results: number; units: number; saturated: boolean }[];
  } {
    return {
      overflow: this.#overflow,
      sessions: [...this.#sessions].map(([session, c]) => ({
        session,
        results: c.results,
        units: c.units,
        saturated: c.saturated,
      })),
    };
  }
}

/** Dropped by folding: the dashes that look like `-`, and the invisible characters. */
const DROPPED: readonly (readonly [number, number])[] = [
  // Dashes.
  [0x2010, 0x2015],
  [0x2043, 0x2043],
  [0x2212, 0x2212],
  [0x2e3a, 0x2e3b],
  [0xfe58, 0xfe58],
  [0xfe63, 0xfe63],
  // Unicode's default-ignorable code points.
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfff8],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe0fff],
];
/** Dropped by folding and ending a folded word: the spaces beyond ASCII (White_Space), and U+2800. */
const SPACES: readonly (readonly [number, number])[] = [
  [0x0085, 0x0085],
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  // Not White_Space, but a reader sees a space: the braille pattern blank.
  [0x2800, 0x2800],
  [0x3000, 0x3000],
];

const within = (ranges: readonly (readonly [number, number])[], cp: number): boolean =>
  ranges.some(([first, last]) => cp >= first && cp <= last);

/**
 * A code point folded: its folded text (one character), '' when dropped, or null when it is
 * dropped and ends a folded word.
 */
export function foldCodePoint(cp: number): string | null {
  if (cp >= 0xff01 && cp <= 0xff5e) return foldCodePoint(cp - 0xff01 + 0x21);
  if (cp < 0x80) {
    const char = String.fromCharCode(cp);
    if (/[A-Z]/.test(char)) return char.toLowerCase();
    if (/[a-z0-9]/.test(char)) return char;
    return '@._-+'.includes(char) ? '' : null;
  }
  if (within(SPACES, cp)) return null;
  if (within(DROPPED, cp)) return '';
  return String.fromCodePoint(cp);
}

/** The folded words of `text`, in order (their concatenation is the folded text). */
export function foldedWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  // for…of goes by code point; a lone surrogate comes as itself.
  for (const char of text) {
    const folded = foldCodePoint(char.codePointAt(0)!);
    if (folded !== null) word += folded;
    else if (word !== '') {
      words.push(word);
      word = '';
    }
  }
  if (word !== '') words.push(word);
  return words;
}

/**
 * The runs of two or more consecutive folded words of a text (`words`, from {@link foldedWords}),
 * written end to end, that are shorter than {@link REFERENCE_PIECE} units: `account 1234 5678`
 * has the run `12345678`.
 */
export function foldedRuns(words: readonly string[]): string[] {
  const runs: string[] = [];
  for (let i = 0; i < words.length; i++) {
    let run = words[i]!;
    for (let j = i + 1; j < words.length; j++) {
      run += words[j]!;
      if (run.length >= REFERENCE_PIECE) break;
      runs.push(run);
    }
  }
  return runs;
}

function cameFrom(texts: readonly string[], words: Set<string>, text: string): boolean {
  if (text === '') return false;
  if (words.has(text)) return true;
  for (let at = 0; at + REFERENCE_PIECE <= text.length; at++) {
    const piece = text.slice(at, at + REFERENCE_PIECE);
    if (texts.some((t) => t.includes(piece))) return true;
  }
  return false;
}

function textCameFrom(content: ReferenceSessionContent, text: string): boolean {
  return (
    cameFrom(content.texts, content.words, text) ||
    cameFrom(content.folded, content.foldedWords, foldedWords(text).join(''))
  );
}

/** Whether a present, non-null `value` came from the session's untrusted content (null: it read none). */
export function cameFromUntrusted(
  content: ReferenceSessionContent | null,
  value: unknown,
): boolean {
  if (typeof value === 'boolean' || content === null) return false;
  if (content.saturated) return true;
  return textsOf(value).some((text) => textCameFrom(content, text));
}
