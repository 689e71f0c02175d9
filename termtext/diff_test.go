package termtext

import (
	"fmt"
	"testing"
)

func TestLineEdits(t *testing.T) {
	tests := []struct {
		a, b []string
		want string
	}{
		{nil, nil, "[]"},
		{[]string{"x"}, []string{"x"}, "[{32 1 1 x}]"},
		{[]string{"x"}, nil, "[{45 1 0 x}]"},
		{nil, []string{"y"}, "[{43 0 1 y}]"},
		{[]string{"a", "b", "c"}, []string{"a", "B", "c", "d"}, "[{32 1 1 a} {45 2 0 b} {43 0 2 B} {32 3 3 c} {43 0 4 d}]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(LineEdits(tt.a, tt.b)); got != tt.want {
			t.Errorf("LineEdits(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}
