package config

import (
	"fmt"
	"strings"
)

// Pos is a position in a config file; Line and Col count from 1, Col in bytes.
// The zero Pos means "no position" (values from the environment or from
// layers built in code).
type Pos struct {
	Line, Col int
}

// Error is a configuration error, printed as
//
//	FILE:LINE:COL: KEY: MSG (did you mean "HINT"?)
//
// with the parts that are unknown left out.
type Error struct {
	// File is the layer's path ("environment" for PENT_* variables).
	File string
	// Line and Col locate the offending key or value; 0 when unknown.
	Line, Col int
	// Key is the dotted key, e.g. "sandbox.paths.read", or a variable name.
	Key string
	// Msg says what is wrong.
	Msg string
	// Hint is the closest valid name or value, or "".
	Hint string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", e.Hint)
	}
	return b.String()
}

// problem is what a value check finds wrong: a message and, when there is
// one, the value the user probably meant. Callers turn it into an *Error that
// says where.
type problem struct {
	msg, hint string
}

func (p *problem) Error() string {
	if p.hint != "" {
		return fmt.Sprintf("%s (did you mean %q?)", p.msg, p.hint)
	}
	return p.msg
}

// problemf builds a problem without a hint.
func problemf(format string, args ...any) *problem {
	return &problem{msg: fmt.Sprintf(format, args...)}
}

// at turns a problem (or any error) into an *Error located at file, pos and key.
func at(file string, pos Pos, key string, err error) *Error {
	e := &Error{File: file, Line: pos.Line, Col: pos.Col, Key: key, Msg: err.Error()}
	if p, ok := err.(*problem); ok {
		e.Msg, e.Hint = p.msg, p.hint
	}
	return e
}
