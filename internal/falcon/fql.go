package falcon

import "strings"

// QuoteFQL returns value as an FQL string literal: in single quotes, with backslash and single
// quote escaped by a backslash, so user input (a label) can neither end the literal nor add
// terms to the filter. Bytes are copied as they are, so any string round-trips.
func QuoteFQL(value string) string {
	var b strings.Builder
	b.Grow(len(value) + 2)
	b.WriteByte('\'')
	for i := range len(value) {
		if value[i] == '\\' || value[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(value[i])
	}
	b.WriteByte('\'')
	return b.String()
}
