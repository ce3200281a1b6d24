package fault

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Fault is one entry of a plan: a kind of failure and when it fires.
//
// A fault fires either at a virtual time (a time trigger: Site is empty
// and At is the elapsed time since the run started) or when the run passes
// a site of the model (a site trigger). A site trigger counts the passes
// whose detail contains Match, fires from the Nth of them on, and fires
// Times times in all (0: at every such pass).
type Fault struct {
	Kind  string
	At    time.Duration
	Site  string
	Match string
	Nth   int
	Times int
	// For is how long a lasting fault lasts; 0 means until the healing
	// phase.
	For time.Duration
}

// Plan is a list of faults, in the order they were written.
type Plan []Fault

// String writes f in the plan grammar, in its canonical form: Parse of the
// result gives f back.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.Kind)
	b.WriteByte('@')
	if f.Site == "" {
		b.WriteString(FormatDuration(f.At))
	} else {
		b.WriteString(f.Site)
		if f.Match != "" {
			b.WriteByte(':')
			b.WriteString(strconv.Quote(f.Match))
		}
		if f.Nth > 1 {
			fmt.Fprintf(&b, ":%d", f.Nth)
		}
	}
	if f.For > 0 {
		b.WriteString(" for ")
		b.WriteString(FormatDuration(f.For))
	}
	switch {
	case f.Times == 0:
		b.WriteString(" always")
	case f.Times > 1:
		fmt.Fprintf(&b, " times %d", f.Times)
	}
	return b.String()
}

// String writes the plan in the grammar, faults separated by "; ".
func (p Plan) String() string {
	parts := make([]string, len(p))
	for i, f := range p {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// FormatDuration writes d as time.Duration does, without trailing zero
// units: 2h rather than 2h0m0s. Parse and time.ParseDuration read it back.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseError is a malformed plan: where, and what was expected there.
type ParseError struct {
	Line, Col int // 1-based
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("parse fault plan: %d:%d: %s", e.Line, e.Col, e.Msg)
}

// Parse reads a plan written in the grammar that Grammar describes. An
// empty plan, or one of comments only, is an empty Plan, not nil.
func Parse(src string) (Plan, error) {
	p := &parser{lex: lexer{src: src, line: 1, col: 1}}
	p.next()
	plan := Plan{} // empty, not nil: a plan was given, with no fault in it
	for {
		for p.tok.kind == tokSep {
			p.next()
		}
		if p.tok.kind == tokEOF {
			return plan, nil
		}
		f, err := p.fault()
		if err != nil {
			return nil, err
		}
		plan = append(plan, f)
		if p.tok.kind != tokSep && p.tok.kind != tokEOF {
			return nil, p.errorf("expected ';' or a new line after a fault, found %s", p.tok)
		}
	}
}

type parser struct {
	lex lexer
	tok token
}

func (p *parser) next() { p.tok = p.lex.next() }

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{Line: p.tok.line, Col: p.tok.col, Msg: fmt.Sprintf(format, args...)}
}

// fault parses: kind '@' trigger { modifier }.
func (p *parser) fault() (Fault, error) {
	f := Fault{Times: 1, Nth: 1}
	if p.tok.kind != tokWord {
		return f, p.errorf("expected a fault kind (%s), found %s", strings.Join(KindNames(), ", "), p.tok)
	}
	kind, ok := kinds[p.tok.text]
	if !ok {
		return f, p.errorf("unknown fault kind %q (valid: %s)", p.tok.text, strings.Join(KindNames(), ", "))
	}
	f.Kind = p.tok.text
	p.next()

	if p.tok.kind != tokAt {
		return f, p.errorf("expected '@' after %q, found %s", f.Kind, p.tok)
	}
	p.next()
	if err := p.trigger(&f, kind); err != nil {
		return f, err
	}
	return f, p.modifiers(&f, kind)
}

// trigger parses: duration | site [':' string] [':' number].
func (p *parser) trigger(f *Fault, kind Kind) error {
	switch p.tok.kind {
	case tokDuration, tokNumber:
		if !kind.AtTime {
			return p.errorf("%s has no time trigger; it fires at a site (%s)", f.Kind, strings.Join(kind.Sites, ", "))
		}
		d, err := p.duration()
		if err != nil {
			return err
		}
		f.At = d
		return nil
	case tokWord:
	default:
		return p.errorf("expected a time or a site after '@', found %s", p.tok)
	}

	if !kind.allows(p.tok.text) {
		return p.errorf("%s cannot fire at site %q (valid: %s)", f.Kind, p.tok.text, kind.triggers())
	}
	f.Site = p.tok.text
	p.next()
	if p.tok.kind == tokColon {
		p.next()
		if p.tok.kind == tokString {
			f.Match = p.tok.text
			p.next()
			if p.tok.kind != tokColon {
				return nil
			}
			p.next()
		}
		if p.tok.kind != tokNumber {
			return p.errorf("expected a quoted text or a pass number after ':', found %s", p.tok)
		}
		n, err := strconv.Atoi(p.tok.text)
		if err != nil || n < 1 {
			return p.errorf("pass number must be 1 or more, found %s", p.tok)
		}
		f.Nth = n
		p.next()
	}
	return nil
}

// modifiers parses: { 'for' duration | 'once' | 'always' | 'times' n },
// each at most once, and at most one of the counts.
func (p *parser) modifiers(f *Fault, kind Kind) error {
	seenFor, count := false, ""
	for p.tok.kind == tokWord {
		word := p.tok.text
		switch word {
		case "for":
			if !kind.Lasting {
				return p.errorf("%s does not last; 'for' applies to %s", f.Kind, strings.Join(lastingKinds(), ", "))
			}
			if seenFor {
				return p.errorf("'for' given twice")
			}
			seenFor = true
			p.next()
			d, err := p.duration()
			if err != nil {
				return err
			}
			if d <= 0 {
				return p.errorf("'for' needs a positive duration")
			}
			f.For = d
			continue
		case "once", "always", "times":
		default:
			return p.errorf("expected 'for', 'once', 'always', 'times' or ';', found %s", p.tok)
		}

		if count != "" {
			return p.errorf("'%s' after '%s': give at most one of once, always and times", word, count)
		}
		count = word
		if f.Site == "" && word != "once" {
			return p.errorf("a fault at a time fires once; 'always' and 'times' need a site")
		}
		p.next()
		switch word {
		case "once":
			f.Times = 1
		case "always":
			f.Times = 0
		case "times":
			n, err := strconv.Atoi(p.tok.text)
			if p.tok.kind != tokNumber || err != nil || n < 1 {
				return p.errorf("expected a count of 1 or more after 'times', found %s", p.tok)
			}
			f.Times = n
			p.next()
		}
	}
	return nil
}

// wellFormedDuration matches what time.ParseDuration reads, whatever its
// size.
var wellFormedDuration = regexp.MustCompile(`^([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`)

func (p *parser) duration() (time.Duration, error) {
	if p.tok.kind == tokNumber && p.tok.text == "0" {
		p.next()
		return 0, nil
	}
	if p.tok.kind != tokDuration {
		return 0, p.errorf("expected a duration such as 90s, 30m or 2h, found %s", p.tok)
	}
	d, err := time.ParseDuration(p.tok.text)
	switch {
	case err != nil && wellFormedDuration.MatchString(p.tok.text):
		return 0, p.errorf("duration %q is out of range (at most about 2562047h)", p.tok.text)
	case err != nil || d < 0:
		return 0, p.errorf("malformed duration %q; write it as 90s, 30m or 1h30m", p.tok.text)
	}
	p.next()
	return d, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokNumber
	tokDuration
	tokString
	tokAt
	tokColon
	tokSep
	tokBad
)

type token struct {
	kind      tokKind
	text      string
	line, col int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of plan"
	case tokSep:
		if t.text == "\n" {
			return "end of line"
		}
	case tokString:
		return strconv.Quote(t.text)
	case tokBad:
		return t.text
	}
	return strconv.Quote(t.text)
}

