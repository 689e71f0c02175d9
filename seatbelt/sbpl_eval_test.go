package seatbelt

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pent-sandbox/pent/scope"
)

// This file is a small reader and evaluator of the SBPL that SBPL emits, so
// that the tests can ask what a generated profile decides for an operation on
// a path, on any OS. It models the documented Seatbelt semantics the
// generator relies on: deny by default, a rule matches when one of its
// operations covers the asked one ("file-read*" covers "file-read-data") and
// one of its path filters matches (literal: the same path; subpath: the path
// or beneath it; regex), and the last matching rule decides.

// sexp is a parsed SBPL value: a list, a string literal, a regex literal or
// a symbol.
type sexp struct {
	list  []sexp
	isStr bool
	isRe  bool
	atom  string
}

func (s sexp) isList() bool { return s.list != nil }

// parseSBPL reads a whole profile; it fails on unbalanced parentheses,
// unterminated strings and unknown escapes.
func parseSBPL(src string) ([]sexp, error) {
	p := &sbplReader{src: src}
	var top []sexp
	for {
		p.skip()
		if p.i >= len(p.src) {
			return top, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		top = append(top, v)
	}
}

type sbplReader struct {
	src string
	i   int
}

func (p *sbplReader) skip() {
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == ';':
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.i++
			}
		case c == ' ' || c == '\n' || c == '\t':
			p.i++
		default:
			return
		}
	}
}

func (p *sbplReader) value() (sexp, error) {
	switch {
	case p.src[p.i] == '(':
		p.i++
		list := []sexp{}
		for {
			p.skip()
			if p.i >= len(p.src) {
				return sexp{}, fmt.Errorf("unbalanced '(' at end of profile")
			}
			if p.src[p.i] == ')' {
				p.i++
				return sexp{list: list}, nil
			}
			v, err := p.value()
			if err != nil {
				return sexp{}, err
			}
			list = append(list, v)
		}
	case p.src[p.i] == ')':
		return sexp{}, fmt.Errorf("unexpected ')' at offset %d", p.i)
	case p.src[p.i] == '"':
		s, err := p.str()
		return sexp{isStr: true, atom: s}, err
	case strings.HasPrefix(p.src[p.i:], `#"`):
		p.i++
		s, err := p.str()
		return sexp{isRe: true, atom: s}, err
	default:
		start := p.i
		for p.i < len(p.src) && !strings.ContainsRune(" \n\t()\";", rune(p.src[p.i])) {
			p.i++
		}
		return sexp{atom: p.src[start:p.i]}, nil
	}
}

// str reads a double-quoted string with \\ and \" escapes.
func (p *sbplReader) str() (string, error) {
	start := p.i
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch c {
		case '"':
			p.i++
			return b.String(), nil
		case '\\':
			if p.i+1 >= len(p.src) || (p.src[p.i+1] != '\\' && p.src[p.i+1] != '"') {
				return "", fmt.Errorf("unknown escape in string at offset %d", p.i)
			}
			b.WriteByte(p.src[p.i+1])
			p.i += 2
		case '\n':
			return "", fmt.Errorf("newline inside string starting at offset %d", start)
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", fmt.Errorf("unterminated string starting at offset %d", start)
}

// sbplRule is one allow or deny rule.
type sbplRule struct {
	allow   bool
	ops     []string
	filters []sexp
}

// rulesOf parses profile into its rules, failing the test on bad syntax.
func rulesOf(t *testing.T, profile string) []sbplRule {
	t.Helper()
	top, err := parseSBPL(profile)
	if err != nil {
		t.Fatalf("profile does not parse: %v\n%s", err, profile)
	}
	var rules []sbplRule
	for _, v := range top {
		if !v.isList() || len(v.list) == 0 {
			t.Fatalf("top-level value %+v is not a rule", v)
		}
		head := v.list[0].atom
		if head == "version" {
			continue
		}
		if head != "allow" && head != "deny" {
			t.Fatalf("top-level form %q is neither allow nor deny", head)
		}
		r := sbplRule{allow: head == "allow"}
		for _, arg := range v.list[1:] {
			if arg.isList() {
				r.filters = append(r.filters, arg)
			} else {
				r.ops = append(r.ops, arg.atom)
			}
		}
		if len(r.ops) == 0 {
			t.Fatalf("rule %+v names no operation", v)
		}
		rules = append(rules, r)
	}
	return rules
}

// decide is what the rules decide for op on path: true for allow.
func decide(rules []sbplRule, op, path string) bool {
	allowed := false
	for _, r := range rules {
		if r.coversOp(op) && r.matchesPath(path) {
			allowed = r.allow
		}
	}
	return allowed
}

func (r sbplRule) coversOp(op string) bool {
	for _, o := range r.ops {
		if o == "default" || o == op || (strings.HasSuffix(o, "*") && strings.HasPrefix(op, strings.TrimSuffix(o, "*"))) {
			return true
		}
	}
	return false
}

// matchesPath is true for a rule without filters, or one whose path filter
// matches; rules with only non-path filters (services, sysctls, IP
// addresses) never match a path. A UNIX-socket filter, (remote unix-socket)
// or (local unix-socket), matches every socket path, and with a path filter
// inside, the paths that filter matches.
func (r sbplRule) matchesPath(path string) bool {
	if len(r.filters) == 0 {
		return true
	}
	for _, f := range r.filters {
		if len(f.list) >= 2 && (f.list[0].atom == "remote" || f.list[0].atom == "local") && f.list[1].atom == "unix-socket" {
			if len(f.list) == 2 || (sbplRule{filters: f.list[2:]}).matchesPath(path) {
				return true
			}
			continue
		}
		if len(f.list) != 2 {
			continue
		}
		arg := f.list[1]
		switch f.list[0].atom {
		case "literal", "path-literal":
			if arg.atom == path {
				return true
			}
		case "subpath":
			if scope.Within(path, arg.atom) {
				return true
			}
		case "regex":
			if regexp.MustCompile(arg.atom).MatchString(path) {
				return true
			}
		}
	}
	return false
}

func TestSBPLEvaluatorSemantics(t *testing.T) {
	rules := rulesOf(t, `(version 1)
(deny default)
(allow file-read* (subpath "/a"))
(deny file-read-data (literal "/a/secret"))
(allow file-write* (literal "/a/q\"uote") (subpath "/b"))`)
	tests := []struct {
		op, path string
		want     bool
	}{
		{"file-read-data", "/a/x", true},
		{"file-read-metadata", "/a/secret", true},
		{"file-read-data", "/a/secret", false},
		{"file-read-data", "/ab", false},
		{"file-write-data", `/a/q"uote`, true},
		{"file-write-create", "/b/c/d", true},
		{"process-exec", "/a/x", false},
	}
	for _, tt := range tests {
		if got := decide(rules, tt.op, tt.path); got != tt.want {
			t.Errorf("decide(%s, %s) = %v, want %v", tt.op, tt.path, got, tt.want)
		}
	}
	for _, bad := range []string{`(allow`, `(allow file-read* (literal "/x))`, `(allow file-read* (literal "\n"))`, `)`} {
		if _, err := parseSBPL(bad); err == nil {
			t.Errorf("parseSBPL(%q) succeeded, want an error", bad)
		}
	}
}
