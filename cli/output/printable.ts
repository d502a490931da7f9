// Text that came from agents, templates or config files is printed to an operator's terminal:
// control characters (ESC sequences that clear the screen, rewrite the line above a prompt,
// set the clipboard or the title) are shown as \xNN instead of being obeyed. Tabs stay.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
