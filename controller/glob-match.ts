// The --hosts filter: a name or an address, exactly or as a wildcard pattern where `*` matches
// any run of characters and `?` one character. Matched with two pointers and a backtrack to the
// last star only, so the work is at most pattern x text steps whatever the pattern (a RegExp of
// `.*`s backtracks exponentially on the controller's only thread).

/** True when `text` matches `pattern` as a whole. */
export function globMatch(pattern: string, text: string): boolean {
  // Linear time (no backtracking RegExp: "********x" must not freeze the controller): on a
  // mismatch, let the last `*` absorb one more character and retry from there.
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
