package config

import "fmt"

// terminator is what ended a statement.
type terminator int

const (
	endOfFile  terminator = iota
	semicolon             // name args... ;
	blockOpen             // name args... {
	blockClose            // }
)

// lexer splits one file into statements, following SRS's tokenizer (itself
// modelled on nginx's ngx_conf_read_token) with one rule made uniform: a
// statement must end on the line where it starts.
type lexer struct {
	file string
	src  []byte
	pos  int
	line int
}

func newLexer(file string, src []byte) *lexer {
	return &lexer{file: file, src: src, line: 1}
}

// statement returns the words of the next statement, what ended it and the
// line it started on.
func (l *lexer) statement() (words []string, end terminator, line int, err error) {
	for {
		l.skipBlanks()
		if l.pos == len(l.src) {
			if len(words) > 0 {
				return nil, 0, 0, l.wordError(line, words[0], `unexpected end of file, expecting ";" or "{"`)
			}
			return nil, endOfFile, l.line, nil
		}
		if len(words) == 0 {
			line = l.line
		}
		switch c := l.src[l.pos]; c {
		case '\n':
			if len(words) > 0 {
				return nil, 0, 0, l.wordError(line, words[0], `unexpected end of line, expecting ";" or "{" (a directive must fit on one line)`)
			}
			l.pos++
			l.line++
		case '#':
			l.skipComment()
		case ';':
			l.pos++
			if len(words) == 0 {
				return nil, 0, 0, l.errorf(line, `unexpected ";" (empty directive)`)
			}
			return words, semicolon, line, nil
		case '{':
			l.pos++
			if len(words) == 0 {
				return nil, 0, 0, l.errorf(line, `unexpected "{" (block without a name)`)
			}
			return words, blockOpen, line, nil
		case '}':
			l.pos++
			if len(words) > 0 {
				return nil, 0, 0, l.wordError(line, words[0], `unexpected "}", expecting ";"`)
			}
			return nil, blockClose, line, nil
		case '"', '\'':
			w, err := l.quoted(c)
			if err != nil {
				return nil, 0, 0, err
			}
			words = append(words, w)
		default:
			words = append(words, l.word())
		}
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func (l *lexer) skipBlanks() {
	for l.pos < len(l.src) && isBlank(l.src[l.pos]) {
		l.pos++
	}
}

// skipComment stops before the newline so that line counting stays in one place.
func (l *lexer) skipComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
	}
}

// word reads an unquoted word. Only blanks, newlines, ';' and '{' end it:
// '#', quotes and '}' inside a word are literal, as in SRS ("19#35").
func (l *lexer) word() string {
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isBlank(c) || c == '\n' || c == ';' || c == '{' {
			break
		}
		l.pos++
	}
	return string(l.src[start:l.pos])
}

// quoted reads a word between quotes. There are no escapes; the word may
// not span lines, and the closing quote must be followed by a separator.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos + 1
	for l.pos = start; l.pos < len(l.src); l.pos++ {
		switch l.src[l.pos] {
		case '\n':
			return "", l.errorf(l.line, "unterminated quote %q", q)
		case q:
			w := string(l.src[start:l.pos])
			l.pos++
			if l.pos < len(l.src) {
				if c := l.src[l.pos]; !isBlank(c) && c != '\n' && c != ';' && c != '{' {
					return "", l.errorf(l.line, "unexpected %+q after closing quote", c)
				}
			}
			return w, nil
		}
	}
	return "", l.errorf(l.line, "unterminated quote %q", q)
}

func (l *lexer) errorf(line int, format string, args ...any) *Error {
	return &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// wordError reports a statement that did not end properly. Its first word
// is named only when it is a directive we know: such a statement is what
// a file that is not a configuration produces (a line of /etc/shadow, a
// password alone in a secrets file), and its words are that file's content.
func (l *lexer) wordError(line int, word, msg string) *Error {
	if knownName(word) {
		return &Error{File: l.file, Line: line, Directive: word, Msg: msg}
	}
	return &Error{File: l.file, Line: line, Msg: "not a directive: " + msg}
}
