// The --hosts filter: an exact address, or a wildcard pattern where `*`
// matches any run of characters. Matched with two pointers and a backtrack to
// the last star only, so the work is at most pattern × text steps whatever
// the pattern (a RegExp of `.*`s backtracks exponentially on the controller's
// only thread).

/** True when `text` matches `pattern` as a whole; `*` is the only special character. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where the last star was, and the text position it is currently made to cover up to.
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      starText = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      // Let the last star swallow one more character and retry what follows it.
      p = star + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
