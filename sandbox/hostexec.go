package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/pent-sandbox/pent/scope"
)

// ProtectHostExecuted adds to p.Protected every location of locs strictly
// beneath one of p's writable paths, so that a grant of ~/.cargo keeps
// ~/.cargo/bin and ~/.cargo/env read-only. A writable path that is itself a
// location, or lies inside one, was granted by name and stays writable (the
// `pent allow` summary shows it as a widening).
func ProtectHostExecuted(p *Policy, locs []scope.HostExecuted) {
	for _, w := range p.Write {
		for _, l := range scope.HostExecutedBeneath(w, locs) {
			if !slices.Contains(p.Protected, l.Path) {
				p.Protected = append(p.Protected, l.Path)
			}
		}
	}
}

// GuardMissing adds to g, for every location of locs strictly beneath a
// directory of grants that does not exist yet, a guard of the deepest
// directory on its way that exists: what the command creates there at the
// location's name (~/.cargo/config.toml, ~/.claude/hooks, ~/.npm/_npx) is
// moved aside like a protected name in a project, a symlink included.
func (g *Guard) GuardMissing(grants []string, locs []scope.HostExecuted) error {
	for _, w := range grants {
		if !isDir(w) {
			continue // nothing there to write in (or a file grant)
		}
		for _, l := range scope.HostExecutedBeneath(w, locs) {
			if _, err := os.Lstat(l.Path); !errors.Is(err, fs.ErrNotExist) {
				continue // exists: Policy.Protected keeps it read-only
			}
			dir, first := deepestDir(w, l.Path[len(w)+1:])
			if err := g.forbid(w, dir, first); err != nil {
				return err
			}
		}
	}
	return nil
}

// forbid adds name to the denylist of dir in g, guarding dir for root if
// it is not guarded yet (one watch per directory).
func (g *Guard) forbid(root, dir, name string) error {
	for i, d := range g.Dirs {
		if d.Dir != dir {
			continue
		}
		if !d.Allow && !slices.Contains(d.Names, name) {
			g.Dirs[i].Names = append(g.Dirs[i].Names, name)
		}
		return nil // an allowlist forbids it already
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s to guard it: %w", dir, err)
	}
	d := GuardDir{Root: root, Dir: dir, Names: []string{name}}
	for _, e := range entries {
		d.Existing = append(d.Existing, e.Name())
	}
	g.Dirs = append(g.Dirs, d)
	return nil
}
