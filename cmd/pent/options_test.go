package main

import (
	"io"
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

// parseOptions builds a command with build, executes it with args and
// returns the options its runF was given (nil when runF was not reached,
// as when the arguments are refused).
func parseOptions[T any](t *testing.T, build func(runF func(*T) error) *cobra.Command, args []string) (*T, error) {
	t.Helper()
	var got *T
	cmd := build(func(o *T) error {
		got = o
		return nil
	})
	if args == nil {
		args = []string{} // nil would make cobra read the test binary's own arguments
	}
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return got, err
}

// optionsCase is one row of a command's flag-parsing table: args are refused
// when want is nil.
type optionsCase[T any] struct {
	name string
	args []string
	want *T
}

// checkOptions runs every case of a command's table; clear zeroes the fields
// a case cannot predict (the command tree, functions) before comparing.
func checkOptions[T any](t *testing.T, build func(runF func(*T) error) *cobra.Command, clear func(*T), cases []optionsCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOptions(t, build, tc.args)
			if tc.want == nil {
				if err == nil || got != nil {
					t.Fatalf("%q accepted (options %+v), want an error", tc.args, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.args, err)
			}
			if got == nil {
				t.Fatalf("%q: runF not called", tc.args)
			}
			if clear != nil {
				clear(got)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%q:\n got %+v\nwant %+v", tc.args, got, tc.want)
			}
		})
	}
}

func TestRunOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	build := func(runF func(*RunOptions) error) *cobra.Command { return NewCmdRun(f, runF) }
	base := func(o RunOptions) *RunOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, build, nil, []optionsCase[RunOptions]{
		{"command only", []string{"--", "make", "-j2"}, base(RunOptions{Command: []string{"make", "-j2"}})},
		{"flags after the command are its own", []string{"ls", "--network", "x"}, base(RunOptions{Command: []string{"ls", "--network", "x"}})},
		{"every flag", []string{"--network", "proxy", "--allow", "a.example", "--allow", "b.example:22", "--read", "/r", "--write", "/w",
			"--execute", "/x", "--traverse", "/t", "--profile", "@npm", "--env", "K=V", "--config", "c.toml", "--no-config",
			"--trace", "--quiet", "--project", "/p", "--wrapped", "npm", "--", "npm", "ci"},
			base(RunOptions{Network: "proxy", Allow: []string{"a.example", "b.example:22"}, Read: []string{"/r"}, Write: []string{"/w"},
				Execute: []string{"/x"}, Traverse: []string{"/t"}, Profiles: []string{"@npm"}, Env: []string{"K=V"}, Config: "c.toml",
				NoConfig: true, Trace: true, Quiet: true, Project: "/p", Wrapped: "npm", Command: []string{"npm", "ci"}})},
		{"no command", []string{"--trace"}, nil},
		{"unknown flag", []string{"--bogus", "--", "true"}, nil},
	})
}

func TestShellOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	build := func(runF func(*RunOptions) error) *cobra.Command { return NewCmdShell(f, runF) }
	checkOptions(t, build, nil, []optionsCase[RunOptions]{
		{"no SHELL", nil, &RunOptions{IO: f.IO, Factory: f, Command: []string{"/bin/sh"}}},
		{"arguments", []string{"zsh"}, nil},
	})
	f.Env["SHELL"] = "/usr/bin/fish"
	checkOptions(t, build, nil, []optionsCase[RunOptions]{
		{"SHELL", nil, &RunOptions{IO: f.IO, Factory: f, Command: []string{"/usr/bin/fish"}}},
	})
	f.Env["SHELL"] = "fish"
	checkOptions(t, build, nil, []optionsCase[RunOptions]{
		{"relative SHELL", nil, &RunOptions{IO: f.IO, Factory: f, Command: []string{"/bin/sh"}}},
	})
}

func TestTrustOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	cases := []optionsCase[TrustOptions]{
		{"working directory", nil, &TrustOptions{IO: f.IO, Factory: f}},
		{"path", []string{"/src/app"}, &TrustOptions{IO: f.IO, Factory: f, Path: "/src/app"}},
		{"two paths", []string{"/a", "/b"}, nil},
	}
	t.Run("deny", func(t *testing.T) {
		checkOptions(t, func(runF func(*TrustOptions) error) *cobra.Command { return NewCmdDeny(f, runF) }, nil,
			append(cases, optionsCase[TrustOptions]{"deny has no --yes", []string{"--yes"}, nil}))
	})
	t.Run("allow", func(t *testing.T) {
		checkOptions(t, func(runF func(*TrustOptions) error) *cobra.Command { return NewCmdAllow(f, runF) }, nil,
			append(cases,
				optionsCase[TrustOptions]{"yes and verbose", []string{"-y", "--verbose", "/a"}, &TrustOptions{IO: f.IO, Factory: f, Path: "/a", Yes: true, Verbose: true}},
				optionsCase[TrustOptions]{"long yes, short verbose", []string{"--yes", "-v"}, &TrustOptions{IO: f.IO, Factory: f, Yes: true, Verbose: true}}))
	})
}

func TestProfilesOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*ProfilesOptions) error) *cobra.Command { return NewCmdProfiles(f, runF) }, nil,
		[]optionsCase[ProfilesOptions]{
			{"list", nil, &ProfilesOptions{IO: f.IO}},
			{"one", []string{"@npm"}, &ProfilesOptions{IO: f.IO, Name: "@npm"}},
			{"two", []string{"@npm", "@gh"}, nil},
		})
}

func TestDoctorOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	build := func(runF func(*DoctorOptions) error) *cobra.Command { return NewCmdDoctor(f, runF) }
	checkOptions(t, build, func(o *DoctorOptions) {
		if o.Checks == nil {
			t.Error("doctor has no checks")
		}
		o.Checks = nil
	}, []optionsCase[DoctorOptions]{
		{"plain", nil, &DoctorOptions{IO: f.IO}},
		{"arguments", []string{"landlock"}, nil},
	})
}

func TestVersionOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*VersionOptions) error) *cobra.Command { return NewCmdVersion(f, runF) }, nil,
		[]optionsCase[VersionOptions]{
			{"plain", nil, &VersionOptions{IO: f.IO}},
			{"arguments", []string{"--short"}, nil},
		})
}

func TestCompletionOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	build := func(runF func(*CompletionOptions) error) *cobra.Command { return NewCmdCompletion(f, runF) }
	clear := func(o *CompletionOptions) {
		if o.Root == nil {
			t.Error("no command tree to complete")
		}
		o.Root = nil
	}
	checkOptions(t, build, clear, []optionsCase[CompletionOptions]{
		{"bash", []string{"bash"}, &CompletionOptions{IO: f.IO, Shell: "bash"}},
		{"zsh", []string{"zsh"}, &CompletionOptions{IO: f.IO, Shell: "zsh"}},
		{"fish", []string{"fish"}, &CompletionOptions{IO: f.IO, Shell: "fish"}},
		{"unknown shell", []string{"tcsh"}, nil},
		{"no shell", nil, nil},
	})
}

func TestHookOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*HookOptions) error) *cobra.Command { return NewCmdHook(f, runF) }, nil,
		[]optionsCase[HookOptions]{
			{"bash", []string{"bash"}, &HookOptions{IO: f.IO, Shell: "bash", Self: f.Self}},
			// The shell's name is checked by hookRun, as a usage error.
			{"any name", []string{"tcsh"}, &HookOptions{IO: f.IO, Shell: "tcsh", Self: f.Self}},
			{"no shell", nil, nil},
		})
}

func TestExportOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*ExportOptions) error) *cobra.Command { return NewCmdExport(f, runF) }, nil,
		[]optionsCase[ExportOptions]{
			{"zsh", []string{"zsh"}, &ExportOptions{IO: f.IO, Factory: f, Shell: "zsh"}},
			{"fresh", []string{"--fresh", "fish"}, &ExportOptions{IO: f.IO, Factory: f, Shell: "fish", Fresh: true}},
			{"two shells", []string{"bash", "zsh"}, nil},
		})
}

func TestStatusOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*StatusOptions) error) *cobra.Command { return NewCmdStatus(f, runF) }, nil,
		[]optionsCase[StatusOptions]{
			{"text", nil, &StatusOptions{IO: f.IO, Factory: f}},
			{"json", []string{"--json"}, &StatusOptions{IO: f.IO, Factory: f, JSON: true}},
			{"arguments", []string{"here"}, nil},
		})
}

func TestEditOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*EditOptions) error) *cobra.Command { return NewCmdEdit(f, runF) }, nil,
		[]optionsCase[EditOptions]{
			{"plain", nil, &EditOptions{IO: f.IO, Factory: f}},
			{"a path", []string{".pent.toml"}, nil},
		})
}

func TestPruneOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*PruneOptions) error) *cobra.Command { return NewCmdPrune(f, runF) }, nil,
		[]optionsCase[PruneOptions]{
			{"plain", nil, &PruneOptions{IO: f.IO, Factory: f}},
			{"arguments", []string{"all"}, nil},
		})
}

func TestInitOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	checkOptions(t, func(runF func(*InitOptions) error) *cobra.Command { return NewCmdInit(f, runF) }, nil,
		[]optionsCase[InitOptions]{
			{"no profile", nil, &InitOptions{IO: f.IO, Factory: f, Profiles: []string{}}},
			{"profiles", []string{"@npm", "cargo"}, &InitOptions{IO: f.IO, Factory: f, Profiles: []string{"@npm", "cargo"}}},
			{"unknown flag", []string{"--global"}, nil},
		})
}

func TestConfigOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	want := func(o ConfigOptions) *ConfigOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, func(runF func(*ConfigOptions) error) *cobra.Command { return NewCmdConfig(f, runF) }, nil,
		[]optionsCase[ConfigOptions]{
			{"show", []string{"show"}, want(ConfigOptions{Action: "show", Format: "toml"})},
			{"show json", []string{"show", "--format", "json"}, want(ConfigOptions{Action: "show", Format: "json"})},
			{"show has no --global", []string{"show", "--global"}, nil},
			{"add", []string{"add", "@npm", "gh"}, want(ConfigOptions{Action: "add", Format: "toml", Names: []string{"@npm", "gh"}})},
			{"add global", []string{"add", "--global", "@claude"}, want(ConfigOptions{Action: "add", Format: "toml", Global: true, Names: []string{"@claude"}})},
			{"add nothing", []string{"add"}, nil},
			{"rm", []string{"rm", "@npm"}, want(ConfigOptions{Action: "rm", Format: "toml", Names: []string{"@npm"}})},
			{"init global", []string{"init", "--global"}, want(ConfigOptions{Action: "init", Format: "toml", Global: true})},
			{"edit", []string{"edit"}, want(ConfigOptions{Action: "edit", Format: "toml"})},
			{"path global", []string{"path", "--global"}, want(ConfigOptions{Action: "path", Format: "toml", Global: true})},
			{"path with an argument", []string{"path", "x"}, nil},
		})
}

func TestProxyOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	want := func(o ProxyOptions) *ProxyOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, func(runF func(*ProxyOptions) error) *cobra.Command { return NewCmdProxy(f, runF) }, nil,
		[]optionsCase[ProxyOptions]{
			{"status", []string{"status"}, want(ProxyOptions{Action: "status", Lines: 100})},
			{"status of a project", []string{"status", "--project", "/src/app"}, want(ProxyOptions{Action: "status", Project: "/src/app", Lines: 100})},
			{"stop", []string{"--project", "/p", "stop"}, want(ProxyOptions{Action: "stop", Project: "/p", Lines: 100})},
			{"logs", []string{"logs", "-n", "7"}, want(ProxyOptions{Action: "logs", Lines: 7})},
			{"logs bad count", []string{"logs", "-n", "many"}, nil},
			{"serve", []string{"serve", "--project", "/p"}, want(ProxyOptions{Action: "serve", Project: "/p", Lines: 100})},
			{"connect", []string{"connect", "github.com", "22"}, want(ProxyOptions{Action: "connect", Host: "github.com", Port: "22", Lines: 100})},
			{"connect without a port", []string{"connect", "github.com"}, nil},
		})
}

func TestTraceOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	want := func(o TraceOptions) *TraceOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, func(runF func(*TraceOptions) error) *cobra.Command { return NewCmdTrace(f, runF) }, nil,
		[]optionsCase[TraceOptions]{
			{"show", []string{"show"}, want(TraceOptions{Action: "show"})},
			{"show json", []string{"show", "--json", "--project", "/p"}, want(TraceOptions{Action: "show", JSON: true, Project: "/p"})},
			{"clear", []string{"clear"}, want(TraceOptions{Action: "clear"})},
			{"suggest apply", []string{"suggest", "--apply"}, want(TraceOptions{Action: "suggest", Apply: true})},
			{"suggest apply yes", []string{"suggest", "--apply", "-y"}, want(TraceOptions{Action: "suggest", Apply: true, Yes: true})},
			{"show has no --yes", []string{"show", "--yes"}, nil},
			{"clear has no --apply", []string{"clear", "--apply"}, nil},
		})
}

func TestKeepOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	want := func(o KeepOptions) *KeepOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, func(runF func(*KeepOptions) error) *cobra.Command { return NewCmdKeep(f, runF) }, nil,
		[]optionsCase[KeepOptions]{
			{"all", nil, want(KeepOptions{Paths: []string{}})},
			{"paths", []string{"-y", "a", "/b"}, want(KeepOptions{Paths: []string{"a", "/b"}, Yes: true})},
			{"list", []string{"--list"}, want(KeepOptions{Paths: []string{}, List: true})},
			{"clear", []string{"--clear"}, want(KeepOptions{Paths: []string{}, Clear: true})},
			{"list and clear", []string{"--list", "--clear"}, nil},
		})
}

func TestQuarantineOptions(t *testing.T) {
	f, _, _ := testFactory(t, "")
	want := func(o QuarantineOptions) *QuarantineOptions { o.IO, o.Factory = f.IO, f; return &o }
	checkOptions(t, func(runF func(*QuarantineOptions) error) *cobra.Command { return NewCmdQuarantine(f, runF) }, nil,
		[]optionsCase[QuarantineOptions]{
			{"list", []string{"list"}, want(QuarantineOptions{Action: "list"})},
			{"list all", []string{"list", "--all"}, want(QuarantineOptions{Action: "list", All: true})},
			{"restore", []string{"restore", "20261202T031500.000000000-1"}, want(QuarantineOptions{Action: "restore", ID: "20261202T031500.000000000-1"})},
			{"restore nothing", []string{"restore"}, nil},
			{"drop", []string{"drop", "-y", "id1"}, want(QuarantineOptions{Action: "drop", ID: "id1", Yes: true})},
			{"drop two", []string{"drop", "id1", "id2"}, nil},
		})
}
