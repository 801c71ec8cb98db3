// Package lineedit owns the shell's serial-console line: the bytes typed so
// far, the escape-sequence and UTF-8 decoders between keystrokes, and a
// bounded command history. An Editor takes raw terminal input one byte at a
// time and returns the bytes to echo back and, when a line ends, an Event.
// It is plain Go above the runtime and runs unchanged in host tests.
//
// Keys: CR or LF ends a line (a CRLF, LFCR or telnet CR NUL pair counts
// once); DEL or BS erases one rune; Ctrl-U erases the line; Ctrl-C abandons
// it, echoing ^C; Ctrl-D on an empty line is EOF; Ctrl-L clears the screen
// and redraws; Up and Down (ESC [ A/B or ESC O A/B) walk the history. Any
// other escape sequence is consumed and ignored. An ESC followed by a byte
// that cannot continue a sequence is dropped and that byte keeps its usual
// meaning, so ESC CR still ends the line.
//
// Bad input is never stored or echoed. A control byte, invalid UTF-8 or a
// C1 control character marks the line bad; typing past maxLine bytes stops
// insertion and echo but keeps counting. Either way the line ends in an
// Error event naming the first problem, never in a truncated Line. Ctrl-U
// and Ctrl-C clear the mark. The mark belongs to the typed text: a history
// entry shown in its place is clean, and Down brings back the draft with
// its mark. Once a line is too long, backspace and history are ignored: the
// dropped tail cannot be edited, only ended or erased.
//
// Invariants (all checked by FuzzFeed):
//   - line-bound: the line never holds more than maxLine bytes; bytes past
//     the limit are counted, not kept.
//   - memory-bound: an Editor holds at most historySize+2 texts (history,
//     line, draft) of at most maxLine bytes each; the escape decoder keeps
//     no parameter bytes and the UTF-8 decoder at most utf8.UTFMax.
//   - clean-line: the line, and every Line event, holds only printable
//     ASCII and valid UTF-8 without control characters.
//   - clean-output: Feed emits only such text plus \r, \n, \b and, for
//     Ctrl-L, ESC [ H and ESC [ 2 J.
//   - screen-sync: after every Feed the terminal row shows the prompt then
//     the line, with the cursor at its end, counting one column per rune
//     (wide and combining characters break this; the shell accepts that).
//   - no-silent-loss: a line with a rejected or dropped byte ends in Error.
//
// Concurrency: none. An Editor belongs to one console reader.
//
// DragonFly's console line discipline is the canonical mode of
// sys/kern/tty.c (VERASE, VKILL, VINTR, VEOF); this package keeps those keys
// but, unlike tty.c, adds history and rejects bad bytes instead of passing
// them through.
package lineedit
