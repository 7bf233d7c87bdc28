package falcontest

import (
	"fmt"
	"net/http"
	"strings"
)

// filter is a parsed FQL expression: OR of ANDs of terms such as status:'valid' or
// label:*'*text*'. "+" joins terms with AND, "," with OR.
type filter [][]term

type term struct {
	field    string
	value    string
	wildcard bool // field:*'...': * in the value matches any run of characters
	negate   bool // field:!'...'
}

// parseFilter parses FQL; an empty expression matches everything.
func parseFilter(expr string) (filter, error) {
	p := &fqlParser{in: expr}
	var f filter
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	for {
		group, err := p.group()
		if err != nil {
			return nil, err
		}
		f = append(f, group)
		if !p.eat(',') {
			break
		}
	}
	if p.pos != len(p.in) {
		return nil, fmt.Errorf("invalid filter: unexpected %q at %d", p.in[p.pos:], p.pos)
	}
	return f, nil
}

// parseFilterOn parses the request's filter parameter and refuses a term on a field the
// records do not have.
func parseFilterOn(r *http.Request, has func(field string) bool) (filter, *response) {
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return nil, badRequest(err.Error())
	}
	for _, group := range f {
		for _, t := range group {
			if !has(t.field) {
				return nil, badRequest(fmt.Sprintf("invalid filter: unknown field %q", t.field))
			}
		}
	}
	return f, nil
}

type fqlParser struct {
	in  string
	pos int
}

func (p *fqlParser) eat(c byte) bool {
	if p.pos < len(p.in) && p.in[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *fqlParser) group() ([]term, error) {
	var terms []term
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if !p.eat('+') {
			return terms, nil
		}
	}
}

func (p *fqlParser) term() (term, error) {
	start := p.pos
	for p.pos < len(p.in) && (isFieldChar(p.in[p.pos])) {
		p.pos++
	}
	t := term{field: p.in[start:p.pos]}
	if t.field == "" || !p.eat(':') {
		return term{}, fmt.Errorf("invalid filter: want field:'value' at %d", start)
	}
	switch {
	case p.eat('*'):
		t.wildcard = true
	case p.eat('!'):
		t.negate = true
	}
	value, err := p.value()
	if err != nil {
		return term{}, err
	}
	t.value = value
	return t, nil
}

func isFieldChar(c byte) bool {
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// value reads a quoted value ('...' with \' and \\ escapes) or a bare one up to + or ,.
func (p *fqlParser) value() (string, error) {
	if !p.eat('\'') {
		start := p.pos
		for p.pos < len(p.in) && p.in[p.pos] != '+' && p.in[p.pos] != ',' {
			p.pos++
		}
		if p.pos == start {
			return "", fmt.Errorf("invalid filter: empty value at %d", start)
		}
		return p.in[start:p.pos], nil
	}
	var b strings.Builder
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos == len(p.in) {
				return "", fmt.Errorf("invalid filter: dangling escape")
			}
			b.WriteByte(p.in[p.pos])
			p.pos++
		case '\'':
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("invalid filter: unterminated quote")
}

// matches reports whether a record, read through field, matches the filter.
func (f filter) matches(field func(string) (string, bool)) bool {
	if len(f) == 0 {
		return true
	}
	for _, group := range f {
		all := true
		for _, t := range group {
			if !t.matches(field) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (t term) matches(field func(string) (string, bool)) bool {
	v, ok := field(t.field)
	if !ok {
		return false
	}
	var m bool
	if t.wildcard {
		m = wildcardMatch(strings.ToLower(t.value), strings.ToLower(v))
	} else {
		m = strings.EqualFold(t.value, v)
	}
	return m != t.negate
}

// wildcardMatch matches s against pattern, where * matches any run of characters.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
