package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/pent-sandbox/pent/scope"
)

// normalized returns p with every path cleaned, or an error for a policy the
// sandbox cannot honour exactly: no command, a relative path anywhere, an
// unknown network mode.
func (p Policy) normalized() (Policy, error) {
	if err := p.validate(); err != nil {
		return Policy{}, err
	}
	for _, list := range []*[]string{&p.Read, &p.Execute, &p.Write, &p.Traverse, &p.Protected, &p.Guarded, &p.Masked, &p.PrivateTmp} {
		clean := make([]string, len(*list))
		for i, path := range *list {
			clean[i] = filepath.Clean(path)
		}
		*list = clean
	}
	p.Dir = filepath.Clean(p.Dir)
	return p, nil
}

func (p Policy) validate() error {
	if len(p.Command) == 0 {
		return errors.New("no command to run")
	}
	if !filepath.IsAbs(p.Command[0]) {
		return fmt.Errorf("command %q is not an absolute path", p.Command[0])
	}
	if !filepath.IsAbs(p.Dir) {
		return fmt.Errorf("working directory %q is not an absolute path", p.Dir)
	}
	if !slices.Contains(scope.Networks, p.Network) {
		return fmt.Errorf("unknown network mode %q", p.Network)
	}
	for _, list := range [][]string{p.Read, p.Execute, p.Write, p.Traverse, p.Protected, p.Guarded, p.Masked, p.PrivateTmp} {
		for _, path := range list {
			if !filepath.IsAbs(path) {
				return fmt.Errorf("sandbox path %q is not absolute", path)
			}
		}
	}
	return nil
}
