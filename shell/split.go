package shell

import (
	"errors"

	"github.com/u-root/u-root/pkg/shlex"
)

// split breaks a command line into words with shell quoting rules. shlex
// quietly closes an unterminated quote; the shell reports it instead.
func split(line string) ([]string, error) {
	var quote byte
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return shlex.Argv(line[:i]), nil // the rest is a comment
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated " + string(quote) + " quote")
	}
	if escaped {
		return nil, errors.New("line ends with a lone backslash")
	}
	return shlex.Argv(line), nil
}
