// Error and reason texts, shared so that every entry point words a fault the same way.
// Lowercase, no trailing period, user values quoted, and what to do next when there is something.

export const E_NOT_INITIALISED = 'no policy loaded; call init with a valid policy first';
export const E_INPUT_TOO_LARGE = 'input is too large; the limit is 1048576 bytes';
export const E_EMPTY_INPUT = 'expected a JSON value, found empty input';
export const E_TOOL_EMPTY = 'tool name is empty; pass the name of the tool being called';
export const E_TOOL_UTF8 = 'tool name is not valid UTF-8';
export const E_ARGS_NOT_OBJECT = 'arguments must be a JSON object';
export const E_CTX_NOT_OBJECT =
  'context must be a JSON object {"role": ..., "agent_attrs": {...}, "resource_attrs": {...}}';
export const E_ROLE_MISSING =
  "context.role is missing or not a non-empty string; the host must pass the caller's role";
export const E_AGENT_ATTRS = 'context.agent_attrs must be a JSON object';
export const E_RESOURCE_ATTRS = 'context.resource_attrs must be a JSON object';
export const E_NOW =
  'context.now must be a number of seconds; leave it out when there is no time (null is refused)';
export const E_OUT_OF_BOUNDS =
  "input buffer is outside the engine's memory; pass pointers returned by alloc";
export const E_SESSION = 'context.session must be a string (the guard session of the call)';
export const E_BAD_ENTRY = 'unknown policy entry; reload the evaluation plan';

export const J_EXPECTED_VALUE =
  'expected a value (object, array, string, number, true, false or null)';
export const J_EXPECTED_KEY = "expected a string key or '}'";
export const J_EXPECTED_KEY_AFTER_COMMA = "expected a string key after ','";
export const J_EXPECTED_COLON = "expected ':' after an object key";
export const J_EXPECTED_OBJECT_END = "expected ',' or '}' after an object member";
export const J_EXPECTED_ARRAY_END = "expected ',' or ']' after an array element";
export const J_EXPECTED_DIGIT = 'expected a digit';
export const J_OUT_OF_RANGE = 'number is out of range for a 64-bit float';
export const J_TOO_DEEP = 'nesting is deeper than 64 levels';
export const J_TRAILING = 'unexpected characters after the JSON value';
export const J_UNTERMINATED = 'unterminated string';
export const J_CONTROL = 'control character in a string; escape it as \\u00XX';
export const J_BAD_ESCAPE =
  'invalid escape; expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX';
export const J_BAD_HEX = 'expected four hex digits after \\u';
export const J_LONE_SURROGATE =
  'lone surrogate in a \\u escape; a high surrogate must be followed by a low one';
export const J_BAD_UTF8 = 'invalid UTF-8 (overlong, surrogate, truncated or out-of-range sequence)';
export const J_DUPLICATE_KEY = 'duplicate key ';

export const P_EXPECTED_OPS_NUM = 'expected one of Lte, Gte, Lt, Gt, Eq';
export const P_EXPECTED_OPS_STR = 'expected one of In, NotIn, Prefix, Suffix';
export const P_EXPECTED_SOURCES = 'expected one of Arguments, AgentAttributes, ResourceAttributes';
export const P_EXPECTED_VARIANTS =
  'expected one of All, Any, Not, NumericCheck, StringCheck, FieldPresent, FieldEquals, Equals, SessionUntrusted, FromUntrusted';
export const P_EXPECTED_FIELD = 'expected a key name or a non-empty array of key names';
