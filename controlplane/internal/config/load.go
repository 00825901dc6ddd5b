package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// LoadOptions say where the configuration comes from.
type LoadOptions struct {
	// File is the config file (SRS's -c). Ignored when EnvOnly.
	File string
	// EnvOnly ignores File and configures from SRS_* variables alone (SRS's -e):
	// daemon off, console log, vhost __defaultVhost__, listen 1935 by default.
	EnvOnly bool
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// ReadFile reads File and included files; nil means the file system.
	ReadFile func(string) ([]byte, error)
	// BaseDir plays the part of SRS's working directory: a relative File
	// and relative includes resolve against it. Empty means the process's.
	BaseDir string
}

// Load builds a Config: defaults, then the file, then SRS_* environment
// overrides, then validation. Every error is a *Error.
func Load(opts LoadOptions) (*Config, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = readFile
	}
	l := &loader{cfg: Defaults(), origins: map[string]origin{}, warned: map[string]bool{}}
	if opts.EnvOnly {
		l.cfg.Daemon = false
		l.cfg.Log.Tank = "console"
	} else if err := l.loadFile(opts); err != nil {
		return nil, err
	}
	if err := l.applyEnv(opts.Getenv); err != nil {
		return nil, err
	}
	l.derive(opts.Getenv)
	if err := l.validate(!opts.EnvOnly); err != nil {
		return nil, err
	}
	return l.cfg, nil
}

// loader carries the state of one Load.
type loader struct {
	cfg     *Config
	file    string            // the main config file, for errors with no better position
	origins map[string]origin // where each field outside vhosts was last set, for validate
	warned  map[string]bool   // directive paths already in cfg.Warnings
}

// origin is a directive's position in a file, or the variable that set it.
type origin struct {
	file string
	line int
	env  string
}

// scope holds the directives met so far, by path, outside vhosts or in one
// vhost, to reject duplicates: SRS would silently use the first, which
// hides mistakes.
type scope struct {
	vhost *Vhost // the vhost being filled; nil outside vhost blocks
	seen  map[string]*Directive
}

func newScope(v *Vhost) *scope { return &scope{vhost: v, seen: map[string]*Directive{}} }

func (s *scope) once(key, path string, d *Directive) error {
	if first, dup := s.seen[key]; dup {
		return errorAt(d, path, "duplicate directive (first at %s:%d)", first.File, first.Line)
	}
	s.seen[key] = d
	return nil
}

func (l *loader) loadFile(opts LoadOptions) error {
	if opts.File == "" {
		return &Error{Msg: "no config file given"}
	}
	l.file = opts.File
	if opts.BaseDir != "" && !filepath.IsAbs(l.file) {
		l.file = filepath.Join(opts.BaseDir, l.file)
	}
	src, err := opts.ReadFile(l.file)
	if err != nil {
		return &Error{File: l.file, Msg: "cannot read config", Err: err, code: CodeFileOpen}
	}
	root, err := Parse(l.file, src, ParseOptions{BaseDir: opts.BaseDir, ReadFile: opts.ReadFile})
	if err != nil {
		return err
	}
	if len(root.Block) == 0 {
		return &Error{File: l.file, Msg: "conf is empty"}
	}
	l.cfg.Vhosts = nil
	if err := l.block(root, "", newScope(nil)); err != nil {
		return err
	}
	if _, ok := l.cfg.Vhost(DefaultVhost); !ok {
		l.cfg.Vhosts = append(l.cfg.Vhosts, newVhost(DefaultVhost))
	}
	return nil
}

// block applies the children of b, the block at path.
func (l *loader) block(b *Directive, path string, sc *scope) error {
	for _, d := range b.Block {
		if err := l.directive(d, path, sc); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) directive(d *Directive, parent string, sc *scope) error {
	path := join(parent, d.Name)
	if moved, ok := legacyVhost[path]; ok {
		path = moved
	}
	if path == "vhost" {
		return l.vhost(d, sc)
	}
	if f, ok := vhostIndex[path]; ok {
		return apply(f, d, path, sc, sc.vhost)
	}
	if f, ok := configIndex[path]; ok {
		if err := apply(f, d, path, sc, l.cfg); err != nil {
			return err
		}
		l.origins[path] = origin{file: d.File, line: d.Line}
		return nil
	}
	if _, ok := blocks[path]; ok {
		if !d.HasBlock || len(d.Args) > 0 {
			return errorAt(d, path, "expects a block with no arguments")
		}
		if err := sc.once(path, path, d); err != nil {
			return err
		}
		return l.block(d, path, sc)
	}
	if children, ok := unsupported[path]; ok {
		l.warn(d, path, "is not supported and is ignored")
		return checkChildren(d, path, children)
	}
	if blocks[parent] {
		return errorAt(d, path, "unknown directive")
	}
	l.warn(d, path, "is unknown and is ignored")
	return nil
}

// apply sets the field f from d into dst.
func apply[T any](f *field[T], d *Directive, path string, sc *scope, dst *T) error {
	if d.HasBlock {
		return errorAt(d, path, "takes no block")
	}
	if err := sc.once(path, path, d); err != nil {
		return err
	}
	if err := f.apply(dst, d.Args); err != nil {
		return errorAt(d, path, "%v", err)
	}
	return nil
}

func (l *loader) vhost(d *Directive, sc *scope) error {
	if !d.HasBlock || len(d.Args) != 1 || d.Args[0] == "" {
		return errorAt(d, "vhost", "expects a name and a block: vhost NAME { ... }")
	}
	if err := sc.once("vhost "+d.Args[0], "vhost", d); err != nil {
		return err
	}
	v := newVhost(d.Args[0])
	if err := l.block(d, "vhost", newScope(&v)); err != nil {
		return err
	}
	l.cfg.Vhosts = append(l.cfg.Vhosts, v)
	return nil
}

// checkChildren applies SRS's check of the children of a block we ignore.
func checkChildren(d *Directive, path string, allowed []string) error {
	if allowed == nil {
		return nil
	}
	for _, c := range d.Block {
		if !slices.Contains(allowed, c.Name) {
			return errorAt(c, join(path, c.Name), "unknown directive")
		}
	}
	return nil
}

// warn reports a directive that has no effect, once per path.
func (l *loader) warn(d *Directive, path, what string) {
	if l.warned[path] {
		return
	}
	l.warned[path] = true
	l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("%s:%d: directive %q %s", d.File, d.Line, path, what))
}

func errorAt(d *Directive, path, format string, args ...any) *Error {
	return &Error{File: d.File, Line: d.Line, Directive: path, Msg: fmt.Sprintf(format, args...)}
}

var (
	configIndex = index(configFields)
	vhostIndex  = index(vhostFields)
)

func index[T any](fields []field[T]) map[string]*field[T] {
	m := make(map[string]*field[T], len(fields))
	for i := range fields {
		m[fields[i].path] = &fields[i]
	}
	return m
}
