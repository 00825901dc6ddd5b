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
	l.warnings()
	return l.cfg, nil
}

// loader carries the state of one Load.
type loader struct {
	cfg     *Config
	file    string            // the main config file, for errors with no better position
	origins map[string]origin // where each field outside vhosts was last set, for validate
	warned  map[string]bool   // directive paths already in cfg.Warnings
}

// maxWarnings bounds Config.Warnings: a hostile file cannot make millions.
const maxWarnings = 100

// origin is a directive's position in a file, or the variable that set it.
type origin struct {
	file string
	line int
	env  string
}

// scope holds the directives met so far, by path, outside vhosts or in one
// vhost. SRS accepts a directive given twice and reads the first
// (SrsConfDirective::get returns the first match); so do we, with a warning
// naming both lines.
type scope struct {
	vhost *Vhost // the vhost being filled; nil outside vhost blocks
	seen  map[string]occurrence
}

// occurrence is the directive in effect for a path.
type occurrence struct {
	d     *Directive
	moved bool // an SRS 3 vhost directive moved into play
}

func newScope(v *Vhost) *scope { return &scope{vhost: v, seen: map[string]occurrence{}} }

// first reports whether d is to be applied: it is the first occurrence of
// key in sc, or it is an SRS 3 vhost directive that SRS moves into play
// (srs_config_transform_vhost overwrites play's directive of that name,
// wherever it is, so the moved one wins and the last moved one wins).
func (l *loader) first(sc *scope, key, path string, d *Directive, moved bool) bool {
	prev, dup := sc.seen[key]
	switch {
	case !dup:
		sc.seen[key] = occurrence{d, moved}
		return true
	case moved:
		l.warnf(d, "directive %q overrides %s:%d (SRS moves the SRS 3 vhost directive into play over it)", path, fileName(prev.d.File), prev.d.Line)
		sc.seen[key] = occurrence{d, moved}
		return true
	case prev.moved:
		l.warnf(d, "directive %q is ignored: the SRS 3 vhost directive at %s:%d overrides it, as in SRS", path, fileName(prev.d.File), prev.d.Line)
	default:
		l.warnf(d, "directive %q repeats %s:%d and is ignored (SRS uses the first)", path, fileName(prev.d.File), prev.d.Line)
	}
	return false
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
	moved := false
	if to, ok := renamed[path]; ok {
		path = to
	} else if to, ok := movedToPlay[path]; ok {
		path, moved = to, true
	}
	if path == "vhost" {
		return l.vhost(d, sc)
	}
	if f, ok := vhostIndex[path]; ok {
		if d.HasBlock {
			return errorAt(d, path, "takes no block")
		}
		if !l.first(sc, path, path, d, moved) {
			return nil
		}
		return apply(f, d, path, sc.vhost)
	}
	if f, ok := configIndex[path]; ok {
		if d.HasBlock {
			return errorAt(d, path, "takes no block")
		}
		if !l.first(sc, path, path, d, moved) {
			return nil
		}
		if err := apply(f, d, path, l.cfg); err != nil {
			return err
		}
		l.origins[path] = origin{file: d.File, line: d.Line}
		return nil
	}
	if _, ok := blocks[path]; ok {
		if !d.HasBlock || len(d.Args) > 0 {
			return errorAt(d, path, "expects a block with no arguments")
		}
		if !l.first(sc, path, path, d, moved) {
			return nil
		}
		return l.block(d, path, sc)
	}
	if children, ok := unsupported[path]; ok {
		l.warnOnce(d, path, "is not implemented and is ignored")
		l.unenforced(d, path, sc)
		return checkChildren(d, path, children)
	}
	if blocks[parent] {
		return newError(d.File, d.Line, parent, d.Name, "unknown directive")
	}
	if isPath(path) {
		l.warnOnce(d, path, "is unknown and is ignored")
	} else {
		l.warnOnce(d, "", newError("", 0, parent, d.Name, "is ignored").Msg)
	}
	return nil
}

// apply sets the field f from d into dst.
func apply[T any](f *field[T], d *Directive, path string, dst *T) error {
	if err := f.apply(dst, d.Args); err != nil {
		return errorAt(d, path, "%v", err)
	}
	return nil
}

func (l *loader) vhost(d *Directive, sc *scope) error {
	if !d.HasBlock || len(d.Args) != 1 || d.Args[0] == "" {
		return errorAt(d, "vhost", "expects a name and a block: vhost NAME { ... }")
	}
	if !l.first(sc, "vhost "+d.Args[0], "vhost", d, false) {
		return nil
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
			return newError(c.File, c.Line, path, c.Name, "unknown directive")
		}
	}
	return nil
}

// unenforcedWhat says, for the SRS directives that guard who may publish
// and play, what goes unenforced when they are on and we ignore them.
var unenforcedWhat = map[string]string{
	"vhost.http_hooks": "on_connect, on_publish and on_play are NOT called, anyone may publish and play",
	"vhost.security":   "its allow and deny rules are NOT enforced, anyone may publish and play",
	"vhost.refer":      "the Referer is NOT checked, any page may publish and play",
}

// unenforced warns, for each vhost, when a security-relevant directive we
// do not implement is on. SRS's default for each is off; the SRS 1/2 forms
// of refer (refer, refer_play, refer_publish with values) turn it on.
func (l *loader) unenforced(d *Directive, path string, sc *scope) {
	what, ok := unenforcedWhat[path]
	if !ok || !enabledIn(d) {
		return
	}
	vhost := ""
	if sc.vhost != nil {
		vhost = fmt.Sprintf("vhost %s: ", quoteValue(sc.vhost.Name))
	}
	// Once per vhost: refer, refer_play and refer_publish are one refer.
	if key := "unenforced " + vhost + path; !l.warned[key] {
		l.warned[key] = true
		l.warnf(d, "%sdirective %q is on but not implemented: %s", vhost, path, what)
	}
}

// enabledIn reports whether d is on the way SRS reads "enabled": a block
// is on only when its first enabled says on; a directive without a block
// is an SRS 1/2 form, which SRS turns into an enabled block.
func enabledIn(d *Directive) bool {
	if !d.HasBlock {
		return true
	}
	for _, c := range d.Block {
		if c.Name == "enabled" {
			return len(c.Args) > 0 && c.Args[0] == "on"
		}
	}
	return false
}

// warnOnce reports a directive that has no effect, once per path. An
// empty path means msg says it all.
func (l *loader) warnOnce(d *Directive, path, what string) {
	key := path
	if key == "" {
		key = what
	}
	if l.warned[key] {
		return
	}
	l.warned[key] = true
	if path == "" {
		l.warnf(d, "%s", what)
		return
	}
	l.warnf(d, "directive %q %s", path, what)
}

// warnf adds a warning located at d, up to maxWarnings.
func (l *loader) warnf(d *Directive, format string, args ...any) {
	l.warnAt(fmt.Sprintf("%s:%d", fileName(d.File), d.Line), format, args...)
}

func (l *loader) warnAt(where, format string, args ...any) {
	switch n := len(l.cfg.Warnings); {
	case n < maxWarnings:
		l.cfg.Warnings = append(l.cfg.Warnings, where+": "+fmt.Sprintf(format, args...))
	case n == maxWarnings:
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("more than %d warnings: the others are not shown", maxWarnings))
	}
}

func errorAt(d *Directive, path, format string, args ...any) *Error {
	return newError(d.File, d.Line, path, "", fmt.Sprintf(format, args...))
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