// lexer splits a plan into tokens. Separators are ';' and new lines; '#'
// starts a comment that runs to the end of the line.
type lexer struct {
	src       string
	pos       int
	line, col int
}

func (l *lexer) advance(n int) {
	for _, r := range l.src[l.pos : l.pos+n] {
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
	l.pos += n
}

func (l *lexer) next() token {
	// Blanks and comments.
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\r' {
			l.advance(1)
			continue
		}
		if c == '#' {
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				end = len(l.src) - l.pos
			}
			l.advance(end)
			continue
		}
		break
	}
	t := token{line: l.line, col: l.col}
	if l.pos >= len(l.src) {
		return t
	}

	c := l.src[l.pos]
	switch {
	case c == ';' || c == '\n':
		t.kind, t.text = tokSep, string(c)
		l.advance(1)
	case c == '@':
		t.kind, t.text = tokAt, "@"
		l.advance(1)
	case c == ':':
		t.kind, t.text = tokColon, ":"
		l.advance(1)
	case c == '"':
		t.kind, t.text = l.quoted()
	case c >= '0' && c <= '9':
		n := l.span(func(c byte) bool {
			return c >= '0' && c <= '9' || c == '.' || c >= 'a' && c <= 'z' || c == 0xc2 || c == 0xb5
		})
		t.text = l.src[l.pos : l.pos+n]
		t.kind = tokDuration
		if strings.Trim(t.text, "0123456789") == "" {
			t.kind = tokNumber
		}
		l.advance(n)
	case c >= 'a' && c <= 'z':
		n := l.span(func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' })
		t.kind, t.text = tokWord, l.src[l.pos:l.pos+n]
		l.advance(n)
	default:
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		t.kind, t.text = tokBad, strconv.QuoteRune(r)
		l.advance(size)
	}
	return t
}

func (l *lexer) span(ok func(byte) bool) int {
	n := 0
	for l.pos+n < len(l.src) && ok(l.src[l.pos+n]) {
		n++
	}
	return n
}

// quoted reads a Go-style double-quoted string.
func (l *lexer) quoted() (tokKind, string) {
	end := l.pos + 1
	for end < len(l.src) && l.src[end] != '"' && l.src[end] != '\n' {
		if l.src[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(l.src) || l.src[end] != '"' {
		l.advance(min(end, len(l.src)) - l.pos)
		return tokBad, "an unterminated quoted text"
	}
	s, err := strconv.Unquote(l.src[l.pos : end+1])
	l.advance(end + 1 - l.pos)
	if err != nil {
		return tokBad, "a malformed quoted text"
	}
	return tokString, s
}
