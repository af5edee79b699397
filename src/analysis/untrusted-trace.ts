/**
 * A session's untrusted content as explain sees it: the results the backend kept for a fresh
 * engine (its journal), checked against the engine's own state, and whether a value came from them
 * (docs/policy.md, "Untrusted content"), with the piece that matched.
 *
 * Checklist:
 * - the engine's state decides whether the session read untrusted content and whether it is
 *   saturated (a saturated session: every string, number, array and object came from it, and no
 *   piece can be named);
 * - the texts are the journal's only when they are what the engine kept (as many results, as many
 *   UTF-16 units, no saturation mark); otherwise explain cannot know and says so (`known: false`);
 * - matches follow the docs: a whole text, a word of one, or 10 consecutive UTF-16 units of one,
 *   of a string, number or key of the value (a key that matched is named), then the same of the
 *   folded forms (the reference's folding: ASCII letters lower-cased, fullwidth read as ASCII,
 *   punctuation, spaces, dashes and invisible characters dropped), naming the characters beyond
 *   ASCII that folding changed in the value and where it matched;
 * - nothing here changes any state.
 */
import type { EvaluatorState } from '../engine/types.ts';
import { SHOWN_UNITS, truncate } from '../encoding/text.ts';
import {
  foldCodePoint,
  foldedRuns,
  foldedWords,
  textsOf,
} from '../reference/reference-untrusted.ts';

/** Length, in UTF-16 units, of a piece of a value that counts when found in untrusted content. */
export const PIECE = 10;

/** A tool's result the backend kept as untrusted content (or a session's saturation mark). */
export interface UntrustedResult {
  readonly tool: string;
  readonly session?: string;
  readonly result: unknown;
  readonly saturate?: true;
}

/** What explain knows of the session's untrusted content. */
export interface UntrustedState {
  /** The session's key (`''`: the default session). */
  session: string;
  /** Whether the session read untrusted content (`SessionUntrusted`); null when it cannot be told. */
  read: boolean | null;
  /** The untrusted tools it read results of, in the order first read (as far as kept). */
  tools: string[];
  /** Untrusted results the session recorded, as the engine counts them. */
  results: number;
  /** Past a bound: every value counts as from untrusted content. */
  saturated: boolean;
  /** False when explain cannot see what the engine kept: `FromUntrusted` is then unknown here. */
  known: boolean;
  /** Why explain cannot know, when it cannot. */
  why?: string;
}

/** Where a value's text was found in untrusted content. */
export interface UntrustedMatch {
  /** `text`: the whole untrusted text; `word`: a word of it; `piece`: 10 consecutive units of it. */
  how: 'text' | 'word' | 'piece';
  /** What matched: the text, the word or the piece (cut to 64 UTF-16 units, `…` after a cut). */
  found: string;
  /** The tool whose result held it. */
  tool: string;
  /** The key of the checked value that matched (cut to 64 units), when a key did. */
  key?: string;
  /** True when it matched in folded form (re-grouped or re-cased); `found` is then folded. */
  folded?: true;
  /**
   * In folded form: the characters beyond ASCII that folding changed in the value and where it
   * matched in the text (at most 8, first seen first): each code point (`U+200B`) and what it
   * became (`''` dropped, `' '` a space: dropped, ending a word, or the ASCII character it reads as).
   */
  unicode?: { codePoint: string; as: string }[];
}

const SHOWN_CODE_POINTS = 8;

/** One untrusted text and the tool whose result held it. */
interface Text {
  text: string;
  tool: string;
  words: Set<string>;
  /** The folded text, and its folded words with it. */
  folded: string;
  foldedWords: Set<string>;
}

/** The session's content: its state and its texts (empty when saturated or unknown). */
export interface SessionContent {
  state: UntrustedState;
  texts: Text[];
}

