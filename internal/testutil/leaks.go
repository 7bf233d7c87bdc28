package testutil

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// Leaks searches every place (a name and its text: a log, the events, the statuses, a metrics
// page) for the secrets, as they are and base64-encoded (as a Secret's data appears in JSON),
// and describes each one found without repeating it: "events hold secret #3 (8 characters,
// base64)". Nothing found, nothing returned.
//
// A secret counts only as a word of its own, not inside a longer run of letters, digits, dots
// or dashes: installation-token values are 8 hex characters, which inside the UUIDs, token
// IDs, trace IDs and numbers of a large log turn up by chance; a value that leaked stands on
// its own (quoted, after '=' or ':', between spaces, before a full stop).
func Leaks(places map[string]string, secrets []string) []string {
	// What each candidate word is, if a secret: plain ones among the words, encoded ones among
	// the base64 runs.
	plain := make(map[string]string, len(secrets))
	encoded := make(map[string]string, len(secrets))
	for i, s := range secrets {
		if s != "" {
			plain[s] = fmt.Sprintf("secret #%d (%d characters)", i, len(s))
			encoded[base64.StdEncoding.EncodeToString([]byte(s))] = fmt.Sprintf("secret #%d (%d characters, base64)", i, len(s))
		}
	}
	names := make([]string, 0, len(places))
	for name := range places {
		names = append(names, name)
	}
	sort.Strings(names)
	var found []string
	for _, name := range names {
		seen := map[string]bool{}
		check := func(in map[string]string, w string) {
			if what, ok := in[w]; ok && !seen[what] {
				seen[what] = true
				found = append(found, name+" hold "+what)
			}
		}
		text := places[name]
		runs(text, isWordByte, func(w string) {
			check(plain, w)
			if t := strings.TrimRight(w, "."); t != w && t != "" {
				check(plain, t)
			}
		})
		runs(text, isBase64Byte, func(w string) { check(encoded, w) })
	}
	return found
}

// runs calls f with every maximal run of the bytes of text that in accepts: the words a secret
// could be. Looking words up in a set keeps the check linear in the text, however many
// secrets a run issued.
func runs(text string, in func(byte) bool, f func(string)) {
	start := -1
	for i := 0; i <= len(text); i++ {
		if i < len(text) && in(text[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			f(text[start:i])
			start = -1
		}
	}
}

func isWordByte(b byte) bool {
	return isAlnum(b) || b == '-' || b == '.'
}

func isBase64Byte(b byte) bool { return isAlnum(b) || b == '+' || b == '/' || b == '=' }

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
