package config

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Limits that keep a hostile or broken file from exhausting memory or stack.
const (
	maxFileSize     = 4 << 20  // bytes per file
	maxTotalSize    = 16 << 20 // bytes over a file and everything it includes
	maxIncludeDepth = 8        // include chains deeper than this are an error
	maxIncludes     = 256      // files opened by include, in total
	maxBlockDepth   = 32       // nested blocks
)

// Directive is one statement of the tree: `name args...;` or
// `name args... { block }`. Included files are already spliced in.
type Directive struct {
	Name     string
	Args     []string
	Block    []*Directive
	HasBlock bool
	File     string // file the directive was read from (an included file for spliced ones)
	Line     int
}

// ParseOptions tune how Parse resolves includes.
type ParseOptions struct {
	// BaseDir plays the part of SRS's working directory: relative include
	// paths resolve against it. Empty means the process's working directory.
	BaseDir string
	// ReadFile reads included files; nil means the file system.
	ReadFile func(string) ([]byte, error)
}

// Parse parses src, the content of file, into an implicit root directive
// whose Block holds the top-level directives. It checks only the grammar;
// Load gives the directives their meaning.
func Parse(file string, src []byte, opts ParseOptions) (*Directive, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = readFile
	}
	p := &parser{opts: opts, budget: maxTotalSize}
	root := &Directive{HasBlock: true, File: file}
	if err := p.parseFile(file, src, root, "", 0); err != nil {
		return nil, err
	}
	return root, nil
}

type parser struct {
	opts     ParseOptions
	files    []string // include chain, outermost first, for cycle detection
	budget   int      // bytes left for this file and its includes
	includes int
}

// parseFile parses a whole file into parent. A file is its own context: a
// "}" in it never closes a block of the file that included it.
func (p *parser) parseFile(file string, src []byte, parent *Directive, path string, depth int) error {
	if len(src) > maxFileSize {
		return &Error{File: file, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}
	}
	if p.budget -= len(src); p.budget < 0 {
		return &Error{File: file, Msg: fmt.Sprintf("configuration with its includes is larger than %d bytes", maxTotalSize)}
	}
	p.files = append(p.files, filepath.Clean(file))
	defer func() { p.files = p.files[:len(p.files)-1] }()
	return p.parseBlock(newLexer(file, src), parent, path, depth, true)
}

// parseBlock appends statements to parent until the block (or, at file
// level, the file) ends. path names parent for error messages.
func (p *parser) parseBlock(lx *lexer, parent *Directive, path string, depth int, fileLevel bool) error {
	for {
		words, end, line, err := lx.statement()
		if err != nil {
			return err
		}
		switch end {
		case endOfFile:
			if !fileLevel {
				return newError(lx.file, parent.Line, path, "", `block is not closed: missing "}" before end of file`)
			}
			return nil
		case blockClose:
			if fileLevel {
				return lx.errorf(line, `unexpected "}" (no block to close)`)
			}
			return nil
		}
		if words[0] == "" {
			return lx.errorf(line, "empty directive name")
		}
		d := &Directive{Name: words[0], Args: words[1:], HasBlock: end == blockOpen, File: lx.file, Line: line}
		if d.Name == "include" {
			if err := p.include(d, parent, path, depth); err != nil {
				return err
			}
			continue
		}
		if d.HasBlock {
			if depth >= maxBlockDepth {
				return newError(lx.file, line, path, d.Name, fmt.Sprintf("blocks nested deeper than %d", maxBlockDepth))
			}
			dpath := join(path, d.Name)
			if err := p.parseBlock(lx, d, dpath, depth+1, false); err != nil {
				return err
			}
		}
		parent.Block = append(parent.Block, d)
	}
}

// include splices the files named by d into parent.
func (p *parser) include(d, parent *Directive, path string, depth int) error {
	fail := func(format string, args ...any) *Error {
		return &Error{File: d.File, Line: d.Line, Directive: "include", Msg: fmt.Sprintf(format, args...)}
	}
	if d.HasBlock {
		return fail("takes no block")
	}
	if len(d.Args) == 0 {
		return fail("requires at least one file")
	}
	for _, name := range d.Args {
		file := name
		if p.opts.BaseDir != "" && !filepath.IsAbs(file) {
			file = filepath.Join(p.opts.BaseDir, file)
		}
		for _, f := range p.files {
			if f == filepath.Clean(file) {
				return fail("include cycle: %s includes itself", quoteBounded(file, maxPathLen))
			}
		}
		if len(p.files) > maxIncludeDepth {
			return fail("includes nested deeper than %d", maxIncludeDepth)
		}
		if p.includes++; p.includes > maxIncludes {
			return fail("more than %d included files", maxIncludes)
		}
		src, err := p.opts.ReadFile(file)
		if err != nil {
			e := fail("cannot read %s", quoteBounded(file, maxPathLen))
			// The cause without its path, which the message already says.
			if pe, ok := err.(*fs.PathError); ok {
				err = pe.Err
			}
			e.Err, e.code = err, CodeFileOpen
			return e
		}
		if err := p.parseFile(file, src, parent, path, depth); err != nil {
			// Say which include brought the file in, once: the innermost.
			if e, ok := err.(*Error); ok && e.File == file && e.IncludedFrom == "" {
				e.IncludedFrom = fmt.Sprintf("%s:%d", d.File, d.Line)
			}
			return err
		}
	}
	return nil
}

// readFile reads at most one byte more than maxFileSize: enough for
// parseFile to reject an oversized file without reading it whole.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// join builds a dotted directive path.
func join(path, name string) string {
	switch {
	case path == "":
		return name
	case name == "":
		return path
	}
	return path + "." + name
}