const SEPARATORS = /[\t\n\v\f\r "'`<>()[\]{},;]+/;

function wordsOf(text: string): Set<string> {
  const words = new Set<string>();
  for (const piece of text.split(SEPARATORS)) {
    const word = piece.replace(/[.:!?]+$/, '');
    if (word !== '') words.add(word);
  }
  return words;
}

/**
 * The content of `session` from the backend's kept results and the engine's state. `state` null:
 * the engine could not say (a fault, or a backend without state), so nothing is known.
 */
export function sessionContent(
  session: string,
  results: readonly UntrustedResult[] | null,
  state: EvaluatorState | null,
): SessionContent {
  const unknown = (why: string): SessionContent => ({
    state: { session, read: null, tools: [], results: 0, saturated: false, known: false, why },
    texts: [],
  });
  if (state === null) return unknown('the evaluator could not report its state');
  const engine = state.untrusted.sessions.find((s) => s.session === session);
  const overflow = state.untrusted.overflow;
  const kept = (results ?? []).filter((r) => (r.session ?? '') === session && r.saturate !== true);
  const tools = [...new Set(kept.map((r) => r.tool))];
  const base: UntrustedState = {
    session,
    read: overflow || engine !== undefined,
    tools,
    results: engine?.results ?? 0,
    saturated: overflow || engine?.saturated === true,
    known: true,
  };
  if (!base.read || base.saturated) return { state: base, texts: [] };
  const texts: Text[] = [];
  let units = 0;
  for (const r of kept)
    for (const text of textsOf(r.result)) {
      if (text === '') continue;
      units += text.length;
      const folded = foldedWords(text);
      const whole = folded.join('');
      texts.push({
        text,
        tool: r.tool,
        words: wordsOf(text),
        folded: whole,
        foldedWords: new Set(whole === '' ? folded : [...folded, ...foldedRuns(folded), whole]),
      });
    }
  const marked = (results ?? []).some((r) => (r.session ?? '') === session && r.saturate === true);
  if (results === null || marked || kept.length !== engine!.results || units !== engine!.units)
    return {
      state: {
        ...base,
        known: false,
        why: 'the page did not keep every untrusted result the evaluator holds (past its bound)',
      },
      texts: [],
    };
  return { state: base, texts };
}

/**
 * Whether a present, non-null value came from the session's untrusted content, and where: `true`
 * with the match (null when saturated: every value counts, none is named), `false`, or `unknown`
 * when explain cannot see the content.
 */
export function fromUntrusted(
  content: SessionContent,
  value: unknown,
): { result: 'true' | 'false' | 'unknown'; match: UntrustedMatch | null } {
  const none = { match: null };
  if (typeof value === 'boolean') return { result: 'false', ...none };
  const state = content.state;
  if (state.read === false) return { result: 'false', ...none };
  if (state.saturated) return { result: 'true', ...none };
  if (!state.known) return { result: 'unknown', ...none };
  const keysAt = new Set<number>();
  const texts = textsOf(value, [], keysAt);
  for (const [i, text] of texts.entries()) {
    const match = textMatch(content.texts, text) ?? foldedMatch(content.texts, text);
    if (match === null) continue;
    // A key is judged as a string value is; the trace names it.
    return {
      result: 'true',
      match: keysAt.has(i) ? { ...match, key: truncate(text, SHOWN_UNITS) } : match,
    };
  }
  return { result: 'false', ...none };
}

function textMatch(texts: readonly Text[], value: string): UntrustedMatch | null {
  if (value === '') return null;
  for (const t of texts) {
    if (t.text === value) return { how: 'text', found: truncate(value, SHOWN_UNITS), tool: t.tool };
    if (t.words.has(value))
      return { how: 'word', found: truncate(value, SHOWN_UNITS), tool: t.tool };
  }
  for (let at = 0; at + PIECE <= value.length; at++) {
    const piece = value.slice(at, at + PIECE);
    const t = texts.find((candidate) => candidate.text.includes(piece));
    if (t !== undefined) return { how: 'piece', found: piece, tool: t.tool };
  }
  return null;
}

function foldedMatch(texts: readonly Text[], value: string): UntrustedMatch | null {
  const folded = foldedWords(value).join('');
  if (folded === '') return null;
  const found = truncate(folded, SHOWN_UNITS);
  const match = (
    how: UntrustedMatch['how'],
    t: Text,
    shown: string,
    at: number,
    length: number,
  ) => {
    const unicode = changedBeyondAscii(rawSpan(t.text, at, length), changedBeyondAscii(value));
    const m: UntrustedMatch = { how, found: shown, tool: t.tool, folded: true };
    return unicode.length === 0 ? m : { ...m, unicode };
  };
  for (const t of texts) {
    if (t.folded === folded) return match('text', t, found, 0, folded.length);
    if (t.foldedWords.has(folded))
      return match('word', t, found, t.folded.indexOf(folded), folded.length);
  }
  for (let at = 0; at + PIECE <= folded.length; at++) {
    const piece = folded.slice(at, at + PIECE);
    const t = texts.find((candidate) => candidate.folded.includes(piece));
    if (t !== undefined) return match('piece', t, piece, t.folded.indexOf(piece), PIECE);
  }
  return null;
}

/** The part of `text` whose folded form is its folded text's units [at, at + length). */
function rawSpan(text: string, at: number, length: number): string {
  let units = 0;
  let start = -1;
  let end = text.length;
  let i = 0;
  for (const char of text) {
    const f = foldCodePoint(char.codePointAt(0)!) ?? '';
    if (f !== '') {
      if (units === at) start = i;
      units += f.length;
      if (units === at + length) {
        end = i + char.length;
        break;
      }
    }
    i += char.length;
  }
  return start < 0 ? '' : text.slice(start, end);
}

/** The code points beyond ASCII that folding changes in `text`, added to `out` (at most 8). */
function changedBeyondAscii(
  text: string,
  out: { codePoint: string; as: string }[] = [],
): { codePoint: string; as: string }[] {
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    const as = cp < 0x80 ? char : (foldCodePoint(cp) ?? ' ');
    if (as === char || out.length >= SHOWN_CODE_POINTS) continue;
    const codePoint = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    if (!out.some((c) => c.codePoint === codePoint)) out.push({ codePoint, as });
  }
  return out;
}
